import { describe, expect, it } from 'vitest';
import { goDuration, goQuote, hexEscaped, hexId, humanizeBytes, paddedHexId, parseGoDuration, parseHexId, parseInteger } from '../../cmd/ctl/format.js';
import { goJson } from '../../cmd/ctl/print-json.js';
import { LineReader, readAll } from '../../cmd/ctl/stdin.js';
import { renderTable } from '../../cmd/ctl/table.js';
import { argify, goUnquote, parseCompare } from '../../cmd/ctl/txn.js';

async function* chunks(...parts: (string | Uint8Array)[]) {
  for (const part of parts) yield part;
}

describe("Go's text forms", () => {
  it.each([
    ['plain', '"plain"'],
    ['say "hi"\\', '"say \\"hi\\"\\\\"'],
    ['tab\tnew\nbell\u0007del\u007f', '"tab\\tnew\\nbell\\adel\\x7f"'],
    ['héllo ✓ 😀', '"héllo ✓ 😀"'],
    ['\u00a0\u200b', '"\\u00a0\\u200b"'],
    [Uint8Array.of(0x66, 0xff, 0xc3), '"f\\xff\\xc3"'],
  ])('%%q of %j is %s', (value, quoted) => {
    expect(goQuote(value)).toBe(quoted);
  });

  it.each([
    [0, '0 B'],
    [9, '9 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [20480, '20 kB'],
    // Ties round to even, as Go's %.0f does.
    [20500, '20 kB'],
    [21500, '22 kB'],
    [99_960, '100 kB'],
    [1_500_000, '1.5 MB'],
    [3 * 1024 ** 3, '3.2 GB'],
  ])('humanizes %d bytes as %s', (size, text) => {
    expect(humanizeBytes(size)).toBe(text);
  });

  it.each([
    [0n, '0s'],
    [999n, '999ns'],
    [1500n, '1.5µs'],
    [2_100_000n, '2.1ms'],
    [2_499_531n, '2.499531ms'],
    [1_500_000_000n, '1.5s'],
    [62_500_000_000n, '1m2.5s'],
    [3_600_000_000_000n, '1h0m0s'],
  ])('prints %d ns as %s', (nanoseconds, text) => {
    expect(goDuration(nanoseconds)).toBe(text);
  });

  it('parses Go durations', () => {
    expect(['5s', '1m30s', '500ms', '1.5h', '0', '250us', '2µs'].map(parseGoDuration)).toEqual([5000, 90_000, 500, 5_400_000, 0, 0.25, 0.002]);
    expect(['', '5', 's', '5 s', '5x', '-1s'].map(parseGoDuration)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('shows and parses IDs in hexadecimal', () => {
    expect(hexId('00000000000000ff')).toBe('ff');
    expect(hexId('0000000000000000')).toBe('0');
    expect(paddedHexId('00000000000000ff')).toBe('              ff');
    expect(parseHexId('FF')).toEqual({ ok: true, value: '00000000000000ff' });
    expect(parseHexId('0x1')).toEqual({ ok: false, error: 'strconv.ParseUint: parsing "0x1": invalid syntax' });
    expect(parseInteger('1f', 16)).toEqual({ ok: true, value: 31 });
    expect(parseInteger('9007199254740992', 10)).toEqual({ ok: false, error: 'strconv.ParseInt: parsing "9007199254740992": value out of range' });
    expect(hexEscaped(Uint8Array.of(0, 0xab))).toBe('\\x00\\xab');
  });

  it("writes JSON as Go's encoding/json: exact uint64, escaped <>&, no undefined members", () => {
    expect(goJson({ id: 10276657743932975437n, s: '<a&b>\u2028\b', gone: undefined, list: [1, true] })).toBe(
      '{"id":10276657743932975437,"s":"\\u003ca\\u0026b\\u003e\\u2028\\u0008","list":[1,true]}',
    );
  });
});

describe('tables', () => {
  it('centres upper-cased headers and right-aligns cells', () => {
    expect(renderTable(['name', 'raft_term'], [['a', '7'], ['longer name', '12']])).toBe(
      ['+-------------+-----------+', '|    NAME     | RAFT TERM |', '+-------------+-----------+', '|           a |         7 |', '| longer name |        12 |', '+-------------+-----------+', ''].join('\n'),
    );
  });

  it('counts wide characters as two columns', () => {
    expect(renderTable(['n'], [['日本']])).toBe(['+------+', '|  N   |', '+------+', '| 日本 |', '+------+', ''].join('\n'));
  });
});

describe("txn's parsing", () => {
  it('splits request lines as etcdctl does', () => {
    expect(argify(`put "a \\"quoted\\" key" 'single quoted' bare --prev-kv`)).toEqual(['put', 'a "quoted" key', 'single quoted', 'bare', '--prev-kv']);
    expect(argify('get k')).toEqual(['get', 'k']);
  });

  it('unquotes Go string literals', () => {
    expect(goUnquote('"a\\tb\\x41\\u00e9\\101"')).toBe('a\tbAéA');
    expect(goUnquote('`raw\\n`')).toBe('raw\\n');
    expect(goUnquote('"bad\\q"')).toBeUndefined();
    expect(goUnquote('unquoted')).toBeUndefined();
  });

  it('parses compares with their aliases', () => {
    expect(parseCompare('c("k") = "3"')).toEqual({ key: Uint8Array.from(Buffer.from('k')), result: 'equal', target: 'create', createRevision: 3 });
    expect(parseCompare('m("k") != "4"')).toMatchObject({ target: 'mod', result: 'not_equal', modRevision: 4 });
    expect(parseCompare('lease("k") > "1f"')).toMatchObject({ target: 'lease', result: 'greater', lease: 31 });
    expect(parseCompare('value("k") < "with \\"quote\\""')).toMatchObject({ target: 'value', result: 'less', value: Uint8Array.from(Buffer.from('with "quote"')) });
    expect(() => parseCompare('value("k") ~ "v"')).toThrow('malformed comparison: value("k") ~ "v"');
  });
});

describe('stdin', () => {
  it('reads all of it as bytes', async () => {
    expect([...(await readAll(chunks('ab', Uint8Array.of(0xff), 'c')))]).toEqual([0x61, 0x62, 0xff, 0x63]);
  });

  it('reads lines across chunk boundaries, CRLF or LF, and a last line without a newline', async () => {
    const reader = new LineReader(chunks('fi', 'rst\r\nsec', Buffer.from('ond\n\nlé'), 'st'));
    const lines: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) lines.push(await reader.next());
    expect(lines).toEqual(['first', 'second', '', 'lést', undefined]);
  });
});
