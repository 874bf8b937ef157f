// No file in the repository carries a merge's conflict markers: one did (README.md's layout, for two sessions),
// and a marker in a document or a fixture is as much a defect as one in code, which the compiler would catch.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MARKER = /^(<{7} |>{7} |={7}$)/m;

describe('the repository', () => {
  it('has no merge conflict markers in any tracked text file', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter((f) => /\.(ts|md|json|jsonl|sh|c|cjs|mjs|yml|yaml|txt)$|^\.ci\//.test(f));
    expect(files.length).toBeGreaterThan(100);
    const marked = files.filter((file) => MARKER.test(readFileSync(join(root, file), 'utf8')));
    expect(marked).toEqual([]);
  });
});
