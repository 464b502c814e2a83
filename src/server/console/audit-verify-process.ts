// The process the console's "Verify now" runs in (adapters/isolated-child.ts forks it, one per
// verification): the whole chain walk, archive segments included, as `warden audit verify` makes it,
// on a connection of its own. Killed at its deadline, it never holds warden's event loop.
import Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { errorMessage } from '../../errors.js';
import { AuditLog, type Checkpoint } from '../../store/audit.js';
import { checkArchives } from '../../store/audit-archive.js';
import { readAuditKey } from '../../store/audit-key.js';
import { DB_FILE, dbPath } from '../../store/db.js';

export interface VerifyRequest {
  dataDir: string;
  /** The anchor as the parent read it before this process opened the database. */
  checkpoint: Checkpoint | null;
}

export type VerifyReply = { ok: true; result: import('../../store/audit.js').VerifyResult } | { ok: false; error: string };

function verify(req: VerifyRequest): VerifyReply {
  const warnings: string[] = [];
  let key: KeyObject | undefined;
  try {
    key = readAuditKey(req.dataDir) ?? undefined;
  } catch (err) {
    warnings.push(`${errorMessage(err)}: the archive segments' signatures are not checked`);
  }
  // Read-only and in place: the serving warden keeps the -wal and -shm files, so nothing is created.
  const db = new Database(dbPath(req.dataDir), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    // compose.ts's checkpointPath, spelled here so this process does not load the composition root.
    const audit = new AuditLog(db, join(req.dataDir, `${DB_FILE}.head`));
    // One read transaction: an archive pass moving entries out mid-walk must not read as a gap.
    const result = db.transaction(() => audit.verify({ checkpoint: req.checkpoint, archive: checkArchives(db, req.dataDir, key) }))();
    result.warnings.unshift(...warnings);
    return { ok: true, result };
  } finally {
    db.close();
  }
}

process.on('message', (req: VerifyRequest & { id: number }) => {
  let reply: VerifyReply;
  try {
    reply = verify(req);
  } catch (err) {
    reply = { ok: false, error: errorMessage(err) };
  }
  process.send!({ id: req.id, ...reply });
});
// The parent gone: nothing left to answer.
process.on('disconnect', () => process.exit(0));
