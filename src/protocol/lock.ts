// The sequential-key and lock API's types. A sequential put creates `prefix` + a 20-digit zero-padded sequence
// number chosen by the cluster: the revision of the command that creates it, so sequence numbers under a prefix
// are strictly increasing (also across deletions and restarts) and equal to the key's create revision, with no
// counter kept per prefix. A lock (etcd's v3lock, ZooKeeper's sequential-node recipe) is a sequential waiter key
// under `name/` bound to a lease; the waiter with the lowest sequence holds it; its create revision is the
// fencing token.

export interface PutSequentialRequest {
  /** The key is this prefix followed by the sequence number (20 decimal digits). */
  readonly prefix: Uint8Array;
  readonly value: Uint8Array;
  /** Attach the key to this lease (0 or absent: none): the key is deleted when the lease ends. */
  readonly lease?: number;
  /**
   * If a key under the prefix is already attached to `lease`, answer it and create none: a retried lock or
   * campaign with the same lease finds its own waiter instead of queueing a second one (as etcd's lease-named
   * waiter keys do).
   */
  readonly onePerLease?: boolean;
}

export interface PutSequentialResponse {
  readonly key: Uint8Array;
  /** The key's create revision, which is also its sequence number. */
  readonly createRevision: number;
  /** False when onePerLease found the lease's key already there. */
  readonly created: boolean;
}

export interface LockRequest {
  /** The lock's name; its waiter keys are `name/<sequence>`. */
  readonly name: Uint8Array;
  /** The lease the waiter key is bound to (required, as in etcd): the lock is lost when the lease ends. */
  readonly lease: number;
  /** Give up after this long waiting (0 or absent: wait until acquired); the waiter key is then deleted. */
  readonly timeoutMs?: number;
}

export interface LockResponse {
  /** The waiter key that holds the lock: unlock with it. */
  readonly key: Uint8Array;
  /**
   * The fencing token: the key's create revision, strictly increasing across the holders of one name. A write
   * guarded by `compare create_revision(key) = fence` is refused once the lock has moved on.
   */
  readonly fence: number;
}

export interface UnlockRequest {
  readonly key: Uint8Array;
}

export type UnlockResponse = Record<string, never>;
