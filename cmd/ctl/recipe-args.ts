// What the recipe commands share: repeated flags read as lists, and holding something until the process is told
// to stop (SIGINT, SIGTERM) or the lease it is held under is lost.

import type { KeptLease } from '../../src/client/index.js';
import { flagText, type CtlArgs } from './args.js';
import { CtlError } from './context.js';

/** A flag that may be given many times (--tag a --tag b), each value kept. */
export function flagList(args: CtlArgs, name: string): string[] {
  const value = args.argv[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** A positive integer flag, or its default when absent. */
export function flagPositive(args: CtlArgs, name: string, fallback: number): number {
  const text = flagText(args, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) throw new CtlError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Waits for SIGINT or SIGTERM (true) or the lease's loss (false, with its error). */
export function holdUntilStopped(lease: KeptLease): Promise<{ stopped: true } | { stopped: false; error: Error }> {
  return new Promise((resolve) => {
    const stop = () => {
      lease.off('lost', lost);
      resolve({ stopped: true });
    };
    const lost = (_reason: string, error: Error) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve({ stopped: false, error });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    lease.once('lost', lost);
  });
}
