// Transactions as etcd 3.4 applies them: compares, branches, nested txns, one revision for all writes, checks
// before anything runs, and the duplicate-key rule.

import { describe, expect, it } from 'vitest';
import type { Compare } from '../../src/protocol/kv.js';
import { bytes, expectOk, Harness, opDelete, opGet, opPut, opTxn, showResult } from './helpers.js';
import { MemoryBackend } from './memory-backend.js';

/** A compare with a string range end and no key: one member of the union per target. */
type CompareSpec = Compare extends infer C ? (C extends Compare ? Omit<C, 'key' | 'rangeEnd'> & { rangeEnd?: string } : never) : never;

const cmp = (key: string, rest: CompareSpec): Compare => {
  const { rangeEnd, ...compare } = rest as { rangeEnd?: string } & Record<string, unknown>;
  return { key: bytes(key), ...(rangeEnd === undefined ? {} : { rangeEnd: bytes(rangeEnd) }), ...compare } as Compare;
};

async function succeeds(kv: Harness, ...compare: Compare[]): Promise<boolean> {
  const result = expectOk(await kv.txn({ compare, success: [], failure: [] }));
  return (result.response as { succeeded: boolean }).succeeded;
}

describe('compares', () => {
  it('on version, create, mod, lease and value, with each result', async () => {
    const kv = new Harness();
    await kv.grant(5);
    await kv.put('k', 'mid', { lease: 5 }); // 2
    await kv.put('k', 'mid', { lease: 5 }); // 3: version 2
    expect(await succeeds(kv, cmp('k', { target: 'version', result: 'equal', version: 2 }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'version', result: 'greater', version: 1 }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'version', result: 'less', version: 2 }))).toBe(false);
    expect(await succeeds(kv, cmp('k', { target: 'create', result: 'equal', createRevision: 2 }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'mod', result: 'not_equal', modRevision: 3 }))).toBe(false);
    expect(await succeeds(kv, cmp('k', { target: 'mod', result: 'less', modRevision: 4 }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'lease', result: 'equal', lease: 5 }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'value', result: 'equal', value: bytes('mid') }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'value', result: 'greater', value: bytes('mic') }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'value', result: 'less', value: bytes('mid\0') }))).toBe(true);
    expect(await succeeds(kv, cmp('k', { target: 'value', result: 'not_equal', value: bytes('mid') }))).toBe(false);
  });

  it('on a missing key compare against zero, except a value compare, which always fails', async () => {
    const kv = new Harness();
    expect(await succeeds(kv, cmp('nope', { target: 'create', result: 'equal', createRevision: 0 }))).toBe(true);
    expect(await succeeds(kv, cmp('nope', { target: 'version', result: 'equal', version: 0 }))).toBe(true);
    expect(await succeeds(kv, cmp('nope', { target: 'mod', result: 'less', modRevision: 1 }))).toBe(true);
    expect(await succeeds(kv, cmp('nope', { target: 'lease', result: 'equal', lease: 0 }))).toBe(true);
    expect(await succeeds(kv, cmp('nope', { target: 'value', result: 'not_equal', value: bytes('x') }))).toBe(false);
    expect(await succeeds(kv, cmp('nope', { target: 'value', result: 'equal', value: bytes('') }))).toBe(false);
  });

  it('over a range hold only if they hold for every key in it', async () => {
    const kv = new Harness();
    await kv.put('p/a', '1');
    await kv.put('p/b', '2');
    await kv.put('p/b', '2');
    expect(await succeeds(kv, cmp('p/', { rangeEnd: 'p0', target: 'version', result: 'greater', version: 0 }))).toBe(true);
    expect(await succeeds(kv, cmp('p/', { rangeEnd: 'p0', target: 'version', result: 'equal', version: 1 }))).toBe(false);
    expect(await succeeds(kv, cmp('p/', { rangeEnd: 'p0', target: 'value', result: 'less', value: bytes('3') }))).toBe(true);
    expect(await succeeds(kv, cmp('q/', { rangeEnd: 'q0', target: 'create', result: 'equal', createRevision: 0 }))).toBe(true);
    expect(await succeeds(kv, cmp('p/', { rangeEnd: '\0', target: 'mod', result: 'greater', modRevision: 1 }))).toBe(true);
  });

  it('must all hold for the success branch', async () => {
    const kv = new Harness();
    await kv.put('a', '1');
    expect(await succeeds(kv, cmp('a', { target: 'version', result: 'equal', version: 1 }), cmp('b', { target: 'version', result: 'equal', version: 1 }))).toBe(false);
    expect(await succeeds(kv, cmp('a', { target: 'version', result: 'equal', version: 1 }), cmp('b', { target: 'version', result: 'equal', version: 0 }))).toBe(true);
  });
});

describe('branches and responses', () => {
  it('runs success or failure, with one response per op, all writes at one revision', async () => {
    const kv = new Harness();
    await kv.put('lock', 'me'); // 2
    const result = await kv.txn({
      compare: [cmp('lock', { target: 'value', result: 'equal', value: bytes('me') })],
      success: [opPut('a', '1'), opPut('b', '2', { prevKv: true }), opGet('a'), opDelete('lock', undefined, true)],
      failure: [opPut('never', 'x')],
    });
    expect(showResult(result)).toEqual({
      revision: 3,
      succeeded: true,
      responses: [
        { put: {} },
        { put: {} },
        { range: { kvs: [{ key: 'a', value: '1', createRevision: 3, modRevision: 3, version: 1, lease: 0 }], more: false, count: 1 } },
        { deleteRange: { deleted: 1, prevKvs: [{ key: 'lock', value: 'me', createRevision: 2, modRevision: 2, version: 1, lease: 0 }] } },
      ],
    });
    expect(await kv.pairs('\0', { rangeEnd: '\0' })).toEqual(['a=1', 'b=2']);
    const failed = await kv.txn({ compare: [cmp('lock', { target: 'version', result: 'greater', version: 0 })], success: [opPut('x', '1')], failure: [opGet('a'), opPut('c', '3')] });
    expect(showResult(failed)).toMatchObject({ revision: 4, succeeded: false, responses: [{ range: { count: 1 } }, { put: {} }] });
  });

  it('lets a range see the writes before it, and read the revision before the txn from history', async () => {
    const kv = new Harness();
    await kv.put('k', 'old'); // 2
    const result = await kv.txn({ compare: [], success: [opPut('k', 'new'), opGet('k'), opGet('k', { revision: 2 }), opGet('\0', { rangeEnd: '\0', countOnly: true })], failure: [] });
    expect(showResult(result)).toMatchObject({
      revision: 3,
      responses: [{ put: {} }, { range: { kvs: [{ value: 'new', modRevision: 3, version: 2 }] } }, { range: { kvs: [{ value: 'old', modRevision: 2 }] } }, { range: { count: 1 } }],
    });
  });

  it('nests txns, whose compares are evaluated against the state before the outer txn (etcd 3.4)', async () => {
    const kv = new Harness();
    const result = await kv.txn({
      compare: [],
      success: [
        opPut('flag', 'set'),
        opTxn({ compare: [cmp('flag', { target: 'version', result: 'equal', version: 0 })], success: [opPut('inner', 'saw-no-flag')], failure: [opPut('inner', 'saw-flag')] }),
      ],
      failure: [],
    });
    expect(showResult(result)).toMatchObject({ revision: 2, succeeded: true, responses: [{ put: {} }, { txn: { succeeded: true, responses: [{ put: {} }] } }] });
    expect(await kv.pairs('inner')).toEqual(['inner=saw-no-flag']);
  });

  it('reads only: the revision stays, and the header is the current revision', async () => {
    const kv = new Harness();
    await kv.put('a', '1');
    expect(showResult(await kv.txn({ compare: [], success: [opGet('a'), opDelete('missing')], failure: [] }))).toMatchObject({ revision: 2, responses: [{ range: { count: 1 } }, { deleteRange: { deleted: 0 } }] });
    expect(kv.store.revision).toBe(2);
  });

  it('gives the writes of one txn increasing sub-revisions of its revision, in op order', async () => {
    const backend = new MemoryBackend();
    const kv = new Harness(backend);
    await kv.txn({ compare: [], success: [opPut('z', '1'), opPut('a', '2'), opTxn({ compare: [], success: [opPut('m', '3')], failure: [] })], failure: [] });
    const events = backend
      .dump()
      .filter(([key]) => key.startsWith('r'))
      .map(([key]) => [...key.slice(1)].map((c) => c.charCodeAt(0)));
    const revisionOf = (k: number[]) => k.slice(0, 8).reduce((n, b) => n * 256 + b, 0);
    const subOf = (k: number[]) => k.slice(8).reduce((n, b) => n * 256 + b, 0);
    expect(events.map((k) => [revisionOf(k), subOf(k)])).toEqual([
      [2, 0],
      [2, 1],
      [2, 2],
    ]);
  });
});

describe('checks before a txn runs', () => {
  it('fail the whole txn with nothing written: ignore_value on a missing key, a lease that does not exist, a range revision out of reach', async () => {
    const kv = new Harness();
    await kv.grant(1);
    await kv.put('a', '1'); // 2
    await kv.put('a', '2'); // 3
    await kv.compact(3);
    const before = (kv.backend as MemoryBackend).dump();
    for (const [op, code] of [
      [opPut('missing', '', { ignoreValue: true }), 'ErrKeyNotFound'],
      [opPut('missing', 'v', { ignoreLease: true }), 'ErrKeyNotFound'],
      [opPut('b', 'v', { lease: 2 }), 'ErrLeaseNotFound'],
      [opGet('a', { revision: 4 }), 'ErrFutureRev'],
      [opGet('a', { revision: 2 }), 'ErrCompacted'],
      [opTxn({ compare: [], success: [opGet('a', { revision: 9 })], failure: [] }), 'ErrFutureRev'],
    ] as const) {
      const result = await kv.txn({ compare: [], success: [opPut('first', 'x'), op], failure: [] });
      expect(result).toMatchObject({ ok: false, revision: 3, error: { code } });
    }
    expect((kv.backend as MemoryBackend).dump()).toEqual(before);
    expect(expectOk(await kv.txn({ compare: [], success: [opPut('b', 'v', { lease: 1 }), opGet('a', { revision: 3 })], failure: [] })).revision).toBe(4);
  });

  it('look only at the branch taken', async () => {
    const kv = new Harness();
    const result = await kv.txn({ compare: [cmp('x', { target: 'version', result: 'equal', version: 0 })], success: [opPut('y', '1')], failure: [opPut('z', '', { ignoreValue: true })] });
    expect(showResult(result)).toMatchObject({ revision: 2, succeeded: true });
  });

  it('check puts before ranges, as etcd does', async () => {
    const kv = new Harness();
    const result = await kv.txn({ compare: [], success: [opGet('a', { revision: 5 }), opPut('b', 'v', { lease: 3 })], failure: [] });
    expect(result).toMatchObject({ ok: false, error: { code: 'ErrLeaseNotFound' } });
  });
});

describe('validation of a txn', () => {
  it('refuses a key put twice, or put and deleted, in what may run together', async () => {
    const kv = new Harness();
    const refused = async (success: Parameters<typeof opTxn>[0]['success'], failure: Parameters<typeof opTxn>[0]['failure'] = []) => {
      const result = await kv.txn({ compare: [], success, failure });
      return result.ok ? 'ok' : result.error.code;
    };
    expect(await refused([opPut('a', '1'), opPut('a', '2')])).toBe('ErrDuplicateKey');
    expect(await refused([opPut('b', '1'), opDelete('a', 'c')])).toBe('ErrDuplicateKey');
    expect(await refused([opDelete('a', '\0'), opPut('zz', '1')])).toBe('ErrDuplicateKey');
    expect(await refused([opPut('a', '1'), opTxn({ compare: [], success: [opPut('a', '2')], failure: [] })])).toBe('ErrDuplicateKey');
    expect(await refused([opPut('b', '1'), opTxn({ compare: [], success: [opDelete('b')], failure: [] })])).toBe('ErrDuplicateKey');
    expect(await refused([opTxn({ compare: [], success: [opDelete('b')], failure: [] }), opTxn({ compare: [], success: [opPut('b', '1')], failure: [] })])).toBe('ErrDuplicateKey');
    // The branches of a nested txn never both run; deletes may overlap; the two top branches are checked apart.
    expect(await refused([opTxn({ compare: [], success: [opPut('a', '1')], failure: [opPut('a', '2')] })])).toBe('ok');
    expect(await refused([opDelete('a', 'c'), opDelete('b')])).toBe('ok');
    expect(await refused([opPut('a', '1')], [opPut('a', '2')])).toBe('ok');
    expect(await refused([opPut('c', '1'), opDelete('a', 'c')])).toBe('ok');
  });

  it('refuses too many ops, txns nested too deep, empty keys and empty ops', async () => {
    const kv = new Harness(new MemoryBackend(), { limits: { maxTxnOps: 3, maxTxnDepth: 2 } });
    const code = async (request: Parameters<typeof opTxn>[0]) => {
      const result = await kv.txn(request);
      return result.ok ? 'ok' : result.error.code;
    };
    const puts = (n: number) => Array.from({ length: n }, (_, i) => opPut(`k${i}`, 'v'));
    expect(await code({ compare: [], success: puts(3), failure: puts(3) })).toBe('ok');
    expect(await code({ compare: [], success: puts(4), failure: [] })).toBe('ErrTooManyOps');
    const compares = Array.from({ length: 4 }, () => cmp('a', { target: 'version', result: 'equal', version: 0 }));
    expect(await code({ compare: compares, success: [], failure: [] })).toBe('ErrTooManyOps');
    const nest = (depth: number): Parameters<typeof opTxn>[0] => ({ compare: [], success: depth === 0 ? [] : [opTxn(nest(depth - 1))], failure: [] });
    expect(await code(nest(2))).toBe('ok');
    expect(await code(nest(3))).toBe('ErrTxnTooDeep');
    expect(await code({ compare: [cmp('', { target: 'version', result: 'equal', version: 0 })], success: [], failure: [] })).toBe('ErrEmptyKey');
    expect(await code({ compare: [], success: [], failure: [opGet('')] })).toBe('ErrEmptyKey');
    expect(await code({ compare: [], success: [{} as never], failure: [] })).toBe('ErrKeyNotFound');
    expect(kv.store.revision).toBe(2);
  });
});
