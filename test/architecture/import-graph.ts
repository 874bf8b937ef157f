// A small checker of the import graph against a table of layer rules. It works on an in-memory map of
// repo-relative path -> source text, so that it can be tested on synthetic graphs; import-graph.test.ts
// runs it on the real tree. TypeScript 7 ships no JavaScript compiler API, so imports are found by a
// scanner that blanks comments (and, for the determinism check, string contents) and then by regexes.

import { builtinModules } from 'node:module';
import { posix } from 'node:path';

export interface LayerRule {
  /** The files of the layer: a directory prefix ending in '/' (e.g. 'src/raft/') or one file ('src/limits.ts'). */
  readonly layer: string;
  /** What the layer's files may import: directory prefixes ending in '/' or single files. List the layer itself. */
  readonly mayImport: readonly string[];
  /** npm packages and Node builtins (as 'node:fs') the layer may import, or '*' for any. */
  readonly packages: readonly string[] | '*';
  /** Packages the layer must not import even when `packages` is '*'. */
  readonly forbiddenPackages?: readonly string[];
  /**
   * The layer must be deterministic: no clock, randomness, timers, process or global crypto in its files, and
   * the same holds, with the layer's package rule, for every file it reaches through imports (e.g. src/util/).
   */
  readonly deterministic?: boolean;
}

/** Directories that files under `from` must never import, whatever the layer table allows. */
export interface Boundary {
  readonly from: string;
  readonly never: readonly string[];
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** Sources of non-determinism that a deterministic layer must not touch. Matched outside comments and strings. */
export const NONDETERMINISM: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: 'Date.now', pattern: /(?<![\w$.])Date\s*\.\s*now\b/ },
  { what: 'Date() (the wall clock)', pattern: /(?<![\w$.])Date\s*\(/ },
  { what: 'Math.random', pattern: /(?<![\w$.])Math\s*\.\s*random\b/ },
  { what: 'setTimeout', pattern: /(?<![\w$.])setTimeout\b/ },
  { what: 'setInterval', pattern: /(?<![\w$.])setInterval\b/ },
  { what: 'setImmediate', pattern: /(?<![\w$.])setImmediate\b/ },
  { what: 'performance.now', pattern: /(?<![\w$.])performance\s*\./ },
  { what: 'process.', pattern: /(?<![\w$.])process\s*\./ },
  { what: 'crypto. (global Web Crypto)', pattern: /(?<![\w$.])crypto\s*\./ },
  { what: 'globalThis', pattern: /(?<![\w$.])globalThis\b/ },
];

// ---------------------------------------------------------------------------------------------------------
// Scanning

/**
 * Returns the source with comments replaced by spaces (newlines kept, so offsets and lines stay valid).
 * With `blankStrings`, the contents of string, template and regex literals are blanked too (not the code
 * inside a template's `${...}`).
 * Regex literals are recognized by the usual heuristic (a '/' where an operand may start).
 */
export function blankComments(source: string, blankStrings = false): string {
  const out = source.split('');
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  // Stack of open template literals' `${` brace depths.
  const templates: number[] = [];
  let i = 0;
  let lastSignificant = '';
  let lastWord = '';
  const n = source.length;

  const scanString = (quote: string) => {
    const start = i;
    i++;
    while (i < n && source[i] !== quote && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
    i++;
    if (blankStrings) blank(start + 1, Math.min(i - 1, n));
    lastSignificant = quote;
  };
  /** Scans template text from i (just after '`' or '}') up to its end or to the next '${'. */
  const scanTemplateText = () => {
    const start = i;
    while (i < n && source[i] !== '`' && !(source[i] === '$' && source[i + 1] === '{')) i += source[i] === '\\' ? 2 : 1;
    if (blankStrings) blank(start, Math.min(i, n));
    if (i >= n) return;
    if (source[i] === '`') {
      i++;
      lastSignificant = '`';
    } else {
      templates.push(0);
      i += 2;
      lastSignificant = '{';
    }
  };

  while (i < n) {
    const c = source[i] as string;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const start = i;
      while (i < n && source[i] !== '\n') i++;
      blank(start, i);
      continue;
    }
    if (c === '/' && next === '*') {
      const start = i;
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      blank(start, i);
      continue;
    }
    if (c === "'" || c === '"') {
      scanString(c);
      lastWord = '';
      continue;
    }
    if (c === '`') {
      i++;
      scanTemplateText();
      lastWord = '';
      continue;
    }
    if (c === '/') {
      const operandMayStart =
        lastSignificant === '' ||
        '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant) ||
        /^(return|typeof|instanceof|in|of|new|delete|void|throw|case|do|else|yield|await)$/.test(lastWord);
      if (operandMayStart) {
        // A regex literal: skip it, minding escapes and character classes.
        const start = i;
        i++;
        let inClass = false;
        while (i < n && source[i] !== '\n') {
          const r = source[i];
          if (r === '\\') i += 2;
          else {
            if (r === '[') inClass = true;
            else if (r === ']') inClass = false;
            else if (r === '/' && !inClass) break;
            i++;
          }
        }
        if (blankStrings) blank(start + 1, Math.min(i, n));
        i++;
        while (i < n && /[a-z]/i.test(source[i] as string)) i++;
        lastSignificant = '/';
        lastWord = '';
        continue;
      }
    }
    if (templates.length > 0) {
      if (c === '{') templates[templates.length - 1]! += 1;
      else if (c === '}') {
        if (templates[templates.length - 1] === 0) {
          templates.pop();
          i++;
          scanTemplateText();
          continue;
        }
        templates[templates.length - 1]! -= 1;
      }
    }
    if (/[\w$]/.test(c)) {
      let j = i;
      while (j < n && /[\w$]/.test(source[j] as string)) j++;
      lastWord = source.slice(i, j);
      lastSignificant = 'a';
      i = j;
      continue;
    }
    if (!/\s/.test(c)) {
      lastSignificant = c;
      lastWord = '';
    }
    i++;
  }
  return out.join('');
}

export interface ImportSite {
  /** The module specifier, or null for a dynamic import whose argument is not a plain string literal. */
  readonly specifier: string | null;
  readonly line: number;
  readonly kind: 'static' | 'dynamic' | 'require';
}

// Matched against source whose comments and literal contents are blanked; the specifier (the literal's
// contents) is then read from the original source at the same offsets.
const STATIC_IMPORT = /(?<![\w$.])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s*)?(['"])[^'"\n]*\1/g;
const DYNAMIC_IMPORT = /(?<![\w$.])import\s*\(\s*([^)]*?)\s*[,)]/g;
const REQUIRE = /(?<![\w$.])require\s*\(\s*(['"])[^'"\n]*\1\s*\)/g;

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

/** The contents of the string literal that `match` ends with (it ends with the closing quote, maybe then ')'). */
function literalAtEnd(source: string, match: RegExpMatchArray, quote: string): string {
  const end = (match.index as number) + match[0].lastIndexOf(quote);
  const start = (match.index as number) + match[0].lastIndexOf(quote, match[0].lastIndexOf(quote) - 1);
  return source.slice(start + 1, end);
}

/**
 * Every import of a module, with the line where its statement starts: `import ... from`, `import '...'`,
 * `export ... from`, `import(...)` (also `typeof import(...)` in types) and `require(...)`.
 */
export function findImports(source: string): ImportSite[] {
  const code = blankComments(source, true);
  const sites: ImportSite[] = [];
  for (const m of code.matchAll(STATIC_IMPORT)) {
    sites.push({ specifier: literalAtEnd(source, m, m[1] as string), line: lineAt(code, m.index), kind: 'static' });
  }
  for (const m of code.matchAll(DYNAMIC_IMPORT)) {
    const arg = (m[1] as string).trim();
    const quote = arg[0];
    const literal = (quote === "'" || quote === '"') && /^(['"])[^'"\n]*\1$/.test(arg);
    const argStart = (m.index as number) + m[0].indexOf(arg);
    sites.push({
      specifier: literal ? source.slice(argStart + 1, argStart + arg.length - 1) : null,
      line: lineAt(code, m.index),
      kind: 'dynamic',
    });
  }
  for (const m of code.matchAll(REQUIRE)) {
    sites.push({ specifier: literalAtEnd(source, m, m[1] as string), line: lineAt(code, m.index), kind: 'require' });
  }
  return sites.sort((a, b) => a.line - b.line);
}

// ---------------------------------------------------------------------------------------------------------
// Resolution

export type Target =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'package'; readonly name: string }
  | { readonly kind: 'unresolvable'; readonly reason: string };

const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '').split('/')[0] as string));

/** Resolves a specifier imported by `from` (repo-relative) against the set of known files. */
export function resolveImport(from: string, specifier: string, files: ReadonlySet<string>): Target {
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') {
    const joined = posix.normalize(posix.join(posix.dirname(from), specifier));
    if (joined.startsWith('../') || joined === '..') return { kind: 'unresolvable', reason: `"${specifier}" leaves the repository` };
    const candidates = [
      joined.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts'),
      joined,
      `${joined}.ts`,
      `${joined}/index.ts`,
    ];
    const found = candidates.find((c) => files.has(c));
    return { kind: 'file', path: found ?? candidates[0]! };
  }
  if (specifier.startsWith('node:')) return { kind: 'package', name: `node:${specifier.slice(5).split('/')[0]}` };
  if (specifier.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(specifier)) {
    return { kind: 'unresolvable', reason: `"${specifier}" is an absolute path or URL` };
  }
  if (specifier.startsWith('#')) return { kind: 'unresolvable', reason: `"${specifier}" is a subpath import (#...), not supported` };
  const parts = specifier.split('/');
  const top = parts[0] as string;
  if (BUILTINS.has(top)) return { kind: 'package', name: `node:${top}` };
  return { kind: 'package', name: top.startsWith('@') ? `${top}/${parts[1] ?? ''}` : top };
}

// ---------------------------------------------------------------------------------------------------------
// Checking

const matches = (path: string, pattern: string) => (pattern.endsWith('/') ? path.startsWith(pattern) : path === pattern);

/** The rule whose layer holds `path` (the most specific one), if any. */
export function layerOf(path: string, rules: readonly LayerRule[]): LayerRule | undefined {
  let best: LayerRule | undefined;
  for (const rule of rules) if (matches(path, rule.layer) && (!best || rule.layer.length > best.layer.length)) best = rule;
  return best;
}

function packageAllowed(rule: LayerRule, name: string): boolean {
  if (rule.forbiddenPackages?.includes(name)) return false;
  return rule.packages === '*' || rule.packages.includes(name);
}

const describeAllowed = (rule: LayerRule) =>
  rule.mayImport.length === 0 ? 'nothing in the repository' : `only ${rule.mayImport.join(', ')}`;
const describePackages = (rule: LayerRule) =>
  rule.packages === '*'
    ? `any package but ${(rule.forbiddenPackages ?? []).join(', ')}`
    : rule.packages.length === 0
      ? 'no package and no Node builtin'
      : `only the packages ${rule.packages.join(', ')}`;

/**
 * Checks every file of `sources` (repo-relative path -> source) that lies under one of `roots`.
 * Returns the violations, sorted; an empty list means the graph obeys the rules.
 */
export function checkImportGraph(
  sources: ReadonlyMap<string, string>,
  rules: readonly LayerRule[],
  boundaries: readonly Boundary[],
  roots: readonly string[],
): Violation[] {
  const violations: Violation[] = [];
  const files = new Set(sources.keys());
  const edges = new Map<string, { site: ImportSite; target: Target }[]>();
  const edgesOf = (file: string) => {
    let list = edges.get(file);
    if (list === undefined) {
      const source = sources.get(file) ?? '';
      list = findImports(source).map((site) => ({
        site,
        target: site.specifier === null ? ({ kind: 'unresolvable', reason: 'dynamic import of a computed specifier' } as const) : resolveImport(file, site.specifier, files),
      }));
      edges.set(file, list);
    }
    return list;
  };

  const checked = [...files].filter((f) => roots.some((r) => matches(f, r))).sort();
  for (const file of checked) {
    const rule = layerOf(file, rules);
    if (rule === undefined) {
      violations.push({ file, line: 1, message: `${file} belongs to no layer: add a row for it to the layer table` });
      continue;
    }
    for (const { site, target } of edgesOf(file)) {
      const at = { file, line: site.line };
      if (target.kind === 'unresolvable') {
        violations.push({ ...at, message: `${file}:${site.line} cannot be checked: ${target.reason}` });
      } else if (target.kind === 'package') {
        if (!packageAllowed(rule, target.name)) {
          violations.push({ ...at, message: `${file}:${site.line} imports ${target.name}; ${rule.layer} may import ${describePackages(rule)}` });
        }
      } else {
        if (!rule.mayImport.some((p) => matches(target.path, p))) {
          violations.push({ ...at, message: `${file}:${site.line} imports ${target.path}; ${rule.layer} may import ${describeAllowed(rule)}` });
        }
        for (const boundary of boundaries) {
          const crossed = boundary.never.find((p) => matches(target.path, p));
          if (matches(file, boundary.from) && crossed !== undefined) {
            violations.push({ ...at, message: `${file}:${site.line} imports ${target.path}; nothing under ${boundary.from} may import from ${crossed}` });
          }
        }
      }
    }
  }

  // Determinism, through everything a deterministic layer reaches.
  for (const rule of rules.filter((r) => r.deterministic)) {
    const seen = new Set<string>();
    const queue = checked.filter((f) => layerOf(f, rules) === rule);
    const via = new Map<string, string>();
    while (queue.length > 0) {
      const file = queue.shift() as string;
      if (seen.has(file) || !sources.has(file)) continue;
      seen.add(file);
      const outside = !matches(file, rule.layer);
      const reached = outside ? ` (reached from ${rule.layer} through ${via.get(file)})` : '';
      const code = blankComments(sources.get(file) as string, true);
      for (const { what, pattern } of NONDETERMINISM) {
        const m = new RegExp(pattern.source, 'g').exec(code);
        if (m) {
          const line = lineAt(code, m.index);
          violations.push({ file, line, message: `${file}:${line} uses ${what}; ${rule.layer} must be deterministic${reached}` });
        }
      }
      for (const { site, target } of edgesOf(file)) {
        if (target.kind === 'file') {
          // Follow only the imports the layer may make (the others are reported already).
          if (!rule.mayImport.some((p) => matches(target.path, p))) continue;
          if (!via.has(target.path)) via.set(target.path, file);
          queue.push(target.path);
        } else if (outside && target.kind === 'package' && !packageAllowed(rule, target.name)) {
          violations.push({
            file,
            line: site.line,
            message: `${file}:${site.line} imports ${target.name}; ${rule.layer} may import ${describePackages(rule)}${reached}`,
          });
        }
      }
    }
  }

  const unique = new Map(violations.map((v) => [v.message, v]));
  return [...unique.values()].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.message.localeCompare(b.message));
}

/** Cycles among the layers that the table itself permits (ignoring a layer importing itself). */
export function layerCycles(rules: readonly LayerRule[]): string[][] {
  // rule -> other when rule may import some file of other: other lies within an allowed prefix, or an allowed
  // file or prefix lies within other.
  const targets = (rule: LayerRule) =>
    rules.filter(
      (other) =>
        other !== rule && rule.mayImport.some((p) => matches(other.layer, p) || (other.layer.endsWith('/') && p.startsWith(other.layer))),
    );
  const cycles: string[][] = [];
  const state = new Map<LayerRule, 'open' | 'done'>();
  const path: LayerRule[] = [];
  const visit = (rule: LayerRule) => {
    state.set(rule, 'open');
    path.push(rule);
    for (const next of targets(rule)) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((r) => r.layer));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(rule, 'done');
  };
  for (const rule of rules) if (!state.has(rule)) visit(rule);
  return cycles;
}
