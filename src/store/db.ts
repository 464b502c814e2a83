// Opens <data-dir>/warden.db in WAL mode and brings its schema up to date. Migrations are
// versioned by PRAGMA user_version and each runs in its own transaction, so running twice is a no-op.
import Database from 'better-sqlite3';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, errorMessage } from '../errors.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export const DB_FILE = 'warden.db';

export function dbPath(dataDir: string): string {
  return join(dataDir, DB_FILE);
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(`data dir ${dir} is not writable (${code ?? errorMessage(err)}); pass --data-dir or set WARDEN_DATA_DIR`);
  }
}

export function openDb(dataDir: string): Db {
  ensureWritableDir(dataDir);
  let db: Db;
  try {
    db = new Database(dbPath(dataDir));
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw new CommandError(`cannot open ${dbPath(dataDir)}: ${errorMessage(err)}`);
  }
  migrate(db);
  return db;
}

export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new CommandError(`database schema version ${current} is newer than this warden (${MIGRATIONS.length}); upgrade warden`);
  }
  for (let v = current; v < MIGRATIONS.length; v += 1) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return MIGRATIONS.length;
}

/** Prepares each SQL text once per connection: hot paths (target lookups, alert storms) reuse it. */
export function statementCache(db: Db): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
}
