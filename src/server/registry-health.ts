// Active health checks of registered instances, run by the leader alone (promote/demote follow the member's
// soft state, as the lessor's do). On promotion the leader reads the registered instances that carry a check (at
// most registryLimits.maxActiveChecks of them) and follows the registry's changes from that revision: the member
// hands it every applied command, and the revisions of those that may touch the registry (registry writes, and
// revokes of the leases it checks) are read back from the store's events (no rescans, and no watcher of the hub:
// the cost is the changes'), probes each every intervalMs (an HTTP GET expecting a status, or a TCP connect; at
// most registryLimits.maxConcurrentProbes at once), and when
// the probes in a row reach the healthy or unhealthy threshold against the recorded status, proposes the change:
// a txn that rewrites the record with the new status only if it is unchanged since read (its mod revision), so a
// re-registration or deregistration in between wins. Only changes go through Raft, never probe results.

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { registryLimits } from '../limits.js';
import type { KeyValue } from '../protocol/kv.js';
import type { WatchEvent } from '../protocol/watch.js';
import { decodeInstance, withHealth } from '../protocol/registry-record.js';
import { REGISTRY_PREFIX, reservedRange } from '../protocol/reserved-keys.js';
import type { HealthCheck, HealthStatus, ServiceInstance } from '../protocol/registry.js';
import type { KvCommand, KvResult } from '../state/index.js';
import type { Logger } from './log.js';

export type Probe = (instance: ServiceInstance, check: HealthCheck) => Promise<boolean>;

export interface HealthCheckerOptions {
  /** The registry's pairs in the applied state (a local read), and the revision they were read at. */
  readonly scan: () => Promise<{ readonly revision: number; readonly kvs: readonly KeyValue[] }>;
  /** The registry's events of revisions [from, through], in order. */
  readonly replay: (from: number, through: number) => Promise<readonly WatchEvent[]>;
  readonly propose: (command: KvCommand) => Promise<KvResult>;
  readonly log: Logger;
  readonly probe?: Probe;
  readonly nowMs?: () => number;
}

interface Checked {
  kv: KeyValue;
  instance: ServiceInstance;
  check: HealthCheck;
  passes: number;
  failures: number;
  dueMs: number;
  probing: boolean;
  proposing: boolean;
}

const keyOf = (kv: KeyValue): string => Buffer.from(kv.key).toString('latin1');

export const REGISTRY_RANGE = reservedRange(REGISTRY_PREFIX);

export const isRegistryKey = (key: Uint8Array): boolean =>
  key.length >= REGISTRY_RANGE.key.length && Buffer.compare(key.subarray(0, REGISTRY_RANGE.key.length), REGISTRY_RANGE.key) === 0;

/** An HTTP GET of the check's path that answers the expected status within the timeout. */
function httpProbe(instance: ServiceInstance, check: HealthCheck): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpRequest({ host: instance.address, port: instance.port, path: check.path ?? '/health', method: 'GET', timeout: check.timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === (check.expectedStatus ?? 200));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
    request.end();
  });
}

/** A TCP connection that opens within the timeout. */
function tcpProbe(instance: ServiceInstance, check: HealthCheck): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: instance.address, port: instance.port, timeout: check.timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

export const defaultProbe: Probe = (instance, check) => (check.type === 'http' ? httpProbe(instance, check) : tcpProbe(instance, check));

export class HealthChecker {
  private checks = new Map<string, Checked>();
  private leading = false;
  private following: AbortController | null = null;
  /** The revision the checks are known through; null while the scan is out. */
  private scannedThrough: number | null = null;
  /** Revisions applied while the scan is out. */
  private pending: number[] = [];
  private chain: Promise<void> = Promise.resolve();
  private probeTimer: NodeJS.Timeout | null = null;
  private probesInFlight = 0;
  private readonly probe: Probe;
  private readonly now: () => number;

  constructor(private readonly options: HealthCheckerOptions) {
    this.probe = options.probe ?? defaultProbe;
    this.now = options.nowMs ?? (() => performance.now());
  }

  get activeChecks(): number {
    return this.checks.size;
  }

  promote(): void {
    if (this.leading) return;
    this.leading = true;
    const following = new AbortController();
    this.following = following;
    void this.follow(following.signal);
    this.probeTimer = setInterval(() => this.probeDue(), Math.min(100, registryLimits.minCheckIntervalMs));
    this.probeTimer.unref();
  }

  /** Stops checking; a new leader starts from the recorded statuses, with fresh counts. */
  demote(): void {
    this.leading = false;
    this.following?.abort();
    this.following = null;
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.probeTimer = null;
    this.checks = new Map();
  }

  close(): void {
    this.demote();
  }

  /** Reads the registered checks; what applies meanwhile is read back once the scan is in. */
  private async follow(signal: AbortSignal): Promise<void> {
    this.scannedThrough = null;
    this.pending = [];
    try {
      const { revision, kvs } = await this.options.scan();
      if (signal.aborted) return;
      for (const kv of kvs) this.track(kv);
      this.scannedThrough = revision;
      const pending = this.pending.filter((r) => r > revision);
      this.pending = [];
      for (const r of pending) this.catchUp(r);
    } catch (error) {
      if (signal.aborted) return;
      this.options.log.debug('reading the registry for health checks failed; reading it again', { error });
      setTimeout(() => {
        if (!signal.aborted) void this.follow(signal);
      }, registryLimits.minCheckIntervalMs).unref();
    }
  }

  /** A command applied on this member: the checks follow what it did to the registry. */
  applied(command: KvCommand, revision: number): void {
    if (!this.leading || !this.mayTouch(command)) return;
    if (this.scannedThrough === null) this.pending.push(revision);
    else this.catchUp(revision);
  }

  private catchUp(revision: number): void {
    this.chain = this.chain.then(async () => {
      const from = this.scannedThrough;
      if (from === null || revision <= from || !this.leading) return;
      try {
        for (const event of await this.options.replay(from + 1, revision)) {
          if (event.type === 'PUT') this.track(event.kv);
          else this.checks.delete(keyOf(event.kv));
        }
        this.scannedThrough = revision;
      } catch (error) {
        // Compacted under us, or the backend failed: start over from a fresh read.
        this.options.log.debug('following the registry for health checks failed; reading it again', { error });
        if (this.following !== null) void this.follow(this.following.signal);
      }
    });
  }

  /** Only registry writes and lease revokes can change the registry: plain writes under its prefix are refused. */
  private mayTouch(command: KvCommand): boolean {
    switch (command.type) {
      case 'registryWrite':
        return true;
      case 'leaseRevoke':
        for (const checked of this.checks.values()) if (checked.kv.lease === command.request.id) return true;
        return false;
      default:
        return false;
    }
  }

  /** A registration written: its check starts (again, with fresh counts), or stops if it has none. */
  private track(kv: KeyValue): void {
    const name = keyOf(kv);
    const instance = decodeInstance(kv);
    if (instance === null || instance.check === undefined) {
      this.checks.delete(name);
      return;
    }
    const old = this.checks.get(name);
    if (old === undefined && this.checks.size >= registryLimits.maxActiveChecks) return;
    // Counts start over (after a status change too: the thresholds count from it); a probe in flight for the old
    // record is dropped when it ends.
    this.checks.set(name, { kv, instance, check: instance.check, passes: 0, failures: 0, dueMs: old?.dueMs ?? this.now(), probing: false, proposing: false });
  }

  /** Starts the probes that are due, up to the concurrency bound. */
  probeDue(): void {
    if (!this.leading) return;
    const now = this.now();
    for (const checked of this.checks.values()) {
      if (this.probesInFlight >= registryLimits.maxConcurrentProbes) return;
      if (checked.probing || checked.proposing || checked.dueMs > now) continue;
      checked.probing = true;
      checked.dueMs = now + checked.check.intervalMs;
      this.probesInFlight++;
      this.probe(checked.instance, checked.check)
        .catch(() => false)
        .then((passed) => {
          this.probesInFlight--;
          checked.probing = false;
          this.observe(checked, passed);
        });
    }
  }

  private observe(checked: Checked, passed: boolean): void {
    if (!this.leading || this.checks.get(keyOf(checked.kv)) !== checked) return;
    if (passed) {
      checked.passes++;
      checked.failures = 0;
    } else {
      checked.failures++;
      checked.passes = 0;
    }
    const { health } = checked.instance;
    if (health === 'critical' && checked.passes >= (checked.check.healthyThreshold ?? 1)) this.record(checked, 'passing');
    else if (health === 'passing' && checked.failures >= (checked.check.unhealthyThreshold ?? 1)) this.record(checked, 'critical');
  }

  private record(checked: Checked, health: HealthStatus): void {
    checked.proposing = true;
    const { kv } = checked;
    const command: KvCommand = {
      type: 'registryWrite',
      request: {
        type: 'txn',
        request: {
          compare: [{ key: kv.key, target: 'mod', result: 'equal', modRevision: kv.modRevision }],
          success: [{ requestPut: { key: kv.key, value: withHealth(checked.instance, health), ignoreLease: true } }],
          failure: [],
        },
      },
    };
    this.options.log.info('instance health changed', { service: checked.instance.service, instance: checked.instance.instance, health });
    this.options.propose(command).then(
      () => {
        // The watch brings the record as it now is: with the new status (kept, counts and all), or re-registered.
        checked.proposing = false;
      },
      (error: unknown) => {
        checked.proposing = false;
        this.options.log.debug('recording a health change failed', { error });
      },
    );
  }
}

