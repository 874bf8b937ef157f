// `npm run bench:state`: the MVCC store's apply alone, on the real backend (what a member's state machine costs per
// put, without Raft or the network): 100-byte values over 5,000 keys, the staged changes written every 1,000 puts
// as the loop does with each Ready (that write is storage's cost, not apply's, so it is not timed).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvStore } from '../../src/state/index.js';
import { NodeStorage } from '../../src/storage/index.js';

const total = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'conclave-bench-kv-'));
const storage = await NodeStorage.open({ dataDir: dir });
try {
  const store = new KvStore();
  await store.load(storage.backend);
  const value = new Uint8Array(100).fill(7);
  const keys = Array.from({ length: 5000 }, (_, i) => Buffer.from(`key/${i}`));
  let applyMs = 0;
  for (let batch = 0; batch < total / 1000; batch++) {
    const started = performance.now();
    for (let i = batch * 1000; i < (batch + 1) * 1000; i++) await store.apply({ type: 'put', request: { key: keys[i % keys.length] as Uint8Array, value } }, storage.backend);
    applyMs += performance.now() - started;
    await storage.flushApplied();
  }
  const reads = 50_000;
  const readStarted = performance.now();
  for (let i = 0; i < reads; i++) await store.range({ key: keys[i % keys.length] as Uint8Array }, storage.backend);
  const readMs = performance.now() - readStarted;
  console.log(JSON.stringify({ puts: total, applyPutsPerSecond: Math.round(total / (applyMs / 1000)), singleKeyRangesPerSecond: Math.round(reads / (readMs / 1000)), revision: store.revision }));
} finally {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
}
