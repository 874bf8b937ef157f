// The one place that opens LevelDB (through `level`, whose Node build is classic-level).

import { Level } from 'level';

export type Db = Level<Buffer, Buffer>;

/** A handle on the database at `path` (opened by `await db.open()`); keys and values are Buffers. */
export function database(path: string): Db {
  return new Level<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

/** LevelDB's own repair of damaged database files (classic-level's RepairDB), for `conclave repair`. */
export function repairDatabaseFiles(path: string): Promise<void> {
  return (Level as unknown as { repair(location: string): Promise<void> }).repair(path);
}
