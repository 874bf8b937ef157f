// The nemesis's process faults beyond kill and pause, as a table of kinds: each names its shapes and begins a
// fault on the member the nemesis chose, returning what it did and how to undo it. The mechanisms are in this
// directory, one file each; the nemesis (nemesis.ts) only schedules.
//
//   clock        jump-leader, jump-one   every clock of the member jumps forward by CLOCK_JUMP_MS
//                skew-leader             the member's clocks run at a rate of CLOCK_SKEW_RATES
//                wall-back-one           the wall clock alone steps back by CLOCK_JUMP_MS (an NTP step)
//   membership   remove-one, remove-leader   removed through the member API, added back as a new member
//   fsync-stall  stall-leader, stall-one     every fsync/fdatasync of the member waits until the fault ends

import type { Rng } from '../../test/sim/prng.js';
import type { JepsenCluster } from '../cluster.js';
import { CLOCK_JUMP_MS, CLOCK_SKEW_RATES } from '../limits.js';
import { wallOffsetOf, type ClockControl } from './clock-control.js';
import type { ClockSetting } from './clock-setting.js';
import type { FsyncStall } from './fsync-stall.js';
import { addBack, removeMember } from './membership.js';

/** What a fault's details say: plain JSON, written to nemesis.jsonl with the fault. */
export type FaultDetails = Record<string, unknown>;

export interface StartedFault {
  readonly details: FaultDetails;
  /** Ends the fault; resolves with what the end found (added to the details). */
  readonly undo: () => Promise<FaultDetails>;
}

export interface FaultKind {
  readonly shapes: readonly string[];
  /**
   * Begins the fault of `shape` on member `target`. A kind draws a fixed number of values from `rng`, whatever the
   * cluster answers, so that the seed alone fixes the nemesis's sequence of draws.
   */
  readonly begin: (cluster: JepsenCluster, shape: string, target: string, rng: Rng) => Promise<StartedFault>;
}

function required<T>(mechanism: T | null, kind: string): T {
  if (mechanism === null) throw new Error(`the cluster was started without the ${kind} fault's mechanism`);
  return mechanism;
}

/** The wall clock offset a clock setting gives at once; the tolerance covers a status round trip on a busy machine. */
const OBSERVE_TOLERANCE_MS = 500;

function clockSetting(shape: string, jumpMs: number, rate: number): ClockSetting {
  switch (shape) {
    case 'skew-leader':
      return { wallOffsetMs: 0, monotonicOffsetMs: 0, rate };
    case 'wall-back-one':
      return { wallOffsetMs: -jumpMs, monotonicOffsetMs: 0, rate: 1 };
    default:
      return { wallOffsetMs: jumpMs, monotonicOffsetMs: jumpMs, rate: 1 };
  }
}

const clock: FaultKind = {
  shapes: ['jump-leader', 'jump-one', 'skew-leader', 'wall-back-one'],
  async begin(cluster, shape, target, rng) {
    const jumpMs = rng.int(CLOCK_JUMP_MS[0], CLOCK_JUMP_MS[1]);
    const rate = rng.pick(CLOCK_SKEW_RATES);
    const control: ClockControl = required(cluster.clock, 'clock');
    const setting = clockSetting(shape, jumpMs, rate);
    const url = cluster.clientUrlOf(target);
    control.set(target, setting);
    // A step shows at once; a skew shows as the offset growing, measured from one reading to the fault's end.
    const observedMs = setting.rate === 1 ? await control.observe(url, setting.wallOffsetMs, OBSERVE_TOLERANCE_MS) : await wallOffsetOf(url);
    const observedAt = Date.now();
    return {
      details: { setting, wallOffsetObservedMs: observedMs },
      async undo() {
        const atEndMs = await wallOffsetOf(url);
        const realMs = Date.now() - observedAt;
        control.reset(target);
        const afterMs = await control.observe(url, 0, OBSERVE_TOLERANCE_MS);
        const rateObserved = observedMs === null || atEndMs === null || realMs <= 0 ? null : 1 + (atEndMs - observedMs) / realMs;
        return { wallOffsetAtEndMs: atEndMs, rateObserved, wallOffsetAfterHealMs: afterMs };
      },
    };
  },
};

const membership: FaultKind = {
  shapes: ['remove-one', 'remove-leader'],
  async begin(cluster, _shape, target) {
    const removedId = await removeMember(cluster, target);
    return {
      details: { removedId },
      async undo() {
        const added = await addBack(cluster, target);
        return { addedId: added.id, peerUrl: added.peerUrl, serving: added.serving };
      },
    };
  },
};

const fsyncStall: FaultKind = {
  shapes: ['stall-leader', 'stall-one'],
  async begin(cluster, _shape, target) {
    const stall: FsyncStall = required(cluster.fsyncStall, 'fsync-stall');
    stall.stall(target);
    return { details: {}, undo: async () => ({ held: stall.release(target) }) };
  },
};

export const PROCESS_FAULTS = { clock, membership, 'fsync-stall': fsyncStall } as const satisfies Record<string, FaultKind>;
export type ProcessFaultKind = keyof typeof PROCESS_FAULTS;
export const PROCESS_FAULT_KINDS = Object.keys(PROCESS_FAULTS) as ProcessFaultKind[];
