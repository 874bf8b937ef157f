// The one place that opens LevelDB (through `level`, whose Node build is classic-level).

import { Level } from 'level';
import { storageLimits } from '../limits.js';

export type Db = Level<Buffer, Buffer>;

/** A handle on the database at `path` (opened by `await db.open()`); keys and values are Buffers. */
export function database(path: string, maxOpenTableFiles: number = storageLimits.maxOpenTableFiles): Db {
  // maxOpenFiles is classic-level's name for LevelDB's table cache size (the Level type does not list it).
  const options = { keyEncoding: 'buffer', valueEncoding: 'buffer', maxOpenFiles: maxOpenTableFiles } as const;
  return new Level<Buffer, Buffer>(path, options);
}

/** LevelDB's own repair of damaged database files (classic-level's RepairDB), for `conclave repair`. */
export function repairDatabaseFiles(path: string): Promise<void> {
  return (Level as unknown as { repair(location: string): Promise<void> }).repair(path);
}
