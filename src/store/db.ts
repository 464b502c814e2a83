// Opens <data-dir>/warden.db in WAL mode and brings its schema up to date. Migrations are
// versioned by PRAGMA user_version and each runs in its own transaction, so running twice is a no-op.
import Database from 'better-sqlite3';
import { accessSync, closeSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, errorMessage } from '../errors.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export const DB_FILE = 'warden.db';
/** The audit signing key's file (audit-key.ts), checked for loose modes with the database's. */
export const AUDIT_KEY_FILE = 'audit.key';

export function dbPath(dataDir: string): string {
  return join(dataDir, DB_FILE);
}

function ensureWritableDir(dir: string): void {
  try {
    // 0700: the data dir holds the audit, approvals, token hashes and raw alert payloads.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(`data dir ${dir} is not writable (${code ?? errorMessage(err)}); pass --data-dir or set WARDEN_DATA_DIR`);
  }
}

/**
 * What in the data dir others may read or change: the dir looser than 0700, a file looser than
 * 0600. Reported at start, never changed behind the operator's back.
 */
export function looseModes(dataDir: string): string[] {
  const loose: string[] = [];
  const check = (path: string, max: number): void => {
    try {
      const mode = statSync(path).mode & 0o777;
      if (mode & ~max) loose.push(`${path} is ${mode.toString(8).padStart(4, '0')}, expected ${max.toString(8).padStart(4, '0')} or stricter`);
    } catch {
      // Not there (yet): nothing to report.
    }
  };
  check(dataDir, 0o700);
  for (const f of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, `${DB_FILE}.head`, AUDIT_KEY_FILE]) check(join(dataDir, f), 0o600);
  return loose;
}

/**
 * `busyTimeoutMs`: how long one statement may wait for another process's write lock, blocking
 * the whole process meanwhile. Commands keep the default; a server passes a short one and waits
 * for the lock asynchronously (busy.ts). Migrations always get the long wait: nothing is served yet.
 */
export function openDb(dataDir: string, opts: { busyTimeoutMs?: number } = {}): Db {
  ensureWritableDir(dataDir);
  let db: Db;
  try {
    // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the same mode.
    closeSync(openSync(dbPath(dataDir), 'a', 0o600));
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
  if (opts.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs))}`);
  return db;
}

/**
 * A read-only look at a data dir, for `warden audit verify` on a forensic copy: SQLite would
 * create -wal and -shm files beside a WAL database even to read it, so the database (and its WAL,
 * when there is one) is copied to a temp dir and read there. Nothing in `dataDir` is written.
 */
export function openDbReadOnly(dataDir: string): { db: Db; close(): void } {
  const scratch = mkdtempSync(join(tmpdir(), 'warden-verify-'));
  try {
    for (const suffix of ['', '-wal']) {
      const from = `${dbPath(dataDir)}${suffix}`;
      if (suffix === '' || existsSync(from)) copyFileSync(from, join(scratch, `${DB_FILE}${suffix}`));
    }
    const db = new Database(join(scratch, DB_FILE), { readonly: true, fileMustExist: true });
    return { db, close: () => { db.close(); rmSync(scratch, { recursive: true, force: true }); } };
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw new CommandError(`cannot read ${dbPath(dataDir)}: ${errorMessage(err)}`);
  }
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
