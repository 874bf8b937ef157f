// Runs the built `conclavectl` as a user would, with optional standard input.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { serverBin } from './process-cluster.js';

export function ctlBin(): string {
  return join(serverBin(), '..', 'conclavectl.js');
}

export function ctl(args: readonly string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ctlBin(), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CONCLAVECTL_ENDPOINTS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
