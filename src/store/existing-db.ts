// A read-only look at a data dir's database for `warden status` and `warden doctor`: opened only
// when it is already there, never created, never migrated, never written.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { CommandError, errorMessage } from '../errors.js';
import { dbPath, type Db } from './db.js';
import { MIGRATIONS } from './migrations.js';

export interface ExistingDb {
  db: Db;
  /** PRAGMA user_version as found. */
  version: number;
  /** The version this warden migrates to. */
  expected: number;
}

/**
 * Undefined when there is no database yet. A read-only connection in WAL mode still leaves empty
 * -wal and -shm files beside the database (with its mode), as any reader does; it writes no row.
 */
export function openExistingDb(dataDir: string): ExistingDb | undefined {
  const path = dbPath(dataDir);
  if (!existsSync(path)) return undefined;
  let db: Db | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // A daemon checkpointing the WAL holds the lock briefly; a health report must not hang on it.
    db.pragma('busy_timeout = 2000');
    return { db, version: db.pragma('user_version', { simple: true }) as number, expected: MIGRATIONS.length };
  } catch (err) {
    db?.close();
    throw new CommandError(`cannot open ${path}: ${errorMessage(err)}`);
  }
}
