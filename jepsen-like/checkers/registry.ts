// The registry workload's checker: discovery lists no instance whose lease expired more than an election timeout
// before, and misses no instance whose lease certainly lived. Bounds come from the history alone.
//
// Operations (docs/jepsen-like.md, "The registry workload"); times are the history's, in ns:
// - `register` (key the instance): invoke value `{service, ttlSeconds}`; a lease granted, then the instance
//   registered under it; ok output `{lease, ttl}` (the TTL granted, in s), info output the same when the grant
//   went through and the registration's outcome is unknown.
// - `renew` (key the instance): invoke value the lease; ok output the TTL answered (0: the lease was gone).
// - `deregister` (key the instance): invoke value `{service}`; ok output the count deleted.
// - `crash` (key the instance): the instance stops renewing (not checked: its lease still bounds it).
// - `discover` (key the service): invoke value `{electionTimeoutMs}`; ok output the instances listed.
//
// Anomalies:
// - `stale-instance`: a discovery listed an instance although it began more than TTL + electionTimeoutMs after
//   the end of the instance's last register or renewal that did not fail (a renewal answered 0 renewed nothing),
//   or after its deregistration completed ok. The lease lived at most TTL from that renewal's application, and
//   the leader expires it within an election timeout of that (a new leader's grace); discovery hides leases past
//   their deadline meanwhile. An instance with an info renewal has no bound: an info operation may take effect at
//   any time after its invocation, and renewals do: a keepalive held by a paused member is applied when it
//   resumes, seconds after the client gave up on it (a 60 s run showed a lease renewed ~1 s after the client's
//   renewal had completed, through an attempt its failover had abandoned; the workload now sends each renewal
//   to one member only, so that an ok renewal had no other attempt).
// - `missing-instance`: a discovery did not list an instance whose registration completed ok before it began,
//   that no deregister had been invoked for before it completed, and whose lease certainly lived until it
//   completed: a register or renewal answered ok (TTL > 0) before the discovery began, invoked less than the TTL
//   before the discovery completed. (The lease lived at least TTL from when that renewal was sent, and the
//   renewal's checkpoint was applied before the discovery's linearizable read.) A crash does not excuse it: it
//   only stops renewals, and the lease is what bounds the instance.
// - `unregistered-instance`: a discovery listed an instance of its service no register ever tried.

import type { JsonValue, Operation } from '../history.js';
import { AnomalyList, byKey, type SafetyResult } from './anomalies.js';

const NS_PER_MS = 1e6;
const NS_PER_S = 1e9;

interface Instance {
  readonly name: string;
  service: string | null;
  /** Largest TTL requested or granted, in s: the stale bound's. */
  maxTtlS: number;
  /** The TTL granted, in s (the smallest answer seen): the missing bound's. */
  minTtlS: number;
  registered: Operation | null;
  /** Registers that did not fail and renewals answered ok with a TTL. */
  readonly extending: Operation[];
  /** A renewal of unknown outcome, which may take effect at any time: no stale bound. */
  unbounded: boolean;
  /** Registers and renewals answered ok with a TTL. */
  readonly confirmed: Operation[];
  readonly deregisters: Operation[];
}

const isObject = (value: JsonValue): value is Record<string, JsonValue> => typeof value === 'object' && value !== null && !Array.isArray(value);
const positive = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;

export function checkRegistry(operations: readonly Operation[]): SafetyResult {
  const anomalies = new AnomalyList();
  const counts: Record<string, number> = { instances: 0, discoveries: 0, listed: 0, expiredChecks: 0, missingChecks: 0, crashes: 0, expiredRenewals: 0 };
  const instances = new Map<string, Instance>();
  const discoveries: Operation[] = [];
  for (const [key, ops] of byKey(operations)) {
    for (const op of ops) {
      if (op.f === 'discover') {
        if (!isObject(op.value) || !positive(op.value['electionTimeoutMs'])) return malformed(`discover (index ${op.invoke.index}) carries ${JSON.stringify(op.value)}, not {electionTimeoutMs}`);
        if (op.outcome !== 'ok') continue;
        if (!Array.isArray(op.output) || !op.output.every((name) => typeof name === 'string')) return malformed(`discover (index ${op.invoke.index}) answered ${JSON.stringify(op.output)}, not a list of instance names`);
        discoveries.push(op);
        continue;
      }
      if (!['register', 'renew', 'deregister', 'crash'].includes(op.f)) continue;
      if (typeof key !== 'string') return malformed(`${op.f} (index ${op.invoke.index}) has key ${JSON.stringify(key)}, not an instance name`);
      const instance = instances.get(key) ?? { name: key, service: null, maxTtlS: 0, minTtlS: Infinity, registered: null, extending: [], confirmed: [], deregisters: [], unbounded: false };
      instances.set(key, instance);
      const problem = record(instance, op, counts);
      if (problem !== null) return malformed(problem);
    }
  }
  counts.instances = instances.size;
  counts.discoveries = discoveries.length;
  for (const discovery of discoveries) {
    const electionTimeoutNs = ((discovery.value as Record<string, number>)['electionTimeoutMs'] as number) * NS_PER_MS;
    const listed = new Set(discovery.output as string[]);
    counts.listed = (counts.listed ?? 0) + listed.size;
    for (const name of listed) {
      const instance = instances.get(name);
      if (instance === undefined || instance.service !== discovery.key) {
        anomalies.add('unregistered-instance', `discovery of ${JSON.stringify(discovery.key)} listed ${JSON.stringify(name)}, which no register of that service tried`, [discovery]);
      }
    }
    for (const instance of instances.values()) {
      if (instance.service !== discovery.key) continue;
      const gone = goneBy(instance, discovery.invoke.time, electionTimeoutNs);
      if (gone !== null) {
        counts.expiredChecks = (counts.expiredChecks ?? 0) + 1;
        if (listed.has(instance.name)) anomalies.add('stale-instance', `discovery of ${JSON.stringify(discovery.key)} listed ${JSON.stringify(instance.name)} although ${gone.why}`, [gone.op, discovery]);
      }
      const evidence = certainlyListed(instance, discovery);
      if (evidence === null) continue;
      counts.missingChecks = (counts.missingChecks ?? 0) + 1;
      if (listed.has(instance.name)) continue;
      const [registered, alive] = evidence;
      anomalies.add(
        'missing-instance',
        `discovery of ${JSON.stringify(discovery.key)} did not list ${JSON.stringify(instance.name)}, registered before it began, whose lease lived until at least ${((alive.invoke.time + instance.minTtlS * NS_PER_S - discovery.complete!.time) / NS_PER_MS).toFixed(0)} ms after it completed (${alive.f} answered ok, TTL ${instance.minTtlS} s)`,
        [registered, alive, discovery],
      );
    }
  }
  return anomalies.result(counts);
}

/** Adds one operation to its instance; a message when it does not have the workload's shape. */
function record(instance: Instance, op: Operation, counts: Record<string, number>): string | null {
  const where = `${op.f} of ${JSON.stringify(instance.name)} (index ${op.invoke.index})`;
  if (op.f === 'crash') {
    counts.crashes = (counts.crashes ?? 0) + 1;
    return null;
  }
  if (op.f === 'deregister') {
    if (op.outcome !== 'fail') instance.deregisters.push(op);
    return null;
  }
  if (op.f === 'register') {
    if (!isObject(op.value) || typeof op.value['service'] !== 'string' || !positive(op.value['ttlSeconds'])) return `${where} carries ${JSON.stringify(op.value)}, not {service, ttlSeconds}`;
    instance.service = op.value['service'];
    instance.maxTtlS = Math.max(instance.maxTtlS, op.value['ttlSeconds']);
    if (op.outcome === 'fail') return null;
    if (isObject(op.output)) {
      const granted = op.output['ttl'];
      if (!positive(granted)) return `${where} answered ${JSON.stringify(op.output)}, not {lease, ttl}`;
      instance.maxTtlS = Math.max(instance.maxTtlS, granted);
      instance.minTtlS = Math.min(instance.minTtlS, granted);
    } else if (op.outcome === 'ok') return `${where} answered ${JSON.stringify(op.output)}, not {lease, ttl}`;
    instance.extending.push(op);
    if (op.outcome === 'ok') {
      instance.registered ??= op;
      instance.confirmed.push(op);
    }
    return null;
  }
  // renew
  if (op.outcome === 'fail') return null;
  if (op.outcome === 'info') {
    instance.unbounded = true;
    return null;
  }
  if (typeof op.output !== 'number' || op.output < 0) return `${where} answered ${JSON.stringify(op.output)}, not a TTL`;
  if (op.output === 0) {
    counts.expiredRenewals = (counts.expiredRenewals ?? 0) + 1;
    return null;
  }
  instance.maxTtlS = Math.max(instance.maxTtlS, op.output);
  instance.minTtlS = Math.min(instance.minTtlS, op.output);
  instance.extending.push(op);
  instance.confirmed.push(op);
  return null;
}

/**
 * Why the instance certainly must not be listed by a discovery invoked at `began` (ns), with the operation that
 * shows it: deregistered ok before, or its lease expired more than an election timeout before. Null when it may
 * be listed.
 */
function goneBy(instance: Instance, began: number, electionTimeoutNs: number): { why: string; op: Operation } | null {
  const deregistered = instance.deregisters.find((op) => op.outcome === 'ok' && op.complete !== null && op.complete.time < began);
  if (deregistered !== undefined) return { why: 'it was deregistered before the discovery began', op: deregistered };
  // An operation the history ends before completing, or an info renewal, may take effect at any time: no bound.
  if (instance.unbounded || instance.extending.length === 0 || instance.extending.some((op) => op.complete === null)) return null;
  const last = instance.extending.reduce((latest, op) => (op.complete!.time > latest.complete!.time ? op : latest));
  const deadline = last.complete!.time + instance.maxTtlS * NS_PER_S + electionTimeoutNs;
  if (began <= deadline) return null;
  return {
    why: `the discovery began ${((began - deadline) / NS_PER_MS).toFixed(0)} ms after its lease's latest possible expiry plus an election timeout (last ${last.f} completed ${last.outcome}, TTL ${instance.maxTtlS} s, election timeout ${electionTimeoutNs / NS_PER_MS} ms)`,
    op: last,
  };
}

/** The registration and the renewal that show the discovery had to list the instance; null when nothing does. */
function certainlyListed(instance: Instance, discovery: Operation): [Operation, Operation] | null {
  const registered = instance.registered;
  const began = discovery.invoke.time;
  const ended = discovery.complete!.time;
  if (registered === null || registered.complete!.time >= began) return null;
  if (instance.deregisters.some((op) => op.invoke.time < ended)) return null;
  // The latest such renewal, which shows the longest life.
  const alive = instance.confirmed.filter((op) => op.complete!.time < began).pop();
  return alive === undefined || alive.invoke.time + instance.minTtlS * NS_PER_S <= ended ? null : [registered, alive];
}

function malformed(message: string): SafetyResult {
  return { verdict: 'unknown', anomalies: [], reason: `not a registry history: ${message}`, counts: {} };
}
