#!/usr/bin/env node
// `npm run cluster`: a local three-member cluster on loopback, as etcd's Procfile runs one: members n1, n2, n3 with
// client URLs 127.0.0.1:2379, :22379, :32379 and peer URLs :2380, :22380, :32380, data under ./cluster.data/, and
// every member's log in this terminal, prefixed by its name. Ctrl-C stops them all (each gracefully).
//
// Flags: --data DIR (default ./cluster.data), --fresh (delete DIR first), and any other flag is passed to every member.

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MEMBERS = [
  { name: 'n1', client: 2379, peer: 2380, color: 36 },
  { name: 'n2', client: 22379, peer: 22380, color: 33 },
  { name: 'n3', client: 32379, peer: 32380, color: 35 },
] as const;

const args = process.argv.slice(2);
const take = (flag: string): string | undefined => {
  const at = args.indexOf(flag);
  if (at < 0) return undefined;
  const [, value] = args.splice(at, 2);
  return value;
};
const fresh = args.includes('--fresh') ? (args.splice(args.indexOf('--fresh'), 1), true) : false;
const dataRoot = resolve(take('--data') ?? 'cluster.data');
if (fresh) rmSync(dataRoot, { recursive: true, force: true });

const server = join(dirname(fileURLToPath(import.meta.url)), 'conclave.js');
const initialCluster = MEMBERS.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
const colored = process.stdout.isTTY === true;
const children: ChildProcess[] = [];

for (const member of MEMBERS) {
  const prefix = colored ? `\x1b[${member.color}m${member.name.padEnd(3)}|\x1b[0m ` : `${member.name.padEnd(3)}| `;
  const child = spawn(
    process.execPath,
    [
      server,
      `--name=${member.name}`,
      `--data-dir=${join(dataRoot, member.name)}`,
      `--listen-client-urls=http://127.0.0.1:${member.client}`,
      `--advertise-client-urls=http://127.0.0.1:${member.client}`,
      `--listen-peer-urls=http://127.0.0.1:${member.peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${member.peer}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-token=conclave-dev-cluster',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
  }
  child.on('exit', (code, signal) => process.stdout.write(`${prefix}exited (${signal ?? `code ${code}`})\n`));
  children.push(child);
}
process.stdout.write(`cluster: ${MEMBERS.map((m) => `${m.name} http://127.0.0.1:${m.client}`).join(', ')}; data in ${dataRoot}; Ctrl-C stops it\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
await Promise.all(children.map((child) => new Promise((done) => (child.exitCode !== null ? done(null) : child.on('exit', done)))));
