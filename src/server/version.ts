// The version of this build: the one in the package.json of conclave, found by walking up from this file (it runs
// from src/server/ under vitest and from dist/src/server/ when built).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedVersion: string | undefined;

export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'conclave' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // No readable package.json here: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the package.json of conclave above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}
