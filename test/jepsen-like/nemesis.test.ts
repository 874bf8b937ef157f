// The nemesis's network kinds against a stand-in cluster: each fault applies exactly the links it records (cuts for
// partition and one-way, link faults for delay and loss), ends by healing them all, draws only the shapes asked
// for, and the seed alone fixes the schedule.

import { describe, expect, it } from 'vitest';
import type { JepsenCluster } from '../../jepsen-like/cluster.js';
import type { LinkFault } from '../../jepsen-like/link-shaper.js';
import { Nemesis, type FaultRecord, type NemesisKind, type NemesisOptions } from '../../jepsen-like/nemesis.js';

/** A cluster whose network remembers what was cut or shaped until each heal. */
function standIn(names: readonly string[]) {
  let cuts: string[][] = [];
  let faults: [string, string, LinkFault][] = [];
  const healed: { cuts: string[][]; faults: [string, string, LinkFault][] }[] = [];
  const network = {
    cut: (from: string, to: string) => cuts.push([from, to]),
    setFault: (from: string, to: string, fault: LinkFault) => faults.push([from, to, fault]),
    healAll: () => {
      healed.push({ cuts, faults });
      [cuts, faults] = [[], []];
    },
  };
  const cluster = { names, network, leader: async () => names[2]!, healAll: () => network.healAll() } as unknown as JepsenCluster;
  return { cluster, healed, live: () => ({ cuts, faults }) };
}

async function schedule(names: readonly string[], options: Pick<NemesisOptions, 'kinds' | 'shapes' | 'seed'>, faults: number) {
  const stand = standIn(names);
  const nemesis = new Nemesis(stand.cluster, { ...options, quietMs: [0, 0], faultMs: [1, 1], nowNs: () => 0 });
  const stop = new AbortController();
  const running = nemesis.run(stop.signal);
  while (nemesis.records.length < faults) await new Promise((resolve) => setTimeout(resolve, 1));
  stop.abort();
  await running;
  return { records: nemesis.records.slice(0, faults), healed: stand.healed.slice(0, faults), live: stand.live() };
}

const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5'];
const NETWORK: NemesisKind[] = ['partition', 'one-way', 'delay', 'loss'];

describe('Nemesis network kinds', () => {
  it('applies exactly the links each fault records and heals them all when it ends', async () => {
    const { records, healed, live } = await schedule(FIVE, { kinds: NETWORK, seed: 4 }, 40);
    expect(new Set(records.map((r) => r.kind))).toEqual(new Set(NETWORK));
    for (const [i, record] of records.entries()) {
      const applied = healed[i]!;
      if (record.kind === 'partition' || record.kind === 'one-way') {
        expect(applied.cuts.sort()).toEqual([...record.links!].map((link) => [...link]).sort());
        expect(applied.faults).toEqual([]);
      } else {
        expect(applied.cuts).toEqual([]);
        expect(applied.faults.sort()).toEqual([...record.links!].map(([from, to]) => [from, to, record.linkFault]).sort());
        const fault = record.linkFault!;
        if (record.kind === 'delay') expect(fault.delayMs).toBeGreaterThanOrEqual(20);
        else expect(fault.lossProbability).toBeGreaterThanOrEqual(0.1);
      }
      if (record.shape !== 'ring') expect(record.links!.length).toBeGreaterThan(0);
      // The leader (the stand-in says n3) is the one a -leader shape is about.
      if (record.shape.endsWith('-leader')) expect(record.nodes).toEqual(['n3']);
    }
    expect(live).toEqual({ cuts: [], faults: [] });
  });

  it('cuts a one-way shape in one direction only', async () => {
    const { records } = await schedule(FIVE, { kinds: ['one-way'], seed: 9 }, 12);
    expect(new Set(records.map((r) => r.shape))).toEqual(new Set(['mute-leader', 'deaf-leader', 'mute-minority']));
    for (const record of records) {
      const links = record.links!.map(([from, to]) => `${from}>${to}`);
      for (const [from, to] of record.links!) expect(links).not.toContain(`${to}>${from}`);
    }
  });

  it('draws only the shapes asked for, and the seed alone fixes the schedule', async () => {
    const options = { kinds: ['partition', 'delay'] as NemesisKind[], shapes: { partition: ['bridge', 'ring'] }, seed: 21 };
    const first = await schedule(FIVE, options, 12);
    const again = await schedule(FIVE, options, 12);
    const choices = (records: FaultRecord[]) => records.map(({ start: _s, end: _e, ...rest }) => rest);
    expect(choices(first.records)).toEqual(choices(again.records));
    expect(new Set(first.records.filter((r) => r.kind === 'partition').map((r) => r.shape))).toEqual(new Set(['bridge', 'ring']));
    expect(first.records.some((r) => r.kind === 'delay')).toBe(true);
  });
});
