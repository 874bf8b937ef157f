// Builds dist/ once before the suite: tests that fork real processes (the storage crash loop, the executables)
// run the compiled JavaScript, and must run the code under test, not a stale build.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  // For a quick run of suites that start no process; a suite that needs dist/ then fails loudly on a missing file.
  if (process.env['CONCLAVE_SKIP_BUILD'] === '1') return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
}
