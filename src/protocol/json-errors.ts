// Errors on the JSON gateway, and reading a body. etcd 3.4's gateway (grpc-gateway v1) answers a failed call
// with the gRPC status in a body `{"error": message, "code": grpcCode, "message": message}` and the HTTP status
// derived from the code. Clients of etcd recognise an error by its message, so decoding matches on the
// message first (`message` carries a detail after it, `etcdserver: key is too large: key: 20000 bytes...`), then
// falls back on the gRPC code, then on the HTTP status.

import { ConclaveError, ERRORS, GRPC, type ErrorCode } from './errors.js';
import type { Json } from './json-value.js';

/**
 * `error` is exactly the table's message (etcd's own, for the failures etcd has: clients compare it whole);
 * `message` adds the detail for people.
 */
export function encodeError(error: ConclaveError): Json {
  return { error: ERRORS[error.code].message, code: error.grpcCode, message: error.message };
}

/** Our codes by message, longest first, so that a message that extends another is matched as itself. */
const BY_MESSAGE: readonly (readonly [string, ErrorCode])[] = (Object.keys(ERRORS) as ErrorCode[])
  .map((code) => [ERRORS[code].message, code] as const)
  .sort((a, b) => b[0].length - a[0].length);

function matchMessage(text: string): ConclaveError | undefined {
  for (const [message, code] of BY_MESSAGE) {
    if (text === message) return new ConclaveError(code);
    if (text.startsWith(`${message}: `)) return new ConclaveError(code, text.slice(message.length + 2));
  }
  return undefined;
}

function byGrpcCode(grpc: number): ErrorCode {
  switch (grpc) {
    case GRPC.cancelled:
    case GRPC.deadlineExceeded:
      return 'ErrTimeout';
    case GRPC.invalidArgument:
    case GRPC.outOfRange:
      return 'ErrInvalidField';
    case GRPC.notFound:
      return 'ErrNotFound';
    case GRPC.resourceExhausted:
      return 'ErrTooManyRequests';
    case GRPC.unimplemented:
      return 'ErrMethodNotAllowed';
    case GRPC.unavailable:
      return 'ErrUnhealthy';
    default:
      return 'ErrInternal';
  }
}

function byHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'ErrNotFound';
    case 405:
    case 501:
      return 'ErrMethodNotAllowed';
    case 408:
    case 504:
      return 'ErrTimeout';
    case 413:
      return 'ErrRequestTooLarge';
    case 429:
      return 'ErrTooManyRequests';
    case 502:
    case 503:
      return 'ErrUnhealthy';
    default:
      return status >= 400 && status < 500 ? 'ErrInvalidField' : 'ErrInternal';
  }
}

function textOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' ? undefined : body.trim();
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  for (const name of ['message', 'error']) {
    const value = Object.hasOwn(record, name) ? record[name] : undefined;
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function grpcCodeOf(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'code')) return undefined;
  const code = (body as Record<string, unknown>)['code'];
  return typeof code === 'number' && Number.isInteger(code) && code > GRPC.ok && code <= GRPC.unauthenticated ? code : undefined;
}

/** `body` is the parsed JSON of the answer, or its text when it was not JSON (a proxy's "Bad Gateway"). */
export function decodeError(status: number, body: unknown): ConclaveError {
  const text = textOf(body);
  const matched = text === undefined ? undefined : matchMessage(text);
  if (matched !== undefined) return matched;
  const grpc = grpcCodeOf(body);
  const code = grpc === undefined ? byHttpStatus(status) : byGrpcCode(grpc);
  return new ConclaveError(code, text ?? `HTTP status ${status}`);
}

const JSON_WHITESPACE = /^[ \t\n\r]*$/;

/** An empty body is an empty message, as grpc-gateway reads it (a POST to /v3/maintenance/status with no body). */
export function parseJsonBody(text: string): unknown {
  if (JSON_WHITESPACE.test(text)) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConclaveError('ErrInvalidJson', error instanceof Error ? error.message : String(error));
  }
}
