// The `fsync-stall` fault's mechanism, on the harness's side: compiles the shim (stall-fsync.c) with `cc` into
// the run's directory, gives every member LD_PRELOAD of it and a control file path of its own, and stalls one
// member's disk by creating its control file (each fsync-family call it makes then waits) until the file is
// removed. Only the chosen member's file exists, so only its syncs wait.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/process-cluster.js';
import { FSYNC_STALL_POLL_MS } from '../limits.js';

/** The shim's source; the harness compiles it when a run asks for the fault. */
export function stallShimSource(): string {
  return join(repoRoot(), 'jepsen-like', 'faults', 'stall-fsync.c');
}

/** Compiles the shim into `dir`; throws an error naming `cc` when there is no compiler or it fails. */
export function compileStallShim(dir: string, compiler = 'cc'): string {
  mkdirSync(dir, { recursive: true });
  const output = join(dir, 'stall-fsync.so');
  try {
    execFileSync(compiler, ['-shared', '-fPIC', '-O2', '-o', output, stallShimSource(), '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: Buffer };
    const why = failure.code === 'ENOENT' ? `no C compiler: \`${compiler}\` was not found on PATH` : `\`${compiler}\` failed: ${failure.stderr?.toString().trim() ?? failure.message}`;
    throw new Error(`the fsync-stall fault compiles its LD_PRELOAD shim ${stallShimSource()} with \`${compiler} -shared -fPIC\`: ${why}`);
  }
  return output;
}

export class FsyncStall {
  private constructor(
    private readonly dir: string,
    private readonly shim: string,
  ) {}

  /** Compiles the shim; control files go in `dir` (the run's faults/ directory). */
  static create(dir: string, compiler = 'cc'): FsyncStall {
    return new FsyncStall(dir, compileStallShim(dir, compiler));
  }

  /** The environment of member `name`'s process (not CONCLAVE_*: the server warns of each such variable it does not know). */
  env(name: string): Record<string, string> {
    return { LD_PRELOAD: this.shim, JEPSEN_FSYNC_STALL_FILE: this.fileOf(name), JEPSEN_FSYNC_STALL_POLL_MS: String(FSYNC_STALL_POLL_MS) };
  }

  /** From now on member `name`'s syncs wait. */
  stall(name: string): void {
    rmSync(`${this.fileOf(name)}.held`, { force: true });
    writeFileSync(this.fileOf(name), '');
  }

  /** Lets member `name`'s held syncs through; says whether the stall held any. */
  release(name: string): boolean {
    rmSync(this.fileOf(name), { force: true });
    const held = `${this.fileOf(name)}.held`;
    const wasHeld = existsSync(held);
    rmSync(held, { force: true });
    return wasHeld;
  }

  private fileOf(name: string): string {
    return join(this.dir, `${name}.fsync-stall`);
  }
}
