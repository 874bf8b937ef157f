// Errors of the storage layer are values with stable codes, like the core's; the server maps each code once.

export type StorageErrorCode =
  /** A record, a file or the database is damaged; the member refuses to start rather than serve wrong data. */
  | 'ErrCorrupt'
  /** The data directory was written by an incompatible version of the storage format. */
  | 'ErrStorageFormat'
  /** The storage was closed, or a previous write failed and it no longer accepts writes. */
  | 'ErrStorageClosed'
  /** A snapshot that was asked for is not on disk (pruned, or never taken here). */
  | 'ErrSnapshotNotFound'
  /** An incoming snapshot is larger than maxSnapshotBytes. */
  | 'ErrSnapshotTooLarge'
  /** A backend key is larger than maxBackendKeyBytes. */
  | 'ErrKeyTooLarge';

/** Where damage is: the file (or database directory), the record in it, and what is wrong with it. */
export interface Damage {
  readonly where: string;
  readonly what: string;
  readonly why: string;
}

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    /** Set on ErrCorrupt raised by corrupt(). */
    readonly damage?: Damage,
  ) {
    super(`${code}: ${message}`);
    this.name = 'StorageError';
  }
}

/** A damaged record: names the file (or database directory) and the record, so that an operator knows what to repair. */
export function corrupt(where: string, what: string, why: string): StorageError {
  return new StorageError('ErrCorrupt', `${where}: ${what}: ${why}`, { where, what, why });
}
