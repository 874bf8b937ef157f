// The loop that embeds the Raft core: it takes each Ready and follows the contract (send, persist, send the
// acknowledgements, apply, advance) through durable storage, applies committed entries to the state machine,
// and takes snapshots and compacts the log when the log has grown. Every input (step, tick, propose) is followed
// by kick(); one Ready is handled at a time.

import { serverLimits, storageLimits } from '../limits.js';
import {
  decodeConfChange,
  index,
  type AppendRequest,
  type Entry,
  type Message,
  type RaftNode,
  type Ready,
  type ReadState,
  type SnapshotMeta,
  type SoftState,
} from '../raft/index.js';
import type { BackendWriter, NodeStorage, TakenSnapshot } from '../storage/index.js';
import { CommitNewsHold } from './commit-news.js';

export interface StateMachine {
  /** Applies one committed entry, writing through `backend`; returns the result for its proposer. Deterministic. */
  apply(entry: Entry, backend: BackendWriter): unknown;
}

export interface RaftLoopOptions {
  readonly node: RaftNode;
  readonly storage: NodeStorage;
  readonly stateMachine: StateMachine;
  /** Puts a message on the wire (snapshot chunks arrive here with their bytes attached). */
  readonly send: (message: Message) => void;
  /** Called after the messages of one Ready were handed to send(): a transport may write them out now. */
  readonly flush?: () => void;
  readonly onApplied?: (entry: Entry, result: unknown) => void;
  readonly onReadState?: (readState: ReadState) => void;
  /** The leader or this member's role changed. */
  readonly onSoftState?: (softState: SoftState) => void;
  /** A snapshot from the leader replaced the state machine's backend: caches over it must be reloaded. */
  readonly onSnapshotInstalled?: (snapshot: SnapshotMeta) => void | Promise<void>;
  /** Runs the install of a snapshot (and onSnapshotInstalled) with the state machine's reads held off. */
  readonly whileReplacingState?: (install: () => Promise<void>) => Promise<void>;
  /** The loop stopped on an error: the member must stop (a crashed member is safe, a wrong one is not). */
  readonly onFatal: (error: Error) => void;
  /** Entries kept before the snapshot index when compacting (default storageLimits.snapshotCatchUpEntries). */
  readonly snapshotCatchUpEntries?: number;
  /** Longest time applied changes wait in memory for the next Ready (default storageLimits.stagedApplyFlushMs). */
  readonly stagedApplyFlushMs?: number;
  readonly maxStagedApplyBytes?: number;
  /** Longest time news of a commit index waits for an append to carry it (default serverLimits.commitNewsHoldMs). */
  readonly commitNewsHoldMs?: number;
}

/** A Ready that only moves the commit index: committed entries to apply, and followers to tell of them. */
function onlyCommitNews(ready: Ready): ready is Ready & { readonly messages: readonly AppendRequest[] } {
  return (
    ready.committedEntries.length > 0 &&
    ready.entries.length === 0 &&
    !ready.mustSync &&
    ready.snapshot === null &&
    ready.snapshotChunks.length === 0 &&
    ready.persistedMessages.length === 0 &&
    ready.messages.every((message) => message.type === 'append' && message.entries.length === 0)
  );
}

export class RaftLoop {
  private running = false;
  private stopped = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private flushDue = false;
  private snapshotTaking = false;
  private takenSnapshot: TakenSnapshot | null = null;
  private idle: Promise<void> = Promise.resolve();
  private readonly catchUpEntries: number;
  private readonly flushMs: number;
  private readonly maxStagedBytes: number;
  private readonly commitNews: CommitNewsHold;

  constructor(private readonly options: RaftLoopOptions) {
    this.catchUpEntries = options.snapshotCatchUpEntries ?? storageLimits.snapshotCatchUpEntries;
    this.flushMs = options.stagedApplyFlushMs ?? storageLimits.stagedApplyFlushMs;
    this.maxStagedBytes = options.maxStagedApplyBytes ?? storageLimits.maxStagedApplyBytes;
    this.commitNews = new CommitNewsHold(options.commitNewsHoldMs ?? serverLimits.commitNewsHoldMs, (news) => {
      if (!this.stopped) this.sendAll(news);
    });
  }

  /** Handles whatever the core has to do; call after every input to the core. */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.idle = this.run();
  }

  /**
   * Sends held news of the commit index now: another member waits on an entry just committed (it proposed it, and
   * answers its client when it applies it), so the news is on a client's path after all.
   */
  sendCommitNewsNow(): void {
    this.commitNews.releaseAll();
  }

  /** Stops handling Readies, writes what is staged, and resolves when the loop is idle. Does not close storage. */
  async stop(): Promise<void> {
    if (this.stopped) return this.idle;
    this.stopped = true;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.commitNews.clear();
    await this.idle;
    while (this.snapshotTaking) await new Promise((resolve) => setTimeout(resolve, 5));
    // A snapshot that finished meanwhile is recorded: its file is written, and the log can be compacted.
    if (this.takenSnapshot !== null) await this.recordTakenSnapshot(this.takenSnapshot).catch(() => {});
    await this.options.storage.flushApplied().catch(() => {});
  }

  private async run(): Promise<void> {
    const { node, storage } = this.options;
    try {
      for (;;) {
        if (this.takenSnapshot !== null) await this.recordTakenSnapshot(this.takenSnapshot);
        if (node.hasReady()) {
          await this.handle();
          // Checked after every Ready, not only when the loop goes idle: under sustained load it never does. Not
          // while a taken snapshot waits to be recorded (until then the storage still finds one due).
          if (this.takenSnapshot === null && storage.snapshotDue()) this.startSnapshot();
          continue;
        }
        if (this.flushDue || storage.backend.stagedByteCount >= this.maxStagedBytes) {
          this.flushDue = false;
          await storage.flushApplied();
          continue;
        }
        break;
      }
    } catch (error) {
      this.fail(error as Error);
      return;
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (storage.backend.hasStaged() && this.flushTimer === null) this.armFlushTimer();
    if (storage.snapshotDue()) this.startSnapshot();
  }

  /**
   * Bounds how long applied changes wait for a batch that syncs anyway. When such a batch carried the changes the
   * timer was armed for, nothing is forced: under a steady load the entries' own batches carry everything, and an
   * extra fsync would only stall the loop.
   */
  private armFlushTimer(): void {
    const { storage } = this.options;
    const stagedUpTo = storage.backend.appliedIndex;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (storage.backend.durableRecord.appliedIndex >= stagedUpTo) {
        if (storage.backend.hasStaged() && !this.stopped) this.armFlushTimer();
        return;
      }
      this.flushDue = true;
      this.kick();
    }, this.flushMs);
  }

  private async handle(): Promise<void> {
    const { node, storage } = this.options;
    const ready = node.ready();
    if (ready.softState !== null) this.options.onSoftState?.(ready.softState);
    if (onlyCommitNews(ready)) {
      // Nothing to write and nothing a peer waits on. The committed entries' proposers are answered first (only
      // the answers are on a client's path, and each socket write costs tens of microseconds here), and the news
      // is held until an append carries it or commitNewsHoldMs passes.
      this.commitNews.hold(ready.messages);
      await this.applyCommitted(ready.committedEntries);
      await storage.persist(ready);
      for (const readState of ready.readStates) this.options.onReadState?.(readState);
      node.advance();
      return;
    }
    this.sendAll(ready.messages);
    if (ready.snapshot !== null || ready.snapshotChunks.length > 0) {
      // An install replaces the state machine: nothing is applied until it is done, and nothing read meanwhile.
      const install = async (): Promise<void> => {
        await storage.persist(ready);
        if (ready.snapshot !== null) await this.options.onSnapshotInstalled?.(ready.snapshot);
      };
      const gate = ready.snapshot !== null ? this.options.whileReplacingState : undefined;
      await (gate === undefined ? install() : gate(install));
      this.sendAll(ready.persistedMessages);
      await this.applyCommitted(ready.committedEntries);
    } else {
      // Committed entries are already durable here, so they are applied while this Ready's entries are written
      // (as etcd does): the disk write and the apply overlap. A batch written meanwhile carries only whole entries.
      const persisted = storage.persist(ready);
      let applyError: unknown = null;
      await this.applyCommitted(ready.committedEntries).catch((error: unknown) => (applyError = error));
      await persisted;
      if (applyError !== null) throw applyError;
      this.sendAll(ready.persistedMessages);
    }
    for (const readState of ready.readStates) this.options.onReadState?.(readState);
    node.advance();
  }

  private async applyCommitted(entries: readonly Entry[]): Promise<void> {
    const { stateMachine } = this.options;
    const backend = this.options.storage.backend;
    for (const entry of entries) {
      if (entry.index <= backend.appliedIndex) continue;
      // The membership is part of the applied state, so that a snapshot carries the one of its index.
      if (entry.type === 'confChange') backend.setMembership(decodeConfChange(entry.data).config);
      const result = await stateMachine.apply(entry, backend);
      backend.setApplied(entry.index, entry.term);
      this.options.onApplied?.(entry, result);
    }
  }

  private sendAll(messages: readonly Message[]): void {
    this.commitNews.supersede(messages);
    for (const message of messages) this.send(message);
    if (messages.length > 0) this.options.flush?.();
  }

  private send(message: Message): void {
    if (message.type !== 'snapshot' || message.data.length === message.length) {
      this.options.send(message);
      return;
    }
    this.options.storage.readSnapshotChunk(message.snapshot, message.offset, message.length).then(
      (data) => this.options.send({ ...message, data }),
      // The snapshot was superseded meanwhile: the core resends from the newer one when the chunk goes unanswered.
      () => {},
    );
  }

  /** Writes a snapshot file in the background; the core learns of it between two Readies. */
  private startSnapshot(): void {
    if (this.snapshotTaking) return;
    this.snapshotTaking = true;
    this.options.storage.takeSnapshot().then(
      (taken) => {
        this.snapshotTaking = false;
        if (taken === null) return;
        this.takenSnapshot = taken;
        this.kick();
      },
      (error: unknown) => {
        this.snapshotTaking = false;
        this.fail(error as Error);
      },
    );
  }

  private async recordTakenSnapshot(taken: TakenSnapshot): Promise<void> {
    const { node, storage } = this.options;
    this.takenSnapshot = null;
    const meta = node.createSnapshot(taken.index, taken.sizeBytes);
    // The core holds a newer snapshot (one received meanwhile): this file is pruned later.
    if (meta.index !== taken.index) return;
    if (meta.term !== taken.term) throw new Error(`snapshot at ${taken.index} has term ${taken.term} in storage but ${meta.term} in the log`);
    await storage.recordSnapshot(meta, taken);
    // The core's log may start later than the stored one (after a restart it starts at the snapshot).
    const compactTo = index(meta.index - this.catchUpEntries);
    if (compactTo >= node.status().firstIndex) node.compactLog(compactTo);
    if (compactTo >= storage.firstIndex) await storage.compactLog(compactTo);
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.commitNews.clear();
    this.options.onFatal(error);
  }
}
