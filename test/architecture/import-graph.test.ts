// The architecture, as rules over the import graph of src/ and cmd/.
//
// Arrows point one way:   raft  <-  storage, transport  <-  server  <-  cmd
//                         protocol  <-  state  <-------------  server
//                         protocol  <-  server, client  <-  cmd
// and src/util/ and src/limits.ts are leaves everyone may use. A new layer is one more row in LAYERS.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  blankComments,
  checkImportGraph,
  findImports,
  layerCycles,
  layerOf,
  resolveImport,
  type Boundary,
  type LayerRule,
} from './import-graph.js';

const LEAVES = ['src/util/', 'src/limits.ts'];
// Storage owns the database: nothing else opens LevelDB, through `level` or the packages under it.
const LEVELDB = ['level', 'classic-level', 'abstract-level'];

const LAYERS: readonly LayerRule[] = [
  // Every bound of the system, with its default: plain constants.
  { layer: 'src/limits.ts', mayImport: [], packages: [], deterministic: true },
  // Small helpers any layer may use. What src/raft or src/state reaches here must be deterministic too.
  { layer: 'src/util/', mayImport: [...LEAVES], packages: '*' },
  // The Raft core: a deterministic state machine driven by its embedder. No I/O, no clock, no randomness.
  { layer: 'src/raft/', mayImport: ['src/raft/', ...LEAVES], packages: [], deterministic: true },
  // The replicated state machine (MVCC KV, leases, registry, locks, election, snowflake): applied identically
  // on every member, so deterministic as well.
  // It implements the API's request types, so it reads src/protocol/ (plain types and codecs, deterministic too).
  { layer: 'src/state/', mayImport: ['src/state/', 'src/protocol/', ...LEAVES], packages: ['@msgpack/msgpack'], deterministic: true },
  // LevelDB write-ahead log, backend and snapshot files.
  { layer: 'src/storage/', mayImport: ['src/storage/', 'src/raft/', ...LEAVES], packages: '*' },
  // Peer-to-peer Raft messages over WebSocket.
  { layer: 'src/transport/', mayImport: ['src/transport/', 'src/raft/', ...LEAVES], packages: '*', forbiddenPackages: LEVELDB },
  // The client API's wire format, shared by server and client.
  { layer: 'src/protocol/', mayImport: ['src/protocol/', ...LEAVES], packages: ['@msgpack/msgpack'], deterministic: true },
  // The member: drives Ready batches through storage and transport, applies to state, serves HTTP/WS.
  {
    layer: 'src/server/',
    mayImport: ['src/server/', 'src/raft/', 'src/storage/', 'src/transport/', 'src/state/', 'src/protocol/', ...LEAVES],
    packages: '*',
    forbiddenPackages: LEVELDB,
  },
  // The client library: speaks the protocol over WebSocket, knows nothing of the server's insides.
  { layer: 'src/client/', mayImport: ['src/client/', 'src/protocol/', ...LEAVES], packages: ['ws', 'node:http', 'node:https', 'node:events', 'node:timers'] },
  // The package's entry point (`import { connect, startNode } from 'conclave'`): the client, the embedded member and the API's types.
  { layer: 'src/index.ts', mayImport: ['src/server/', 'src/client/', 'src/protocol/'], packages: [] },
  // The executables.
  { layer: 'cmd/', mayImport: ['cmd/', 'src/'], packages: '*' },
];

const BOUNDARIES: readonly Boundary[] = [{ from: 'src/', never: ['cmd/', 'test/', 'jepsen-like/'] }];

const ROOTS = ['src/', 'cmd/'];

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function readTree(dirs: readonly string[]): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (/\.(c|m)?ts$/.test(entry.name)) sources.set(path, readFileSync(join(repoRoot, path), 'utf8'));
    }
  };
  for (const dir of dirs) walk(dir);
  return sources;
}

describe('the import graph of src/ and cmd/', () => {
  const sources = readTree(['src', 'cmd']);

  it('is not empty (the check is not vacuous)', () => {
    expect(sources.has('src/raft/types.ts')).toBe(true);
    expect(sources.has('cmd/conclave.ts')).toBe(true);
    expect(relative(repoRoot, fileURLToPath(import.meta.url)).split(sep).join('/')).toBe('test/architecture/import-graph.test.ts');
  });

  it('obeys the layer table', () => {
    const violations = checkImportGraph(sources, LAYERS, BOUNDARIES, ROOTS).map((v) => v.message);
    expect(violations).toEqual([]);
  });

  it('permits no cycle between layers in the table itself', () => {
    expect(layerCycles(LAYERS)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The checker itself.

describe('findImports', () => {
  it('finds static, re-export, side-effect, type-only, dynamic and require imports with their lines', () => {
    const source = [
      "import a from './a.js';", // 1
      'import {', // 2
      '  b,', // 3
      "  c } from './bc.js';", // 4
      "import type { D } from '../d.js';", // 5
      "import './side-effect.js';", // 6
      "export * from './all.js';", // 7
      "export { e } from './e.js';", // 8
      "export type { F } from './f.js';", // 9
      "const g = await import('./g.js');", // 10
      "type H = typeof import('./h.js');", // 11
      "import i = require('./i.js');", // 12
      'const j = await import(name);', // 13
      "import * as k from 'node:fs';", // 14
    ].join('\n');
    expect(findImports(source).map((s) => [s.line, s.specifier])).toEqual([
      [1, './a.js'],
      [2, './bc.js'],
      [5, '../d.js'],
      [6, './side-effect.js'],
      [7, './all.js'],
      [8, './e.js'],
      [9, './f.js'],
      [10, './g.js'],
      [11, './h.js'],
      [12, './i.js'],
      [13, null],
      [14, 'node:fs'],
    ]);
  });

  it('ignores imports in comments and look-alikes in strings, templates and regexes', () => {
    const source = [
      "// import x from './commented.js';",
      "/* export * from './block.js'; */",
      "const s = 'import y from \"./in-string.js\"';",
      'const t = `export * from "./in-template.js" ${1 + 1}`;',
      "const r = /import z from './in-regex.js'/;",
      'const url = "http://example.com/*not a comment*/";',
      "export const from = 'from';",
      "import real from './real.js';",
    ].join('\n');
    expect(findImports(source).map((s) => s.specifier)).toEqual(['./real.js']);
  });

  it('blanks comments, and on request string contents, keeping offsets and template code', () => {
    const source = "a /* c */ 'Date.now' `x${Math.random()}y` // z\nb";
    expect(blankComments(source)).toBe("a         'Date.now' `x${Math.random()}y`     \nb");
    expect(blankComments(source, true)).toBe("a         '        ' ` ${Math.random()} `     \nb");
    expect(blankComments("x = /'[/]\\//g.test(y) / 2 // c", true)).toBe("x = /      /g.test(y) / 2     ");
  });
});

describe('resolveImport', () => {
  const files = new Set(['src/raft/log.ts', 'src/util/index.ts']);
  it.each([
    ['src/raft/node.ts', './log.js', { kind: 'file', path: 'src/raft/log.ts' }],
    ['src/raft/node.ts', '../util/index.js', { kind: 'file', path: 'src/util/index.ts' }],
    ['src/raft/node.ts', '../util', { kind: 'file', path: 'src/util/index.ts' }],
    ['src/raft/node.ts', '../../test/sim/net.js', { kind: 'file', path: 'test/sim/net.ts' }],
    ['src/raft/node.ts', '../../../outside.js', { kind: 'unresolvable', reason: '"../../../outside.js" leaves the repository' }],
    ['src/raft/node.ts', 'fs', { kind: 'package', name: 'node:fs' }],
    ['src/raft/node.ts', 'fs/promises', { kind: 'package', name: 'node:fs' }],
    ['src/raft/node.ts', 'node:timers/promises', { kind: 'package', name: 'node:timers' }],
    ['src/raft/node.ts', '@msgpack/msgpack', { kind: 'package', name: '@msgpack/msgpack' }],
    ['src/raft/node.ts', 'yargs/helpers', { kind: 'package', name: 'yargs' }],
  ] as const)('%s: %s', (from, specifier, target) => {
    expect(resolveImport(from, specifier, files)).toEqual(target);
  });
});

describe('checkImportGraph on a synthetic graph', () => {
  const clean: Record<string, string> = {
    'src/limits.ts': 'export const limits = { a: 1 };',
    'src/util/bytes.ts': "import { limits } from '../limits.js';\nexport const n = limits.a;",
    'src/raft/types.ts': "import type { X } from './other.js';\nexport type T = X;",
    'src/raft/other.ts': "import { n } from '../util/bytes.js';\nimport { limits } from '../limits.js';\nexport type X = number;\n// Date.now() is the embedder's business\nconst s = 'see setTimeout in the embedder';",
    'src/state/kv.ts': "import { encode } from '@msgpack/msgpack';\nimport { n } from '../util/bytes.js';",
    'src/storage/wal.ts': "import { Level } from 'level';\nimport type { T } from '../raft/types.js';\nimport { readFile } from 'node:fs/promises';",
    'src/server/node.ts': "import '../storage/wal.js';\nimport '../state/kv.js';\nimport { WebSocketServer } from 'ws';\nsetTimeout(() => {}, Date.now());",
    'src/client/client.ts': "import WebSocket from 'ws';\nimport type { T } from '../protocol/wire.js';",
    'src/protocol/wire.ts': 'export type T = 1;',
    'cmd/conclave.ts': "import '../src/server/node.js';\nimport yargs from 'yargs';",
    'test/sim/net.ts': "import '../../src/raft/types.js';",
  };
  const check = (overrides: Record<string, string>) =>
    checkImportGraph(new Map(Object.entries({ ...clean, ...overrides })), LAYERS, BOUNDARIES, ROOTS).map((v) => v.message);

  it('reports nothing for a graph that obeys the rules', () => {
    expect(check({})).toEqual([]);
  });

  it('reports src/raft importing another layer, a Node builtin or a package', () => {
    expect(
      check({
        'src/raft/bad.ts': [
          "import '../storage/wal.js';",
          "export * from '../server/node.js';",
          "import { readFileSync } from 'fs';",
          "import { scheduler } from 'node:timers/promises';",
          "const level = await import('level');",
          "import type { WebSocket } from 'ws';",
          "import { createHash } from 'node:crypto';",
        ].join('\n'),
      }),
    ).toEqual([
      'src/raft/bad.ts:1 imports src/storage/wal.ts; src/raft/ may import only src/raft/, src/util/, src/limits.ts',
      'src/raft/bad.ts:2 imports src/server/node.ts; src/raft/ may import only src/raft/, src/util/, src/limits.ts',
      'src/raft/bad.ts:3 imports node:fs; src/raft/ may import no package and no Node builtin',
      'src/raft/bad.ts:4 imports node:timers; src/raft/ may import no package and no Node builtin',
      'src/raft/bad.ts:5 imports level; src/raft/ may import no package and no Node builtin',
      'src/raft/bad.ts:6 imports ws; src/raft/ may import no package and no Node builtin',
      'src/raft/bad.ts:7 imports node:crypto; src/raft/ may import no package and no Node builtin',
    ]);
  });

  it.each(['Date.now()', 'new Date()', 'Math.random()', 'setTimeout(f, 1)', 'setInterval(f, 1)', 'performance.now()', 'process.env.X', 'process.hrtime()', 'crypto.randomUUID()'])(
    'reports %s in src/raft',
    (call) => {
      const violations = check({ 'src/raft/clocky.ts': `export function f() {\n  return ${call};\n}` });
      expect(violations).toHaveLength(1);
      expect(violations[0]).toMatch(/^src\/raft\/clocky\.ts:2 uses .+; src\/raft\/ must be deterministic$/);
    },
  );

  it('does not mistake look-alike names for clocks and timers', () => {
    expect(check({ 'src/raft/fine.ts': 'const x = { process: 1, random: 2 };\nexport const y = x.process + x.random;\nfunction resetTimeout() {}' })).toEqual([]);
  });

  it('follows src/raft into src/util: what it reaches must be deterministic and import no packages', () => {
    expect(check({ 'src/util/bytes.ts': "import { randomBytes } from 'node:crypto';\nexport const n = Math.random();" })).toEqual([
      'src/util/bytes.ts:1 imports node:crypto; src/raft/ may import no package and no Node builtin (reached from src/raft/ through src/raft/other.ts)',
      'src/util/bytes.ts:1 imports node:crypto; src/state/ may import only the packages @msgpack/msgpack (reached from src/state/ through src/state/kv.ts)',
      'src/util/bytes.ts:2 uses Math.random; src/raft/ must be deterministic (reached from src/raft/ through src/raft/other.ts)',
      'src/util/bytes.ts:2 uses Math.random; src/state/ must be deterministic (reached from src/state/ through src/state/kv.ts)',
    ]);
    // A util file that no deterministic layer reaches may use the clock.
    expect(check({ 'src/util/clock.ts': 'export const now = () => Date.now();' })).toEqual([]);
  });

  it('reports src/state importing anything but state, protocol, util, limits and @msgpack/msgpack', () => {
    expect(check({ 'src/state/bad.ts': "import '../raft/types.js';\nimport 'node:fs';\nimport '../protocol/wire.js';\nimport '../storage/wal.js';" })).toEqual([
      'src/state/bad.ts:1 imports src/raft/types.ts; src/state/ may import only src/state/, src/protocol/, src/util/, src/limits.ts',
      'src/state/bad.ts:2 imports node:fs; src/state/ may import only the packages @msgpack/msgpack',
      'src/state/bad.ts:4 imports src/storage/wal.ts; src/state/ may import only src/state/, src/protocol/, src/util/, src/limits.ts',
    ]);
  });

  it('reports arrows pointing the wrong way', () => {
    expect(
      check({
        'src/storage/bad.ts': "import '../server/node.js';\nimport '../transport/peer.js';",
        'src/transport/peer.ts': "import '../storage/wal.js';\nimport { Level } from 'level';",
        'src/server/bad.ts': "import '../../cmd/conclave.js';\nimport '../client/client.js';\nimport 'level';",
      }),
    ).toEqual([
      'src/server/bad.ts:1 imports cmd/conclave.ts; nothing under src/ may import from cmd/',
      expect.stringMatching(/^src\/server\/bad\.ts:1 imports cmd\/conclave\.ts; src\/server\/ may import only /),
      expect.stringMatching(/^src\/server\/bad\.ts:2 imports src\/client\/client\.ts; src\/server\/ may import only /),
      'src/server/bad.ts:3 imports level; src/server/ may import any package but level, classic-level, abstract-level',
      expect.stringMatching(/^src\/storage\/bad\.ts:1 imports src\/server\/node\.ts; src\/storage\/ may import only /),
      expect.stringMatching(/^src\/storage\/bad\.ts:2 imports src\/transport\/peer\.ts; src\/storage\/ may import only /),
      expect.stringMatching(/^src\/transport\/peer\.ts:1 imports src\/storage\/wal\.ts; src\/transport\/ may import only /),
      'src/transport/peer.ts:2 imports level; src/transport/ may import any package but level, classic-level, abstract-level',
    ]);
  });

  it('reports the client depending on anything but protocol, util, limits, ws and Node networking', () => {
    const only = 'src/client/ may import only the packages ws, node:http, node:https, node:events, node:timers';
    expect(check({ 'src/client/bad.ts': "import '../server/node.js';\nimport 'node:fs';\nimport { encode } from '@msgpack/msgpack';\nimport 'node:http';" })).toEqual([
      'src/client/bad.ts:1 imports src/server/node.ts; src/client/ may import only src/client/, src/protocol/, src/util/, src/limits.ts',
      `src/client/bad.ts:2 imports node:fs; ${only}`,
      `src/client/bad.ts:3 imports @msgpack/msgpack; ${only}`,
    ]);
  });

  it('reports src importing from test/ or jepsen-like/, files in no layer, and computed dynamic imports', () => {
    expect(
      check({
        'src/util/bad.ts': "import '../../test/sim/net.js';\nimport '../../jepsen-like/checker.js';\nconst m = await import(`./${name}.js`);",
        'src/newlayer/x.ts': 'export {};',
      }),
    ).toEqual([
      'src/newlayer/x.ts belongs to no layer: add a row for it to the layer table',
      'src/util/bad.ts:1 imports test/sim/net.ts; nothing under src/ may import from test/',
      'src/util/bad.ts:1 imports test/sim/net.ts; src/util/ may import only src/util/, src/limits.ts',
      'src/util/bad.ts:2 imports jepsen-like/checker.ts; nothing under src/ may import from jepsen-like/',
      'src/util/bad.ts:2 imports jepsen-like/checker.ts; src/util/ may import only src/util/, src/limits.ts',
      'src/util/bad.ts:3 cannot be checked: dynamic import of a computed specifier',
    ]);
  });

  it('finds the most specific layer of a file', () => {
    expect(layerOf('src/limits.ts', LAYERS)?.layer).toBe('src/limits.ts');
    expect(layerOf('src/raft/deep/x.ts', LAYERS)?.layer).toBe('src/raft/');
    expect(layerOf('src/other.ts', LAYERS)).toBeUndefined();
  });

  it('detects a table whose arrows form a cycle', () => {
    const cyclic: LayerRule[] = [
      { layer: 'src/raft/', mayImport: ['src/raft/', 'src/storage/wal.ts'], packages: [] },
      { layer: 'src/storage/', mayImport: ['src/storage/', 'src/raft/'], packages: '*' },
    ];
    expect(layerCycles(cyclic)).toEqual([['src/raft/', 'src/storage/', 'src/raft/']]);
  });
});
