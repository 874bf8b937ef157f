import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PutRequest, RangeRequest, TxnRequest } from '../../src/protocol/kv.js';
import { ConclaveError } from '../../src/protocol/errors.js';
import type { FakeServer } from '../client/fake-server.js';
import { CLUSTER_DECIMAL, ctl, member, MEMBER_DECIMAL, type CtlRunOptions } from './ctl-helpers.js';

let server: FakeServer;
const run = (args: readonly string[], options?: CtlRunOptions) => ctl(['--endpoints', server.url, ...args], options);
const header = (revision: number) => `{"cluster_id":${CLUSTER_DECIMAL},"member_id":${MEMBER_DECIMAL},"revision":${revision},"raft_term":2}`;
const fieldsHeader = (revision: number) => `"ClusterID" : ${CLUSTER_DECIMAL}\n"MemberID" : ${MEMBER_DECIMAL}\n"Revision" : ${revision}\n"RaftTerm" : 2\n`;
const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' });
const failed = (message: string) => ({ code: 1, stdout: '', stderr: `Error: ${message}\n` });
const lastRequest = <T>() => server.received.at(-1)?.request as T;
const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

beforeEach(async () => {
  server = await member();
});
afterEach(async () => {
  await server.close();
});

describe('conclavectl put', () => {
  it('prints OK, and the previous pair with --prev-kv', async () => {
    expect(await run(['put', 'foo', 'bar'])).toEqual(ok('OK\n'));
    expect(await run(['put', 'foo', 'baz', '--prev-kv'])).toEqual(ok('OK\nfoo\nbar\n'));
    expect(server.value('foo')).toBe('baz');
  });

  it('reads the value from stdin when it is not given, byte for byte', async () => {
    expect(await run(['put', 'foo'], { stdin: 'line one\nline two\n' })).toEqual(ok('OK\n'));
    expect(server.value('foo')).toBe('line one\nline two\n');
  });

  it('takes operands after "--" (a key or value starting with a dash)', async () => {
    expect(await run(['put', '--', '-k', '-v'])).toEqual(ok('OK\n'));
    expect(server.value('-k')).toBe('-v');
  });

  it('sends --lease (hex), --ignore-value and --ignore-lease', async () => {
    server.seed('foo', 'bar', 7);
    expect(await run(['put', 'foo', 'new', '--lease', '1234abcd'])).toEqual(ok('OK\n'));
    expect(lastRequest<PutRequest>().lease).toBe(0x1234abcd);
    expect(await run(['put', 'foo', '--ignore-value'])).toEqual(ok('OK\n'));
    expect(lastRequest<PutRequest>().ignoreValue).toBe(true);
    expect(lastRequest<PutRequest>().lease ?? 0).toBe(0);
    expect(server.value('foo')).toBe('new');
    expect(await run(['put', 'foo', 'v2', '--ignore-lease'])).toEqual(ok('OK\n'));
    expect(lastRequest<PutRequest>().ignoreLease).toBe(true);
  });

  it('prints json and fields', async () => {
    server.seed('foo', 'bar');
    expect(await run(['put', 'foo', 'baz', '-w', 'json'])).toEqual(ok(`{"header":${header(3)}}\n`));
    expect(await run(['put', 'foo', 'qux', '--prev-kv', '--write-out=json'])).toEqual(
      ok(`{"header":${header(4)},"prev_kv":{"key":"Zm9v","create_revision":2,"mod_revision":3,"version":2,"value":"YmF6"}}\n`),
    );
    expect(await run(['put', 'foo', 'end', '--prev-kv', '-w', 'fields'])).toEqual(
      ok(`${fieldsHeader(5)}"PrevKey" : "foo"\n"PrevCreateRevision" : 2\n"PrevModRevision" : 4\n"PrevVersion" : 3\n"PrevValue" : "qux"\n"PrevLease" : 0\n`),
    );
  });

  it.each([
    [['put'], 'put command needs 1 argument and input from stdin or 2 arguments'],
    [['put', 'foo'], 'put command needs 1 argument and input from stdin or 2 arguments'],
    [['put', 'foo', 'v', '--ignore-value'], "put command needs only 1 argument when 'ignore-value' is set"],
    [['put', 'foo', 'v', '--lease', 'xyz'], 'bad lease ID (strconv.ParseInt: parsing "xyz": invalid syntax), expecting ID in Hex'],
    [['put', 'foo', 'v', '-w', 'table'], 'table not supported as output format'],
  ])('refuses %j before sending anything', async (args, message) => {
    expect(await run(args)).toEqual(failed(message));
    expect(server.received).toEqual([]);
  });
});

/** Keys around a prefix and a range end, for get and del. */
function seedFourKeys(): void {
  server.seed('foo', 'bar');
  server.seed('foo1', 'x');
  server.seed('fop', 'y');
  server.seed('zoo', 'z');
}

describe('conclavectl get', () => {
  beforeEach(seedFourKeys);

  it.each([
    [['get', 'foo'], 'foo\nbar\n'],
    [['get', 'nothing'], ''],
    [['get', 'foo', '--prefix'], 'foo\nbar\nfoo1\nx\n'],
    [['get', 'foo', 'zoo'], 'foo\nbar\nfoo1\nx\nfop\ny\n'],
    [['get', 'fop', '--from-key'], 'fop\ny\nzoo\nz\n'],
    [['get', '', '--prefix'], 'foo\nbar\nfoo1\nx\nfop\ny\nzoo\nz\n'],
    [['get', '', '--from-key'], 'foo\nbar\nfoo1\nx\nfop\ny\nzoo\nz\n'],
    [['get', 'f', '--prefix', '--limit', '2'], 'foo\nbar\nfoo1\nx\n'],
    [['get', 'f', '--prefix', '--keys-only'], 'foo\n\nfoo1\n\nfop\n\n'],
    [['get', 'f', '--prefix', '--print-value-only'], 'bar\nx\ny\n'],
    [['get', 'f', '--prefix', '--sort-by', 'VALUE', '--order', 'DESCEND'], 'fop\ny\nfoo1\nx\nfoo\nbar\n'],
    [['get', 'f', '--prefix', '--sort-by=modify', '--order=descend'], 'fop\ny\nfoo1\nx\nfoo\nbar\n'],
    [['get', 'foo', '--hex'], '\\x66\\x6f\\x6f\n\\x62\\x61\\x72\n'],
  ])('%j prints the pairs', async (args, stdout) => {
    expect(await run(args)).toEqual(ok(stdout));
  });

  it('sends --rev, --consistency, --limit and the sort flags as etcdctl does', async () => {
    // The codec leaves out fields at their defaults, as etcd's gateway does.
    const sent = () => {
      const request = lastRequest<RangeRequest>();
      return [request.revision ?? 0, request.serializable ?? false, request.limit ?? 0, request.sortOrder ?? 'none', request.sortTarget ?? 'key'];
    };
    await run(['get', 'foo', '--rev', '3', '--consistency', 's', '--limit', '10']);
    expect(sent()).toEqual([3, true, 10, 'none', 'key']);
    await run(['get', 'foo']);
    expect(sent()).toEqual([0, false, 0, 'none', 'key']);
    // Ascending by key is what members return anyway; etcdctl drops the order so that they need not sort.
    await run(['get', 'foo', '--sort-by', 'KEY', '--order', 'ASCEND']);
    expect(sent()).toEqual([0, false, 0, 'none', 'key']);
    await run(['get', 'foo', '--sort-by', 'CREATE', '--order', 'ascend']);
    expect(sent()).toEqual([0, false, 0, 'ascend', 'create']);
  });

  it('prints json: int64 as numbers, bytes as base64, zero values left out', async () => {
    expect(await run(['get', 'foo', '-w', 'json'])).toEqual(
      ok(`{"header":${header(5)},"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1,"value":"YmFy"}],"count":1}\n`),
    );
    expect(await run(['get', 'nothing', '-w', 'json'])).toEqual(ok(`{"header":${header(5)}}\n`));
    expect(await run(['get', 'f', '--prefix', '--limit', '1', '--keys-only', '-w', 'json'])).toEqual(
      ok(`{"header":${header(5)},"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1}],"more":true,"count":3}\n`),
    );
  });

  it('prints fields, and the count alone with --count-only', async () => {
    expect(await run(['get', 'foo', '-w', 'fields'])).toEqual(
      ok(`${fieldsHeader(5)}"Key" : "foo"\n"CreateRevision" : 2\n"ModRevision" : 2\n"Version" : 1\n"Value" : "bar"\n"Lease" : 0\n"More" : false\n"Count" : 1\n`),
    );
    expect(await run(['get', 'f', '--prefix', '--count-only', '-w', 'fields'])).toEqual(ok(`${fieldsHeader(5)}"More" : false\n"Count" : 3\n`));
  });

  it.each([
    [['get'], 'get command needs one argument as key and an optional argument as range_end'],
    [['get', 'a', '--prefix', '--from-key'], '`--prefix` and `--from-key` cannot be set at the same time, choose one'],
    [['get', 'a', '--keys-only', '--count-only'], '`--keys-only` and `--count-only` cannot be set at the same time, choose one'],
    [['get', 'a', 'b', '--prefix'], 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set'],
    [['get', 'a', '--consistency', 'x'], 'unknown consistency flag "x"'],
    [['get', 'a', '--order', 'sideways'], 'bad sort order sideways'],
    [['get', 'a', '--sort-by', 'bogus'], 'bad sort target bogus'],
    [['get', 'a', '--limit', 'x'], 'invalid argument "x" for "--limit" flag: strconv.ParseInt: parsing "x": invalid syntax'],
    [['get', 'a', '--count-only'], '--count-only is only for `--write-out=fields`'],
    [['get', 'a', '--print-value-only', '-w', 'json'], 'print-value-only is only for `--write-out=simple`'],
    [['get', 'a', '-w', 'table'], 'table not supported as output format'],
  ])('refuses %j before sending anything', async (args, message) => {
    const received = server.received.length;
    expect(await run(args)).toEqual(failed(message));
    expect(server.received).toHaveLength(received);
  });

  it("prints the cluster's error as etcdctl does and exits 1", async () => {
    server.override = () => new ConclaveError('ErrCompacted');
    expect(await run(['get', 'foo', '--rev', '1'])).toEqual(failed('etcdserver: mvcc: required revision has been compacted'));
  });
});

describe('conclavectl del', () => {
  beforeEach(seedFourKeys);

  it.each([
    [['del', 'foo'], '1\n', ['foo1', 'fop', 'zoo']],
    [['del', 'nothing'], '0\n', ['foo', 'foo1', 'fop', 'zoo']],
    [['del', 'foo', '--prefix', '--prev-kv'], '2\nfoo\nbar\nfoo1\nx\n', ['fop', 'zoo']],
    [['del', 'foo', 'zoo'], '3\n', ['zoo']],
    [['del', 'fop', '--from-key'], '2\n', ['foo', 'foo1']],
    [['del', '', '--prefix'], '4\n', []],
  ])('%j prints the count (and the pairs with --prev-kv)', async (args, stdout, left) => {
    expect(await run(args)).toEqual(ok(stdout));
    expect(['foo', 'foo1', 'fop', 'zoo'].filter((key) => server.value(key) !== undefined)).toEqual(left);
  });

  it('prints json and fields', async () => {
    expect(await run(['del', 'foo', '--prev-kv', '-w', 'json'])).toEqual(
      ok(`{"header":${header(6)},"deleted":1,"prev_kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1,"value":"YmFy"}]}\n`),
    );
    expect(await run(['del', 'nothing', '-w', 'json'])).toEqual(ok(`{"header":${header(6)}}\n`));
    expect(await run(['del', 'zoo', '-w', 'fields'])).toEqual(ok(`${fieldsHeader(7)}"Deleted" : 1\n`));
  });

  it.each([
    [['del'], 'del command needs one argument as key and an optional argument as range_end'],
    [['del', 'a', '--prefix', '--from-key'], '`--prefix` and `--from-key` cannot be set at the same time, choose one'],
    [['del', 'a', 'b', '--from-key'], 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set'],
  ])('refuses %j', async (args, message) => {
    expect(await run(args)).toEqual(failed(message));
  });
});

describe('conclavectl txn', () => {
  beforeEach(() => {
    server.seed('foo', 'bar');
    server.seed('fop', 'y');
  });

  it('reads compares, success and failure requests from stdin and prints SUCCESS with each response', async () => {
    const stdin = 'value("foo") = "bar"\n\nput foo new\nget foo\n\nput foo failed\n\n';
    expect(await run(['txn'], { stdin })).toEqual(ok('SUCCESS\n\nOK\n\nfoo\nnew\n'));
    expect(server.value('foo')).toBe('new');
  });

  it('runs the failure requests when a compare fails, with their flags, and accepts a last section without a blank line', async () => {
    const stdin = 'version("foo") > "5"\n\nput foo a\n\nput foo b --prev-kv\ndel fop\n';
    expect(await run(['txn'], { stdin })).toEqual(ok('FAILURE\n\nOK\nfoo\nbar\n\n1\n'));
    expect(server.value('foo')).toBe('b');
    expect(server.value('fop')).toBeUndefined();
  });

  it("understands every compare target and operator, and etcdctl's quoting", async () => {
    const stdin = [
      'create("foo") = "2"',
      'mod("foo") < "5"',
      'ver("foo") != "0"',
      'lease("foo") = "0"',
      'val("fop") > "x"',
      '',
      `put "a key" 'two words'`,
      'get f --prefix --keys-only',
      '',
      '',
    ].join('\n');
    expect(await run(['txn'], { stdin })).toEqual(ok('SUCCESS\n\nOK\n\nfoo\n\nfop\n\n'));
    expect(server.value('a key')).toBe('two words');
    const request = lastRequest<TxnRequest>();
    expect(request.compare.map((c) => [c.target, c.result, text(c.key)])).toEqual([
      ['create', 'equal', 'foo'],
      ['mod', 'less', 'foo'],
      ['version', 'not_equal', 'foo'],
      ['lease', 'equal', 'foo'],
      ['value', 'greater', 'fop'],
    ]);
    expect(request.compare[0]).toMatchObject({ createRevision: 2 });
    expect(request.success[1]).toMatchObject({ requestRange: { keysOnly: true } });
  });

  it('prompts for each section with -i', async () => {
    const stdin = '\nget foo\n\n\n';
    expect(await run(['txn', '-i'], { stdin })).toEqual(
      ok('compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\nSUCCESS\n\nfoo\nbar\n'),
    );
  });

  it('prints json with each response under "Response", and fields', async () => {
    const stdin = 'mod("foo") > "100"\n\nput foo qux\n\nput foo nope --prev-kv\nget fop\n\n';
    expect(await run(['txn', '-w', 'json'], { stdin })).toEqual(
      ok(
        `{"header":${header(4)},"responses":[` +
          `{"Response":{"response_put":{"header":{"revision":4},"prev_kv":{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1,"value":"YmFy"}}}},` +
          `{"Response":{"response_range":{"header":{"revision":4},"kvs":[{"key":"Zm9w","create_revision":3,"mod_revision":3,"version":1,"value":"eQ=="}],"count":1}}}]}\n`,
      ),
    );
    const fields = await run(['txn', '-w', 'fields'], { stdin: '\nput k v\n\n\n' });
    expect(fields).toEqual(ok(`${fieldsHeader(5)}"Succeeded" : true\n"ClusterID" : 0\n"MemberID" : 0\n"Revision" : 5\n"RaftTerm" : 0\n`));
  });

  it.each([
    ['foo = "bar"\n\n\n\n', 'malformed comparison: foo = "bar"'],
    ['value("foo") == "bar"\n\n\n\n', 'malformed comparison: value("foo") == "bar"'],
    ['size("foo") = "1"\n\n\n\n', 'malformed comparison: size("foo") = "1" (unknown target size)'],
    ['mod("foo") = "x"\n\n\n\n', 'invalid txn compare request: mod("foo") = "x"'],
    ['\nbogus foo\n\n\n', 'invalid txn request: bogus foo'],
    ['\nput\n\n\n', 'invalid txn compare request: put'],
    ['\nput foo\n\n\n', 'invalid txn request: put foo (put in a txn needs its value on the line)'],
    ['\nget foo --nope\n\n\n', 'invalid txn request: get foo --nope'],
  ])('refuses %j', async (stdin, message) => {
    const received = server.received.length;
    expect(await run(['txn'], { stdin })).toEqual(failed(message));
    expect(server.received).toHaveLength(received);
  });

  it('takes no operands', async () => {
    const extra = await run(['txn', 'extra']);
    expect(extra.code).toBe(1);
    expect(extra.stderr).toContain('Unknown argument: extra');
    expect(await run(['txn', '--', 'extra'])).toEqual(failed('txn command does not accept argument'));
  });
});

describe('conclavectl compaction', () => {
  it('compacts and says so', async () => {
    expect(await run(['compaction', '3'])).toEqual(ok('compacted revision 3\n'));
    expect(await run(['compaction', '5', '--physical'])).toEqual(ok('compacted revision 5\n'));
    expect(server.compacted).toEqual([
      { revision: 3, physical: false },
      { revision: 5, physical: true },
    ]);
  });

  it.each([
    [['compaction'], 'compaction command needs 1 argument'],
    [['compaction', 'x'], 'strconv.ParseInt: parsing "x": invalid syntax'],
  ])('refuses %j', async (args, message) => {
    expect(await run(args)).toEqual(failed(message));
  });
});
