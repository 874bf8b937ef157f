// Reading a command's operands and flags from yargs' argv with etcdctl's rules: flags given twice are refused
// (lists are comma-separated), and operands after "--" count as operands (`put -- -key -value`).

import type { Argv } from 'yargs';
import { CtlError } from './context.js';

export interface CtlArgs {
  readonly operands: readonly string[];
  readonly argv: Record<string, unknown>;
}

export type OptionsBuilder = (parser: Argv) => Argv;

/** The names of the positionals in a yargs command string ('get [key] [range_end]' gives key, range_end). */
export function positionalNames(command: string): string[] {
  return [...command.matchAll(/[<[]([\w-]+)(?:\.\.)?[>\]]/g)].map((match) => match[1] ?? '');
}

export function argsOf(argv: Record<string, unknown>, command: string, depth: number): CtlArgs {
  const declared = positionalNames(command)
    .flatMap((name) => {
      const value = argv[name];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    })
    .map(String);
  const rest = Array.isArray(argv['_']) ? argv['_'].slice(depth).map(String) : [];
  return { operands: [...declared, ...rest], argv };
}

export function flagText(args: CtlArgs, name: string): string | undefined {
  const value = args.argv[name];
  if (Array.isArray(value)) throw new CtlError(`--${name} given ${value.length} times; give it once`);
  return value === undefined ? undefined : String(value);
}

export function flagBool(args: CtlArgs, name: string): boolean {
  const value = args.argv[name];
  // A switch repeated is the same switch.
  return Array.isArray(value) ? value.every((item) => item === true) && value.length > 0 : value === true;
}

/** An integer flag, with Go's flag package's complaint for one that is not. */
export function flagInteger(args: CtlArgs, name: string): number {
  const text = flagText(args, name);
  if (text === undefined) return 0;
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new CtlError(`invalid argument ${JSON.stringify(text)} for "--${name}" flag: strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  return Number(text);
}

/** Values stay strings, flags keep their dashed names, repeats become arrays (refused by flagText). */
export const CTL_PARSER_CONFIGURATION = {
  'camel-case-expansion': false,
  'dot-notation': false,
  'duplicate-arguments-array': true,
  'parse-numbers': false,
  'parse-positional-numbers': false,
} as const;
