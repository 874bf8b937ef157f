// The gateway's error body, both ways: every code survives encodeError -> decodeError with its detail; etcd's
// own answers are recognised by their message; unknown ones fall back on the gRPC code, then the HTTP status.
// And reading a body: parseJsonBody.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConclaveError, ERRORS, GRPC, type ErrorCode } from '../../src/protocol/errors.js';
import { decodeError, encodeError, parseJsonBody } from '../../src/protocol/json.js';

const CODES = Object.keys(ERRORS) as ErrorCode[];

describe('encodeError', () => {
  it("writes grpc-gateway's body: error is the table's message exactly, message adds the detail, code the gRPC code", () => {
    expect(encodeError(new ConclaveError('ErrCompacted'))).toEqual({
      error: 'etcdserver: mvcc: required revision has been compacted',
      code: GRPC.outOfRange,
      message: 'etcdserver: mvcc: required revision has been compacted',
    });
    expect(JSON.stringify(encodeError(new ConclaveError('ErrInvalidField', 'range_end: not valid base64')))).toBe(
      '{"error":"invalid request field","code":3,"message":"invalid request field: range_end: not valid base64"}',
    );
  });
});

describe('decodeError', () => {
  it.each(CODES)('gives back %s, with and without a detail, through JSON text', (code) => {
    for (const detail of [undefined, 'key: 20000 bytes', 'a: b: c']) {
      const error = new ConclaveError(code, detail);
      const decoded = decodeError(error.httpStatus, JSON.parse(JSON.stringify(encodeError(error))));
      expect({ code: decoded.code, detail: decoded.detail, grpc: decoded.grpcCode }).toEqual({ code, detail, grpc: error.grpcCode });
    }
  });

  it('gives back any detail', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CODES), fc.string(), (code, detail) => {
        const error = new ConclaveError(code, detail);
        const decoded = decodeError(error.httpStatus, encodeError(error));
        expect([decoded.code, decoded.detail]).toEqual([code, detail]);
      }),
    );
  });

  it('tells apart a message that extends another', () => {
    expect(decodeError(400, { message: 'etcdserver: can only promote a learner member which is in sync with leader', code: 9 }).code).toBe('ErrLearnerNotReady');
    expect(decodeError(400, { message: 'etcdserver: can only promote a learner member', code: 9 }).code).toBe('ErrMemberNotLearner');
  });

  it("recognises etcd's answers by their message, from either field (grpc-gateway before 1.14 had only error)", () => {
    expect(decodeError(400, { error: 'etcdserver: mvcc: required revision has been compacted', code: 11 }).code).toBe('ErrCompacted');
    expect(decodeError(503, { error: 'etcdserver: request timed out', code: 14, message: 'etcdserver: request timed out' }).code).toBe('ErrTimeout');
    expect(decodeError(400, { error: 'etcdserver: key is not provided', code: 3 }).code).toBe('ErrEmptyKey');
  });

  it.each([
    [400, { error: 'illegal base64 data at input byte 0', code: GRPC.invalidArgument }, 'ErrInvalidField', 'illegal base64 data at input byte 0'],
    [400, { error: 'etcdserver: permission denied', code: GRPC.permissionDenied }, 'ErrInternal', 'etcdserver: permission denied'],
    [503, { error: 'grpc: the client connection is closing', code: GRPC.unavailable }, 'ErrUnhealthy', 'grpc: the client connection is closing'],
    [504, { message: 'context deadline exceeded', code: GRPC.deadlineExceeded }, 'ErrTimeout', 'context deadline exceeded'],
    [408, { message: 'context canceled', code: GRPC.cancelled }, 'ErrTimeout', 'context canceled'],
    [429, { message: 'slow down', code: GRPC.resourceExhausted }, 'ErrTooManyRequests', 'slow down'],
    [501, { message: 'not implemented', code: GRPC.unimplemented }, 'ErrMethodNotAllowed', 'not implemented'],
    [404, { message: 'no such thing', code: GRPC.notFound }, 'ErrNotFound', 'no such thing'],
  ] as const)('falls back on the gRPC code: %i %j', (status, body, code, detail) => {
    const error = decodeError(status, body);
    expect([error.code, error.detail]).toEqual([code, detail]);
  });

  it.each([
    // grpc-gateway's plain-text answers for an unknown path and a wrong method are our messages for them.
    [404, 'Not Found\n', 'ErrNotFound', undefined],
    [405, 'Method Not Allowed', 'ErrMethodNotAllowed', undefined],
    [405, 'Nope', 'ErrMethodNotAllowed', 'Nope'],
    [413, '', 'ErrRequestTooLarge', 'HTTP status 413'],
    [429, null, 'ErrTooManyRequests', 'HTTP status 429'],
    [502, '<html>Bad Gateway</html>', 'ErrUnhealthy', '<html>Bad Gateway</html>'],
    [503, { code: 'not a number' }, 'ErrUnhealthy', 'HTTP status 503'],
    [504, [], 'ErrTimeout', 'HTTP status 504'],
    [400, { message: 7 }, 'ErrInvalidField', 'HTTP status 400'],
    [418, {}, 'ErrInvalidField', 'HTTP status 418'],
    [500, { code: 99 }, 'ErrInternal', 'HTTP status 500'],
  ] as const)('falls back on the HTTP status: %i %j', (status, body, code, detail) => {
    const error = decodeError(status, body);
    expect([error.code, error.detail]).toEqual([code, detail]);
  });

  it('never throws, whatever the body', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.jsonValue(), (status, body) => {
        expect(decodeError(status, body)).toBeInstanceOf(ConclaveError);
      }),
    );
  });
});

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody('{"key": "Zm9v"}')).toEqual({ key: 'Zm9v' });
    expect(parseJsonBody(' [1] ')).toEqual([1]);
  });

  it('reads an empty body as an empty message, as grpc-gateway does', () => {
    expect(parseJsonBody('')).toEqual({});
    expect(parseJsonBody(' \r\n\t')).toEqual({});
  });

  it.each(['{', '{"key": }', "{'key': 1}", 'undefined', '{"a":1}}', '\u00a0', '{"a":1,}'])('throws ErrInvalidJson on %j', (text) => {
    expect(() => parseJsonBody(text)).toThrow(expect.objectContaining({ code: 'ErrInvalidJson' }));
  });

  it('survives deep nesting', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    let result: unknown;
    try {
      result = parseJsonBody(deep);
    } catch (error) {
      result = error;
    }
    expect(Array.isArray(result) || (result instanceof ConclaveError && result.code === 'ErrInvalidJson')).toBe(true);
  });
});
