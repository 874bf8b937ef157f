// The JSON codec of the client API: the wire format of etcd 3.4's v3 gRPC gateway (grpc-gateway with jsonpb,
// OrigName true, EmitDefaults false), used by both sides. The server decodes requests and encodes responses,
// the client encodes requests and decodes responses.
//
// - Field names are the proto's on output (`range_end`, `prev_kv`; the cluster messages' `ID`, `peerURLs`);
//   on input the lowerCamelCase JSON names (`rangeEnd`) are accepted too, as jsonpb does.
// - Fields equal to their default are left out; a null field reads as absent.
// - bytes are standard padded base64; int64/uint64 are decimal strings (JSON numbers accepted on input);
//   member and cluster IDs are decimal uint64 strings over our 16 hex digits; enums are written by name
//   (names or numbers accepted on input).
// - Requests are read strictly: an unknown field is ErrUnknownField and a malformed value ErrInvalidField, each
//   naming the field's path; a key above kvLimits.maxKeyBytes is ErrKeyTooLarge and a txn nested more than
//   kvLimits.maxTxnDepth levels ErrTxnTooDeep. Responses skip unknown fields (a newer server may add some) and
//   throw ErrInvalidField when malformed.
// - Whether a well-formed request makes sense (an empty key, a revision in the future...) is the server's business.
// - The WebSocket API's msgpack frames carry these same messages (wire 'msgpack'): bytes as bin, integers as
//   integers; they are read by the same decoders (see json-scalars.ts).

import type { Method, Requests, Responses } from './api.js';
import type { ResponseHeader } from './kv.js';
import {
  decodeMemberAddRequest,
  decodeMemberAddResponse,
  decodeMemberIdRequest,
  decodeMemberListRequest,
  decodeMembersResponse,
  decodeStatusRequest,
  decodeStatusResponse,
  encodeMemberAddRequest,
  encodeMemberAddResponse,
  encodeMemberIdRequest,
  encodeMemberListRequest,
  encodeMembersResponse,
  encodeStatusRequest,
  encodeStatusResponse,
} from './json-cluster.js';
import { decodeHeader, encodeHeader } from './json-header.js';
import {
  decodeCompactionRequest,
  decodeDeleteRangeRequest,
  decodePutRequest,
  decodeRangeRequest,
  decodeTxnRequest,
  encodeCompactionRequest,
  encodeDeleteRangeRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeTxnRequest,
} from './json-kv-requests.js';
import {
  decodeDeleteRangeResponse,
  decodePutResponse,
  decodeRangeResponse,
  decodeTxnResponse,
  encodeDeleteRangeResponse,
  encodePutResponse,
  encodeRangeResponse,
  encodeTxnResponse,
} from './json-kv-responses.js';
import {
  decodeLeaseGrantRequest,
  decodeLeaseIdRequest,
  decodeLeaseLeasesRequest,
  decodeLeaseLeasesResponse,
  decodeLeaseTimeToLiveRequest,
  decodeLeaseTimeToLiveResponse,
  decodeLeaseTtlResponse,
  encodeLeaseGrantRequest,
  encodeLeaseIdRequest,
  encodeLeaseLeasesRequest,
  encodeLeaseLeasesResponse,
  encodeLeaseTimeToLiveRequest,
  encodeLeaseTimeToLiveResponse,
  encodeLeaseTtlResponse,
} from './json-lease.js';
import * as recipes from './json-recipes.js';
import { JsonWriter } from './json-scalars.js';
import { decodeLockRequest, decodeLockResponse, decodePutSequentialRequest, decodePutSequentialResponse, decodeUnlockRequest, encodeLockRequest, encodeLockResponse, encodePutSequentialRequest, encodePutSequentialResponse, encodeUnlockRequest } from './json-lock.js';
import { decodeCampaignRequest, decodeCampaignResponse, decodeLeaderRequest, decodeLeaderResponse, decodeProclaimRequest, decodeResignRequest, encodeCampaignRequest, encodeCampaignResponse, encodeLeaderRequest, encodeLeaderResponse, encodeProclaimRequest, encodeResignRequest } from './json-election.js';
import { decodeError } from './json-errors.js';
import { decodeEmptyResponse, describeJson, encodeEmptyResponse, encodingError, FieldReader, isJsonObject, requestContext, responseContext, type EncodeContext, type Json, type JsonObject, type Wire } from './json-value.js';
import { ConclaveError } from './errors.js';

export type { Json, Wire } from './json-value.js';
export { decodeHealth, encodeHealth } from './json-cluster.js';
export { decodeError, encodeError, parseJsonBody } from './json-errors.js';

interface MethodCodec<Request, Response> {
  /** The response's proto message, for error details. */
  readonly response: string;
  /** A streaming call of etcd's gateway: each answer comes as `{"result": response}` (or `{"error": ...}`); the bare response is read too. */
  readonly streamed?: true;
  readonly decodeRequest: (body: unknown, path: string) => Request;
  readonly encodeRequest: (request: Request, path: string, context: EncodeContext) => JsonObject;
  /** Writes the response's fields after the header; `revision` goes into the headers of nested responses. */
  readonly encodeResponse: (writer: JsonWriter, response: Response, revision: number) => void;
  readonly decodeResponse: (reader: FieldReader) => Response;
}

type Codecs = { readonly [M in Method]: MethodCodec<Requests[M], Responses[M]> };

const CODECS: Codecs = {
  range: {
    response: 'RangeResponse',
    decodeRequest: decodeRangeRequest,
    encodeRequest: encodeRangeRequest,
    encodeResponse: encodeRangeResponse,
    decodeResponse: decodeRangeResponse,
  },
  put: {
    response: 'PutResponse',
    decodeRequest: decodePutRequest,
    encodeRequest: encodePutRequest,
    encodeResponse: encodePutResponse,
    decodeResponse: decodePutResponse,
  },
  deleteRange: {
    response: 'DeleteRangeResponse',
    decodeRequest: decodeDeleteRangeRequest,
    encodeRequest: encodeDeleteRangeRequest,
    encodeResponse: encodeDeleteRangeResponse,
    decodeResponse: decodeDeleteRangeResponse,
  },
  txn: {
    response: 'TxnResponse',
    decodeRequest: (body, path) => decodeTxnRequest(body, path),
    encodeRequest: (request, path, context) => encodeTxnRequest(request, path, context),
    encodeResponse: (writer, response, revision) => encodeTxnResponse(writer, response, revision),
    decodeResponse: (reader) => decodeTxnResponse(reader),
  },
  compact: {
    response: 'CompactionResponse',
    decodeRequest: decodeCompactionRequest,
    encodeRequest: encodeCompactionRequest,
    encodeResponse: encodeEmptyResponse,
    decodeResponse: decodeEmptyResponse,
  },
  status: {
    response: 'StatusResponse',
    decodeRequest: decodeStatusRequest,
    encodeRequest: encodeStatusRequest,
    encodeResponse: encodeStatusResponse,
    decodeResponse: decodeStatusResponse,
  },
  memberList: {
    response: 'MemberListResponse',
    decodeRequest: decodeMemberListRequest,
    encodeRequest: encodeMemberListRequest,
    encodeResponse: encodeMembersResponse,
    decodeResponse: decodeMembersResponse,
  },
  memberAdd: {
    response: 'MemberAddResponse',
    decodeRequest: decodeMemberAddRequest,
    encodeRequest: encodeMemberAddRequest,
    encodeResponse: encodeMemberAddResponse,
    decodeResponse: decodeMemberAddResponse,
  },
  memberRemove: {
    response: 'MemberRemoveResponse',
    decodeRequest: (body, path) => decodeMemberIdRequest(body, path, 'MemberRemoveRequest'),
    encodeRequest: encodeMemberIdRequest,
    encodeResponse: encodeMembersResponse,
    decodeResponse: decodeMembersResponse,
  },
  memberPromote: {
    response: 'MemberPromoteResponse',
    decodeRequest: (body, path) => decodeMemberIdRequest(body, path, 'MemberPromoteRequest'),
    encodeRequest: encodeMemberIdRequest,
    encodeResponse: encodeMembersResponse,
    decodeResponse: decodeMembersResponse,
  },
  leaseGrant: {
    response: 'LeaseGrantResponse',
    decodeRequest: decodeLeaseGrantRequest,
    encodeRequest: encodeLeaseGrantRequest,
    encodeResponse: encodeLeaseTtlResponse,
    decodeResponse: decodeLeaseTtlResponse,
  },
  leaseRevoke: {
    response: 'LeaseRevokeResponse',
    decodeRequest: (body, path) => decodeLeaseIdRequest(body, path, 'LeaseRevokeRequest'),
    encodeRequest: encodeLeaseIdRequest,
    encodeResponse: encodeEmptyResponse,
    decodeResponse: decodeEmptyResponse,
  },
  leaseKeepAlive: {
    response: 'LeaseKeepAliveResponse',
    streamed: true,
    decodeRequest: (body, path) => decodeLeaseIdRequest(body, path, 'LeaseKeepAliveRequest'),
    encodeRequest: encodeLeaseIdRequest,
    encodeResponse: encodeLeaseTtlResponse,
    decodeResponse: decodeLeaseTtlResponse,
  },
  leaseTimeToLive: {
    response: 'LeaseTimeToLiveResponse',
    decodeRequest: decodeLeaseTimeToLiveRequest,
    encodeRequest: encodeLeaseTimeToLiveRequest,
    encodeResponse: encodeLeaseTimeToLiveResponse,
    decodeResponse: decodeLeaseTimeToLiveResponse,
  },
  leaseLeases: {
    response: 'LeaseLeasesResponse',
    decodeRequest: decodeLeaseLeasesRequest,
    encodeRequest: encodeLeaseLeasesRequest,
    encodeResponse: encodeLeaseLeasesResponse,
    decodeResponse: decodeLeaseLeasesResponse,
  },
  putSequential: {
    response: 'PutSequentialResponse',
    decodeRequest: decodePutSequentialRequest,
    encodeRequest: encodePutSequentialRequest,
    encodeResponse: encodePutSequentialResponse,
    decodeResponse: decodePutSequentialResponse,
  },
  lock: { response: 'LockResponse', decodeRequest: decodeLockRequest, encodeRequest: encodeLockRequest, encodeResponse: encodeLockResponse, decodeResponse: decodeLockResponse },
  unlock: { response: 'UnlockResponse', decodeRequest: decodeUnlockRequest, encodeRequest: encodeUnlockRequest, encodeResponse: encodeEmptyResponse, decodeResponse: decodeEmptyResponse },
  campaign: {
    response: 'CampaignResponse',
    decodeRequest: decodeCampaignRequest,
    encodeRequest: encodeCampaignRequest,
    encodeResponse: encodeCampaignResponse,
    decodeResponse: decodeCampaignResponse,
  },
  proclaim: { response: 'ProclaimResponse', decodeRequest: decodeProclaimRequest, encodeRequest: encodeProclaimRequest, encodeResponse: encodeEmptyResponse, decodeResponse: decodeEmptyResponse },
  leader: { response: 'LeaderResponse', decodeRequest: decodeLeaderRequest, encodeRequest: encodeLeaderRequest, encodeResponse: encodeLeaderResponse, decodeResponse: decodeLeaderResponse },
  observe: {
    response: 'LeaderResponse',
    streamed: true,
    decodeRequest: decodeLeaderRequest,
    encodeRequest: encodeLeaderRequest,
    encodeResponse: encodeLeaderResponse,
    decodeResponse: decodeLeaderResponse,
  },
  resign: { response: 'ResignResponse', decodeRequest: decodeResignRequest, encodeRequest: encodeResignRequest, encodeResponse: encodeEmptyResponse, decodeResponse: decodeEmptyResponse },
  registryRegister: {
    response: 'RegistryRegisterResponse',
    decodeRequest: recipes.decodeRegisterRequest,
    encodeRequest: recipes.encodeRegisterRequest,
    encodeResponse: encodeEmptyResponse,
    decodeResponse: decodeEmptyResponse,
  },
  registryDeregister: {
    response: 'RegistryDeregisterResponse',
    decodeRequest: recipes.decodeDeregisterRequest,
    encodeRequest: recipes.encodeDeregisterRequest,
    encodeResponse: recipes.encodeDeregisterResponse,
    decodeResponse: recipes.decodeDeregisterResponse,
  },
  registryList: {
    response: 'RegistryListResponse',
    decodeRequest: recipes.decodeListRequest,
    encodeRequest: recipes.encodeListRequest,
    encodeResponse: recipes.encodeListResponse,
    decodeResponse: recipes.decodeListResponse,
  },
  workerAllocate: {
    response: 'WorkerAllocateResponse',
    decodeRequest: recipes.decodeWorkerAllocateRequest,
    encodeRequest: recipes.encodeWorkerAllocateRequest,
    encodeResponse: recipes.encodeWorkerAllocateResponse,
    decodeResponse: recipes.decodeWorkerAllocateResponse,
  },
  workerRelease: {
    response: 'WorkerReleaseResponse',
    decodeRequest: recipes.decodeWorkerReleaseRequest,
    encodeRequest: recipes.encodeWorkerReleaseRequest,
    encodeResponse: encodeEmptyResponse,
    decodeResponse: decodeEmptyResponse,
  },
  segmentReserve: {
    response: 'SegmentReserveResponse',
    decodeRequest: recipes.decodeSegmentReserveRequest,
    encodeRequest: recipes.encodeSegmentReserveRequest,
    encodeResponse: recipes.encodeSegmentReserveResponse,
    decodeResponse: recipes.decodeSegmentReserveResponse,
  },
};

function codecOf<M extends Method>(method: M): MethodCodec<Requests[M], Responses[M]> {
  if (!Object.hasOwn(CODECS, method)) throw new ConclaveError('ErrNotFound', `no method ${String(method)}`);
  return CODECS[method] as MethodCodec<Requests[M], Responses[M]>;
}

/** The request of a call from its parsed JSON body (see parseJsonBody). */
export function decodeRequest<M extends Method>(method: M, body: unknown): Requests[M] {
  return codecOf(method).decodeRequest(body, '');
}

/** Whether `method` is a (unary) method of the table; a name from the wire is checked with this first. */
export function isMethod(name: string): name is Method {
  return Object.hasOwn(CODECS, name);
}

/** The JSON body of a call; throws ErrInvalidField (or ErrKeyTooLarge, ErrTxnTooDeep) on what the server would refuse to read. */
export function encodeRequest<M extends Method>(method: M, request: Requests[M], wire: Wire = 'json'): Json {
  return codecOf(method).encodeRequest(request, '', requestContext(wire));
}

export function encodeResponse<M extends Method>(method: M, header: ResponseHeader, response: Responses[M], wire: Wire = 'json'): Json {
  const codec = codecOf(method);
  const context = responseContext(wire);
  if (typeof header !== 'object' || header === null) throw encodingError(context, 'header', `expected a ResponseHeader, got ${describeJson(header)}`);
  if (typeof response !== 'object' || response === null) throw encodingError(context, 'response', `expected a ${codec.response}, got ${describeJson(response)}`);
  const writer = new JsonWriter('', context).message('header', encodeHeader(header, context));
  codec.encodeResponse(writer, response, header.revision);
  return writer.json;
}

export function decodeResponse<M extends Method>(method: M, body: unknown): { header: ResponseHeader; response: Responses[M] } {
  const codec = codecOf(method);
  if (codec.streamed === true && isJsonObject(body) && (Object.hasOwn(body, 'result') || Object.hasOwn(body, 'error'))) {
    if (body['error'] !== undefined) throw decodeError(200, body['error']);
    body = body['result'];
  }
  const reader = FieldReader.of(body, '', false, codec.response);
  const header = decodeHeader(reader.read('header'));
  return { header, response: codec.decodeResponse(reader) };
}
