// A client's idempotency key for a write: the request ID it chose, sent again unchanged when it retries a write whose
// outcome it does not know, so that the state machine applies the write at most once (src/state/dedup.ts). Over
// HTTP it travels in two headers; the embedded API takes the same object.

import { dedupLimits } from '../limits.js';
import { ConclaveError } from './errors.js';

/** The client's request ID (A-Z a-z 0-9 . _ : -, at most dedupLimits.maxRequestIdBytes characters). */
export const REQUEST_ID_HEADER = 'x-conclave-request-id';
/**
 * Present on a retry only: the highest store revision the client had seen before it first sent the request. The
 * first attempt, if it applied, applied at or after it, which is what lets a retry older than the deduplication
 * window be refused (ErrRequestIdExpired) rather than applied a second time.
 */
export const RETRY_SINCE_HEADER = 'x-conclave-retry-since-revision';

export interface ClientRequest {
  readonly id: string;
  /** Set on a retry: the revision the client knew before the first attempt (see RETRY_SINCE_HEADER). */
  readonly retrySinceRevision?: number;
}

const ID_CHARS = /^[A-Za-z0-9._:-]+$/;

/** Why `request` cannot be deduplicated, or null when it can. */
export function validateClientRequest(request: ClientRequest, maxIdBytes: number = dedupLimits.maxRequestIdBytes): ConclaveError | null {
  const { id, retrySinceRevision } = request;
  if (typeof id !== 'string' || id.length === 0) return new ConclaveError('ErrInvalidRequestId', 'the request ID is empty');
  if (id.length > maxIdBytes) return new ConclaveError('ErrInvalidRequestId', `the request ID has ${id.length} characters, more than dedupLimits.maxRequestIdBytes (${maxIdBytes})`);
  if (!ID_CHARS.test(id)) return new ConclaveError('ErrInvalidRequestId', 'a request ID is made of A-Z a-z 0-9 . _ : -');
  if (retrySinceRevision !== undefined && !(Number.isSafeInteger(retrySinceRevision) && retrySinceRevision >= 0)) {
    return new ConclaveError('ErrInvalidRequestId', `${RETRY_SINCE_HEADER} must be a revision (a non-negative integer)`);
  }
  return null;
}

/** The client request named by HTTP headers, undefined when there is none; throws ErrInvalidRequestId for a bad one. */
export function clientRequestOfHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): ClientRequest | undefined {
  const id = headers[REQUEST_ID_HEADER];
  const since = headers[RETRY_SINCE_HEADER];
  if (id === undefined) {
    if (since !== undefined) throw new ConclaveError('ErrInvalidRequestId', `${RETRY_SINCE_HEADER} without ${REQUEST_ID_HEADER}`);
    return undefined;
  }
  if (Array.isArray(id) || Array.isArray(since)) throw new ConclaveError('ErrInvalidRequestId', 'the request ID headers are given more than once');
  const request: ClientRequest = since === undefined ? { id } : { id, retrySinceRevision: /^\d{1,16}$/.test(since) ? Number(since) : -1 };
  const invalid = validateClientRequest(request);
  if (invalid !== null) throw invalid;
  return request;
}
