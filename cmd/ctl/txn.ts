// txn: etcdctl's three sections read from stdin, each ended by a blank line (or the end of input): compares such
// as `mod("key1") > "0"`, then the requests to run when all hold, then those to run otherwise, each request a
// put, get or del line with the same flags as the commands. -i prompts before each section.

import yargs from 'yargs';
import { toBytes } from '../../src/client/index.js';
import type { Compare, CompareResult, RequestOp } from '../../src/protocol/kv.js';
import { argsOf, CTL_PARSER_CONFIGURATION, flagBool } from './args.js';
import { CtlError, type CtlCommand } from './context.js';
import { parseInteger } from './format.js';
import { delOptions, deleteRequest, getOptions, putOptions, putRequest, putValue, rangeRequest } from './kv.js';
import { LineReader } from './stdin.js';

const QUOTED = String.raw`"(?:[^"\\]|\\.)*"|\x60[^\x60]*\x60`;
const WORDS = new RegExp(String.raw`"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?`, 'g');

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };

/** A Go string literal ("..." with Go's escapes, or `raw`), or undefined when it is not one. */
export function goUnquote(literal: string): string | undefined {
  if (literal.length >= 2 && literal.startsWith('`') && literal.endsWith('`')) return literal.slice(1, -1);
  if (literal.length < 2 || !literal.startsWith('"') || !literal.endsWith('"')) return undefined;
  const body = literal.slice(1, -1);
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let at = 0; at < body.length; ) {
    const char = body[at] ?? '';
    if (char !== '\\') {
      const codePoint = body.codePointAt(at) ?? 0;
      const text = String.fromCodePoint(codePoint);
      bytes.push(...encoder.encode(text));
      at += text.length;
      continue;
    }
    const kind = body[at + 1] ?? '';
    const simple = SIMPLE_ESCAPES[kind];
    if (simple !== undefined) {
      bytes.push(simple);
      at += 2;
      continue;
    }
    const digits = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : /[0-7]/.test(kind) ? 3 : 0;
    const hex = kind === 'x' || kind === 'u' || kind === 'U';
    const code = hex ? body.slice(at + 2, at + 2 + digits) : body.slice(at + 1, at + 1 + digits);
    if (digits === 0 || code.length !== digits || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/).test(code)) return undefined;
    const value = parseInt(code, hex ? 16 : 8);
    if (kind === 'x' || !hex) {
      if (value > 0xff) return undefined;
      bytes.push(value);
    } else {
      if (value > 0x10ffff) return undefined;
      bytes.push(...encoder.encode(String.fromCodePoint(value)));
    }
    at += hex ? 2 + digits : 1 + digits;
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** A request line's words as etcdctl's Argify splits them: "double quoted" (Go escapes), 'single quoted', bare. */
export function argify(line: string): string[] {
  return [...line.matchAll(WORDS)].map(([word]) => {
    if (word.startsWith("'")) return word.slice(1, -1);
    if (word.startsWith('"')) {
      const text = goUnquote(word);
      if (text === undefined) throw new CtlError(`invalid quoted string ${word}`);
      return text;
    }
    return word;
  });
}

const RESULTS: Record<string, CompareResult> = { '=': 'equal', '!=': 'not_equal', '>': 'greater', '<': 'less' };
const COMPARE_REST = new RegExp(String.raw`^\s*(${QUOTED})\)\s*(\S+)\s*(${QUOTED})\s*$`);

export function parseCompare(line: string): Compare {
  const open = line.indexOf('(');
  if (open < 0) throw new CtlError(`malformed comparison: ${line}`);
  const target = line.slice(0, open).trim();
  const match = COMPARE_REST.exec(line.slice(open + 1));
  const key = match === null ? undefined : goUnquote(match[1] ?? '');
  const value = match === null ? undefined : goUnquote(match[3] ?? '');
  const result = match === null ? undefined : RESULTS[match[2] ?? ''];
  if (key === undefined || value === undefined || result === undefined) throw new CtlError(`malformed comparison: ${line}`);
  const range = { key: toBytes(key), result };
  const number = (radix: 10 | 16) => {
    const parsed = parseInteger(value, radix);
    if (!parsed.ok) throw new CtlError(`invalid txn compare request: ${line}`);
    return parsed.value;
  };
  switch (target) {
    case 'ver':
    case 'version':
      return { ...range, target: 'version', version: number(10) };
    case 'c':
    case 'create':
      return { ...range, target: 'create', createRevision: number(10) };
    case 'm':
    case 'mod':
      return { ...range, target: 'mod', modRevision: number(10) };
    case 'val':
    case 'value':
      return { ...range, target: 'value', value: toBytes(value) };
    case 'lease':
      return { ...range, target: 'lease', lease: number(16) };
    default:
      throw new CtlError(`malformed comparison: ${line} (unknown target ${target})`);
  }
}

const OPS = [
  { command: 'put [key] [value]', options: putOptions },
  { command: 'get [key] [range_end]', options: getOptions },
  { command: 'del [key] [range_end]', options: delOptions },
] as const;

export async function parseRequestOp(line: string): Promise<RequestOp> {
  const words = argify(line);
  if (words.length < 2) throw new CtlError(`invalid txn compare request: ${line}`);
  let parser = yargs().parserConfiguration(CTL_PARSER_CONFIGURATION).exitProcess(false).help(false).version(false).strict();
  for (const op of OPS) parser = parser.command(op.command, false, op.options);
  const argv = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    void parser.parse(words, {}, (error: Error | undefined, parsed: Record<string, unknown>) => resolve(error === undefined || error === null ? parsed : undefined));
  });
  const op = OPS.find((candidate) => candidate.command.startsWith(`${words[0]} `));
  if (argv === undefined || op === undefined) throw new CtlError(`invalid txn request: ${line}`);
  const args = argsOf(argv, op.command, 1);
  try {
    if (words[0] === 'put') {
      const value = putValue(args);
      if (value === undefined) throw new CtlError('put in a txn needs its value on the line');
      return { requestPut: putRequest(args, value) };
    }
    if (words[0] === 'get') return { requestRange: rangeRequest(args) };
    return { requestDeleteRange: deleteRequest(args) };
  } catch (error) {
    if (error instanceof CtlError) throw new CtlError(`invalid txn request: ${line} (${error.message})`);
    throw error;
  }
}

async function readSection<T>(reader: LineReader, parse: (line: string) => T | Promise<T>): Promise<T[]> {
  const items: T[] = [];
  for (;;) {
    const line = (await reader.next())?.trim();
    if (line === undefined || line === '') return items;
    items.push(await parse(line));
  }
}

export const txnCommand: CtlCommand = {
  command: 'txn',
  describe: 'Txn processes all the requests in one transaction (read from stdin: compares, success requests, failure requests, each section ended by a blank line)',
  options: (parser) => parser.option('interactive', { alias: 'i', type: 'boolean', describe: 'input transaction in interactive mode' }),
  run: async (context, args) => {
    if (args.operands.length !== 0) throw new CtlError('txn command does not accept argument');
    const printer = context.printer('txn');
    const interactive = flagBool(args, 'interactive');
    const prompt = (text: string) => {
      if (interactive) context.output.out(`${text}\n`);
    };
    const reader = new LineReader(context.options.stdin());
    prompt('compares:');
    const compare = await readSection(reader, parseCompare);
    prompt('success requests (get, put, del):');
    const success = await readSection(reader, parseRequestOp);
    prompt('failure requests (get, put, del):');
    const failure = await readSection(reader, parseRequestOp);
    printer.txn?.(await context.client.call('txn', { compare, success, failure }));
    return 0;
  },
};
