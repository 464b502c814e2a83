// Configuration changes: one row per change (nginx_set_upstream, update_container_resources, a
// verified reload_nginx), moving applying -> verifying -> verified | rolling_back -> rolled_back |
// rollback_failed. The before and after states are files under the data dir named by their
// SHA-256, never in the audit (an nginx config can hold credentials). A row is written before each
// step that touches the target, so a crash leaves a row that says what to check or undo.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ToolFailure } from '../errors.js';
import { whenFree } from './busy.js';
import type { Db } from './db.js';
import { CHANGE_STATUSES, type ChangeStatus } from '../shared/change-statuses.js';

export { CHANGE_STATUSES, type ChangeStatus };

/** A change in one of these is not finished: a process is working on it, or crashed while it did. */
export const OPEN_STATUSES: readonly ChangeStatus[] = ['applying', 'verifying', 'rolling_back'];
/** The same, as SQL: written out (not bound) so the partial index changes_open of migration 13 applies. */
const OPEN_SQL = `status IN (${OPEN_STATUSES.map((st) => `'${st}'`).join(', ')})`;

export interface ChangeRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  /** The call that made the change; its audit entries carry the same id. */
  callId: string;
  principal: string;
  incidentId: string | null;
  target: string;
  service: string | null;
  kind: string;
  status: ChangeStatus;
  summary: string;
  beforeRef: string;
  afterRef: string | null;
  /** What the kind needs to verify or undo the change without the call's input. */
  plan: unknown;
  validation: string | null;
  verification: string | null;
  rollback: string | null;
  /** The process working on it: `hostname:pid:instance[:boot]`, the instance unique per process start (a restarted container reuses pid 1), the boot id's start where Linux has one. */
  owner: string;
  /** Bumped by every write: a claim compares it, so two processes never both take the same change. */
  version: number;
  /** Every call that acted on this change: the one that made it, and any rollback_change. */
  calls: string[];
  /** What recovery asked and said, kept across processes: the approval it waits on, when it escalated. */
  recovery: RecoveryState;
}

export interface RecoveryState {
  approvalId?: string;
  escalatedAt?: string;
}

export type NewChange = Pick<ChangeRecord, 'callId' | 'principal' | 'incidentId' | 'target' | 'service' | 'kind' | 'summary' | 'beforeRef' | 'plan'>;

export type ChangePatch = Partial<Pick<ChangeRecord, 'status' | 'afterRef' | 'validation' | 'verification' | 'rollback' | 'summary'>> & {
  call?: string;
  /**
   * A claim: this process takes the change over, only if nobody wrote it since it was read at this
   * version. Without it, only the change's owner may write it.
   */
  ifVersion?: number;
};

/** The store as a tool sees it (ToolContext.changes): the steps of its own change, and the states it saved. */
export interface ChangeJournal {
  /** Saves a state; returns its reference. Idempotent: the same bytes give the same reference. */
  save(content: Buffer): string;
  load(ref: string): Buffer;
  /** Opens a change; refused (target_failed) while another change on the same target is open. */
  begin(change: NewChange): Promise<ChangeRecord>;
  update(id: string, patch: ChangePatch): Promise<ChangeRecord>;
  get(id: string): ChangeRecord | undefined;
  /** The newest change of these kinds on `target`, made for `service`, that ended verified. */
  lastVerified(target: string, kinds: readonly string[], service: string): ChangeRecord | undefined;
  /** Changes on the same target made after this one that are still in effect or under way. */
  laterOnTarget(change: ChangeRecord): ChangeRecord[];
  /** Whether an open change's owner is gone (crashed, restarted, or silent for longer than any change takes). */
  abandoned(change: ChangeRecord): boolean;
}

interface ChangeRow {
  id: string; created_at: string; updated_at: string; call_id: string; principal: string; incident_id: string | null; target: string;
  service: string | null; kind: string; status: ChangeStatus; summary: string; before_ref: string; after_ref: string | null; plan: string;
  validation: string | null; verification: string | null; rollback: string | null; owner: string; version: number; calls: string; recovery: string | null;
}

const toRecord = (r: ChangeRow): ChangeRecord => ({
  id: r.id, createdAt: r.created_at, updatedAt: r.updated_at, callId: r.call_id, principal: r.principal, incidentId: r.incident_id,
  target: r.target, service: r.service, kind: r.kind, status: r.status, summary: r.summary, beforeRef: r.before_ref, afterRef: r.after_ref,
  plan: JSON.parse(r.plan) as unknown, validation: r.validation, verification: r.verification, rollback: r.rollback, owner: r.owner, version: r.version,
  calls: JSON.parse(r.calls) as string[], recovery: r.recovery ? (JSON.parse(r.recovery) as RecoveryState) : {},
});

/** A row write waits this long for another process's lock: the target was already touched, so the row must land. */
const WRITE_WAIT_MS = 60_000;
const REF = /^[0-9a-f]{64}$/;
/** This process, as a change's owner. */
const HOST = hostname();

/** This machine's boot, so a change left by a process of an earlier boot is known orphaned at once (pids repeat after a reboot). */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 16);
  } catch {
    return '';
  }
}
const BOOT = bootId();
const OWNER = `${HOST}:${process.pid}:${randomBytes(6).toString('hex')}${BOOT ? `:${BOOT}` : ''}`;
/** An open change untouched this long is orphaned even if a process with its pid lives (pids are reused). */
const STALE_MS = 30 * 60_000;

/** A write refused because another process claimed the change first: not a failure of the target. */
export class ChangeTaken extends ToolFailure {
  constructor(message: string) {
    super('target_failed', message);
  }
}

export class ChangeStore implements ChangeJournal {
  private readonly blobDir: string;

  /** `onRollbackFailed`: told once per change that ended with its rollback failed (a target left broken); must not throw. */
  constructor(private readonly db: Db, dataDir: string, private readonly onRollbackFailed?: (change: ChangeRecord) => void) {
    this.blobDir = join(dataDir, 'changes');
  }

  save(content: Buffer): string {
    const ref = createHash('sha256').update(content).digest('hex');
    const path = join(this.blobDir, ref);
    // A file already there under this name is trusted only if it still holds these bytes.
    if (existsSync(path) && createHash('sha256').update(readFileSync(path)).digest('hex') === ref) return ref;
    mkdirSync(this.blobDir, { recursive: true, mode: 0o700 });
    // Written whole under another name first: a crash never leaves a truncated state under its hash.
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, content, { mode: 0o600 });
    renameSync(tmp, path);
    return ref;
  }

  load(ref: string): Buffer {
    if (!REF.test(ref)) throw new ToolFailure('internal', `not a state reference: ${ref}`);
    const content = readFileSync(join(this.blobDir, ref));
    if (createHash('sha256').update(content).digest('hex') !== ref) {
      throw new ToolFailure('target_failed', `the saved state ${ref.slice(0, 12)} under the data dir was altered; it cannot be restored`);
    }
    return content;
  }

  begin(change: NewChange): Promise<ChangeRecord> {
    return whenFree(() => this.db.transaction(() => {
      const open = this.db.prepare(`SELECT id, status FROM changes WHERE target = ? AND ${OPEN_SQL} LIMIT 1`)
        .get(change.target) as { id: string; status: string } | undefined;
      if (open) {
        throw new ToolFailure('target_failed', `change ${open.id} on ${change.target} is still ${open.status.replace('_', ' ')}: one change at a time per target; wait for it, or see warden changes show ${open.id}`);
      }
      const now = new Date().toISOString();
      const id = `chg_${randomBytes(8).toString('hex')}`;
      this.db.prepare(`INSERT INTO changes (id, created_at, updated_at, call_id, principal, incident_id, target, service, kind, status, summary, before_ref, plan, owner, calls)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'applying', ?, ?, ?, ?, ?)`)
        .run(id, now, now, change.callId, change.principal, change.incidentId, change.target, change.service, change.kind, change.summary,
          change.beforeRef, JSON.stringify(change.plan), OWNER, JSON.stringify([change.callId]));
      return this.require(id);
    }).immediate(), { waitMs: WRITE_WAIT_MS });
  }

  async update(id: string, patch: ChangePatch): Promise<ChangeRecord> {
    const before = this.get(id)?.status;
    const after = await this.write(id, patch);
    if (after.status === 'rollback_failed' && before !== 'rollback_failed') this.onRollbackFailed?.(after);
    return after;
  }

  private write(id: string, patch: ChangePatch): Promise<ChangeRecord> {
    return whenFree(() => this.db.transaction(() => {
      const cur = this.require(id);
      if (patch.ifVersion !== undefined ? cur.version !== patch.ifVersion : cur.owner !== OWNER) {
        throw new ChangeTaken(`change ${id} was taken over by another warden process (${cur.owner}) meanwhile; see warden changes show ${id}`);
      }
      const calls = patch.call && !cur.calls.includes(patch.call) ? [...cur.calls, patch.call] : cur.calls;
      this.db.prepare(`UPDATE changes SET updated_at = ?, status = ?, after_ref = ?, validation = ?, verification = ?, rollback = ?, summary = ?, owner = ?, calls = ?, version = version + 1 WHERE id = ?`)
        .run(new Date().toISOString(), patch.status ?? cur.status, patch.afterRef ?? cur.afterRef, patch.validation ?? cur.validation,
          patch.verification ?? cur.verification, patch.rollback ?? cur.rollback, patch.summary ?? cur.summary, OWNER, JSON.stringify(calls), id);
      return this.require(id);
    }).immediate(), { waitMs: WRITE_WAIT_MS });
  }

  get(id: string): ChangeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM changes WHERE id = ?').get(id) as ChangeRow | undefined;
    return row && toRecord(row);
  }

  lastVerified(target: string, kinds: readonly string[], service: string): ChangeRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM changes WHERE target = ? AND service = ? AND status = 'verified' AND kind IN (SELECT value FROM json_each(?))
      ORDER BY updated_at DESC, rowid DESC LIMIT 1`).get(target, service, JSON.stringify(kinds)) as ChangeRow | undefined;
    return row && toRecord(row);
  }

  laterOnTarget(change: ChangeRecord): ChangeRecord[] {
    return (this.db.prepare(`SELECT * FROM changes WHERE target = ? AND id != ? AND (created_at > ? OR (created_at = ? AND rowid > (SELECT rowid FROM changes WHERE id = ?)))
      AND status NOT IN ('rejected', 'rolled_back') ORDER BY created_at`).all(change.target, change.id, change.createdAt, change.createdAt, change.id) as ChangeRow[]).map(toRecord);
  }

  abandoned(c: ChangeRecord, alive: (pid: number) => boolean = pidAlive, now = Date.now()): boolean {
    if (!OPEN_STATUSES.includes(c.status) || c.owner === OWNER) return false;
    if (now - Date.parse(c.updatedAt) > STALE_MS) return true;
    const [host, pidText, , boot] = c.owner.split(':');
    // Another machine's (or container's) process: its pids mean nothing here; only silence counts.
    if (host !== HOST) return false;
    // A process of an earlier boot of this machine is gone, whatever now runs under its pid.
    if (boot && BOOT && boot !== BOOT) return true;
    const pid = Number(pidText);
    return pid === process.pid || !alive(pid);
  }

  /**
   * Recovery's own notes on an open change, shared by every process that recovers (each stdio start
   * does): merged, without touching the change's version, so they never count as a claim.
   */
  noteRecovery(id: string, note: RecoveryState): Promise<void> {
    return whenFree(() => {
      this.db.prepare(`UPDATE changes SET recovery = json_patch(COALESCE(recovery, '{}'), ?) WHERE id = ?`).run(JSON.stringify(note), id);
    }, { waitMs: WRITE_WAIT_MS });
  }

  /**
   * Newest first. Only the filters given are in the statement: `(@x IS NULL OR col = @x)` would keep
   * the planner off changes_incident and walk the journal from its newest change to its oldest.
   */
  list(opts: { limit: number; status?: ChangeStatus; target?: string; incidentId?: string }): ChangeRecord[] {
    const where: string[] = [];
    const values: Record<string, unknown> = { limit: opts.limit };
    for (const [key, sql] of [['status', 'status = @status'], ['target', 'target = @target'], ['incidentId', 'incident_id = @incidentId']] as const) {
      if (opts[key] === undefined) continue;
      where.push(sql);
      values[key] = opts[key];
    }
    return (this.db.prepare(`SELECT * FROM changes ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, rowid DESC LIMIT @limit`).all(values) as ChangeRow[]).map(toRecord);
  }

  /**
   * Open changes no live process is working on: their owner exited (a crash, a SIGKILL between
   * apply and verify), or is an earlier start of a process with the same pid, or has not touched
   * the change for longer than any change may take.
   */
  orphans(alive: (pid: number) => boolean = pidAlive, now = Date.now()): ChangeRecord[] {
    return (this.db.prepare(`SELECT * FROM changes WHERE ${OPEN_SQL} ORDER BY created_at`).all() as ChangeRow[])
      .map(toRecord)
      .filter((c) => this.abandoned(c, alive, now));
  }

  private require(id: string): ChangeRecord {
    const found = this.get(id);
    if (!found) throw new ToolFailure('invalid_input', `no change "${id}"; warden changes list shows them`);
    return found;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
