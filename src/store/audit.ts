// The tamper-evident audit log: an append-only table (triggers refuse UPDATE and DELETE) whose
// rows are chained by SHA-256, with the chain head anchored in a checkpoint file beside the
// database so that cutting off the newest rows is detected too. Only the guard appends tool calls.
// Signed checkpoints sent off the machine (audit-key.ts, checkpoint-emitter.ts) hear of each commit
// through onAppend, and catch what the anchor cannot: a tail forged anew with the anchor rewritten.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Db } from './db.js';
import { canonicalJson, sha256 } from './canonical.js';

export const AUDIT_PHASES = ['requested', 'completed', 'failed', 'denied', 'pending', 'approved', 'rejected', 'expired'] as const;
export type AuditPhase = (typeof AUDIT_PHASES)[number];

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  callId: string;
  principal: string;
  transport: string;
  tool: string;
  target?: string | null;
  /** The full ID of what the target names (a container), whatever spelling the caller used. */
  targetId?: string | null;
  /** Already redacted. */
  args: unknown;
  argsHash: string;
  risk?: string | null;
  decision?: string | null;
  rule?: string | null;
  approvalId?: string | null;
  phase: AuditPhase;
  dryRun?: boolean;
  /** A short, redacted summary of the outcome. */
  result?: string | null;
  errorKind?: string | null;
  durationMs?: number | null;
  incidentId?: string | null;
}

export interface AuditEntry {
  seq: number;
  time: string;
  callId: string;
  principal: string;
  transport: string;
  tool: string;
  target: string | null;
  /** Present only when known, so entries written before the column existed hash as they did. */
  targetId?: string;
  args: string;
  argsHash: string;
  risk: string | null;
  decision: string | null;
  rule: string | null;
  approvalId: string | null;
  phase: AuditPhase;
  dryRun: boolean;
  result: string | null;
  errorKind: string | null;
  durationMs: number | null;
  incidentId: string | null;
  prevHash: string;
  hash: string;
}

export interface Checkpoint {
  seq: number;
  hash: string;
}

/** Told of entries once they are committed: `head` the newest, `count` how many were added. Must not throw. */
export type AppendListener = (head: Checkpoint, count: number) => void;

export type VerifyResult =
  | { ok: true; entries: number; warnings: string[] }
  | { ok: false; entries: number; brokenAt: number; reason: string; warnings: string[] };

const COLUMNS = `seq, time, call_id AS callId, principal, transport, tool, target, args, args_hash AS argsHash,
  risk, decision, rule, approval_id AS approvalId, phase, dry_run AS dryRun, result, error_kind AS errorKind,
  duration_ms AS durationMs, incident_id AS incidentId, prev_hash AS prevHash, hash, target_id AS targetId`;

type Row = Omit<AuditEntry, 'dryRun' | 'targetId'> & { dryRun: number; targetId: string | null };

function fromRow(row: Row): AuditEntry {
  const { targetId, ...rest } = row;
  return { ...rest, dryRun: row.dryRun === 1, ...(targetId !== null ? { targetId } : {}) };
}

/** The hash covers every column but the hash itself, so any edit, move or removal shows. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { prevHash, ...body } = entry;
  return sha256(`${prevHash}\n${canonicalJson(body)}`);
}

const SLOT_BYTES = 128;

/** `seq hash check`, padded to a fixed width; check covers seq and hash so a torn slot is ignored. */
function encodeSlot(cp: Checkpoint): string {
  return `${cp.seq} ${cp.hash} ${sha256(`${cp.seq} ${cp.hash}`).slice(0, 16)}`.padEnd(SLOT_BYTES - 1) + '\n';
}

/** The newest intact slot of a checkpoint file. */
export function decodeCheckpoint(text: string): Checkpoint | null {
  let best: Checkpoint | null = null;
  // A slot never written yet reads as NULs: they separate slots like newlines do.
  for (const line of text.split(/[\n\0]+/)) {
    const [seqText, hash, check] = line.trim().split(' ');
    const seq = Number(seqText);
    if (!Number.isInteger(seq) || !hash || check !== sha256(`${seq} ${hash}`).slice(0, 16)) continue;
    if (!best || seq > best.seq) best = { seq, hash };
  }
  return best;
}

export class AuditLog {
  private readonly insert;
  private readonly head;
  private readonly executedCount;
  private checkpointFd: number | undefined;
  /** Set while `atomically` runs: its appends reach the anchor and the listeners at its commit. */
  private batch: { head: Checkpoint | undefined; count: number } | undefined;
  private readonly appendListeners = new Set<AppendListener>();

  constructor(private readonly db: Db, private readonly checkpointPath: string | null) {
    this.insert = db.prepare(`INSERT INTO audit (seq, time, call_id, principal, transport, tool, target, target_id, args, args_hash,
      risk, decision, rule, approval_id, phase, dry_run, result, error_kind, duration_ms, incident_id, prev_hash, hash)
      VALUES (@seq, @time, @callId, @principal, @transport, @tool, @target, @targetId, @args, @argsHash, @risk, @decision, @rule,
      @approvalId, @phase, @dryRun, @result, @errorKind, @durationMs, @incidentId, @prevHash, @hash)`);
    this.head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    // Three shapes so each uses its partial index (migration 11) instead of a scan. A call counts
    // from its 'requested' entry, so calls still running count too: eight restarts sent at once
    // cannot all slip under a limit of two.
    const ran = `phase = 'requested' AND dry_run = 0 AND time >= @since AND tool IN (SELECT value FROM json_each(@tools))`;
    this.executedCount = {
      // A limit only needs to know whether its max was reached: stop counting there.
      target: db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM audit WHERE target = @target AND ${ran} LIMIT @cap)`),
      principal: db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM audit WHERE principal = @principal AND ${ran} LIMIT @cap)`),
      overall: db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM audit WHERE ${ran} LIMIT @cap)`),
    };
  }

  /**
   * Appends one entry and commits it before returning. BEGIN IMMEDIATE serialises writers across
   * processes (the stdio server, the daemon and the CLI share one database), so the chain never forks.
   */
  append(input: AuditInput): AuditEntry {
    const entry = this.db
      .transaction((): AuditEntry => {
        const last = this.head.get() as Checkpoint | undefined;
        const body: Omit<AuditEntry, 'hash'> = {
          seq: (last?.seq ?? 0) + 1,
          time: new Date().toISOString(),
          callId: input.callId,
          principal: input.principal,
          transport: input.transport,
          tool: input.tool,
          target: input.target ?? null,
          ...(input.targetId ? { targetId: input.targetId } : {}),
          args: canonicalJson(input.args ?? {}),
          argsHash: input.argsHash,
          risk: input.risk ?? null,
          decision: input.decision ?? null,
          rule: input.rule ?? null,
          approvalId: input.approvalId ?? null,
          phase: input.phase,
          dryRun: input.dryRun ?? false,
          result: input.result ?? null,
          errorKind: input.errorKind ?? null,
          durationMs: input.durationMs ?? null,
          incidentId: input.incidentId ?? null,
          prevHash: last?.hash ?? GENESIS_HASH,
        };
        const full = { ...body, hash: entryHash(body) };
        this.insert.run({ ...full, targetId: full.targetId ?? null, dryRun: full.dryRun ? 1 : 0 });
        return full;
      })
      .immediate();
    // Inside `atomically` the anchor waits for the commit: an anchor naming an entry that was
    // rolled back would read as a cut-off tail.
    if (this.batch) {
      this.batch.head = { seq: entry.seq, hash: entry.hash };
      this.batch.count += 1;
    } else this.committed({ seq: entry.seq, hash: entry.hash }, 1);
    return entry;
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction: it takes the write lock first, so it either fails
   * before anything was written (the lock is busy: retry it whole) or commits every append in it.
   */
  atomically<T>(fn: () => T): T {
    if (this.batch) return fn();
    const batch: { head: Checkpoint | undefined; count: number } = { head: undefined, count: 0 };
    this.batch = batch;
    let result: T;
    try {
      result = this.db.transaction(fn).immediate();
    } finally {
      this.batch = undefined;
    }
    if (batch.head) this.committed(batch.head, batch.count);
    return result;
  }

  /** `listener` hears of every commit that added entries (the signed checkpoints count them); returns its removal. */
  onAppend(listener: AppendListener): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  private committed(head: Checkpoint, count: number): void {
    this.writeCheckpoint(head);
    for (const listener of this.appendListeners) listener(head, count);
  }

  private writeCheckpoint(cp: Checkpoint): void {
    if (!this.checkpointPath) return;
    // 0600 from its first write: the anchor says how far the audit goes, for no one else to read.
    this.checkpointFd ??= openSync(this.checkpointPath, existsSync(this.checkpointPath) ? 'r+' : 'w+', 0o600);
    // Two fixed slots, written in place by seq parity: a torn write spoils one slot, never both,
    // and no create-and-rename per entry (that cost more than the two SQLite commits of a call).
    writeSync(this.checkpointFd, encodeSlot(cp), (cp.seq % 2) * SLOT_BYTES, 'utf8');
  }

  readCheckpoint(): Checkpoint | null {
    if (!this.checkpointPath || !existsSync(this.checkpointPath)) return null;
    return decodeCheckpoint(readFileSync(this.checkpointPath, 'utf8'));
  }

  close(): void {
    if (this.checkpointFd !== undefined) closeSync(this.checkpointFd);
    this.checkpointFd = undefined;
  }

  list(opts: { limit?: number; afterSeq?: number; callId?: string } = {}): AuditEntry[] {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM audit WHERE seq > @after AND (@callId IS NULL OR call_id = @callId)
        ORDER BY seq DESC LIMIT @limit`)
      .all({ after: opts.afterSeq ?? 0, callId: opts.callId ?? null, limit: opts.limit ?? -1 }) as Row[];
    return rows.map(fromRow).reverse();
  }

  /** Every entry tagged with this incident, oldest first: the loop reads what it already did from here. */
  forIncident(incidentId: string): AuditEntry[] {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM audit WHERE incident_id = ? ORDER BY seq`).all(incidentId) as Row[];
    return rows.map(fromRow);
  }

  /**
   * Calls of these tools on `target` that started at or after `since`, newest first: who did what
   * to it (a stop, a start), when each began and, once it ended, how. Reads the 'requested'
   * entries through their partial index, then each call's outcome.
   */
  callsOn(target: string, tools: readonly string[], since: string): Array<{ tool: string; principal: string; time: string; outcome: AuditPhase | null; endedAt: string | null }> {
    return this.db.prepare(`SELECT r.tool, r.principal, r.time,
        (SELECT c.phase FROM audit c WHERE c.call_id = r.call_id AND c.phase IN ('completed', 'failed') LIMIT 1) AS outcome,
        (SELECT c.time FROM audit c WHERE c.call_id = r.call_id AND c.phase IN ('completed', 'failed') LIMIT 1) AS endedAt
      FROM audit r
      WHERE r.phase = 'requested' AND r.dry_run = 0 AND r.target = @target AND r.time >= @since AND r.tool IN (SELECT value FROM json_each(@tools))
      ORDER BY r.seq DESC LIMIT 50`).all({ target, since, tools: JSON.stringify(tools) }) as Array<{ tool: string; principal: string; time: string; outcome: AuditPhase | null; endedAt: string | null }>;
  }

  /** Calls of these tools that started (ran or are running) since `since`, for one target, one principal, or all; at most `cap`. */
  countExecuted(tools: readonly string[], since: Date, key: { target?: string; principal?: string } = {}, cap = -1): number {
    const stmt = key.target !== undefined ? this.executedCount.target : key.principal !== undefined ? this.executedCount.principal : this.executedCount.overall;
    const row = stmt.get({ tools: JSON.stringify(tools), since: since.toISOString(), cap, ...key }) as { n: number };
    return row.n;
  }

  /**
   * `requireAnchor`: a log with entries and no anchor file fails (a cut-off tail would pass
   * unseen); without it the missing anchor is a warning, for an operator who knows why it is gone.
   * `kept`: signed checkpoints received elsewhere (their signatures already checked), held to
   * like the anchor: the entry each names must exist and have its hash. They catch what the anchor
   * cannot, a tail cut and forged anew together with a rewritten anchor file.
   */
  verify(opts: { requireAnchor?: boolean; checkpoint?: Checkpoint | null; kept?: Checkpoint[] } = {}): VerifyResult {
    const warnings: string[] = [];
    const triggers = this.db
      .prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name IN ('audit_no_update', 'audit_no_delete')`)
      .get() as { n: number };
    if (triggers.n !== 2) warnings.push('the append-only triggers on the audit table are missing');

    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let entries = 0;
    // Given when the caller read the anchor before taking its copy of a live database.
    const checkpoint = opts.checkpoint !== undefined ? opts.checkpoint : this.readCheckpoint();
    const broken = (brokenAt: number, reason: string): VerifyResult => ({ ok: false, entries, brokenAt, reason, warnings });
    const kept = new Map<number, string>();
    for (const cp of opts.kept ?? []) kept.set(cp.seq, cp.hash);
    for (const row of this.db.prepare(`SELECT ${COLUMNS} FROM audit ORDER BY seq`).iterate() as Iterable<Row>) {
      const entry = fromRow(row);
      if (entry.seq !== expectedSeq) return broken(expectedSeq, `entry ${expectedSeq} is missing (next is ${entry.seq})`);
      if (entry.prevHash !== prevHash) return broken(entry.seq, `entry ${entry.seq} does not follow entry ${entry.seq - 1} (prev_hash mismatch)`);
      const { hash, ...body } = entry;
      if (entryHash(body) !== hash) return broken(entry.seq, `entry ${entry.seq} was altered (hash mismatch)`);
      if (checkpoint && entry.seq === checkpoint.seq && entry.hash !== checkpoint.hash) {
        return broken(entry.seq, `entry ${entry.seq} differs from the checkpoint`);
      }
      const keptHash = kept.get(entry.seq);
      if (keptHash !== undefined && entry.hash !== keptHash) {
        return broken(entry.seq, `entry ${entry.seq} differs from the signed checkpoint (hash ${entry.hash.slice(0, 12)}..., the checkpoint says ${keptHash.slice(0, 12)}...): rewritten after the checkpoint was sent`);
      }
      prevHash = hash;
      expectedSeq += 1;
      entries += 1;
    }
    if (checkpoint && checkpoint.seq > entries) {
      return broken(entries + 1, `entries ${entries + 1}..${checkpoint.seq} are missing: the checkpoint names entry ${checkpoint.seq}`);
    }
    const newestKept = Math.max(0, ...kept.keys());
    if (newestKept > entries) {
      return broken(entries + 1, `entries ${entries + 1}..${newestKept} are missing: the signed checkpoint names entry ${newestKept}`);
    }
    if (!checkpoint && entries > 0 && this.checkpointPath) {
      const why = `no anchor file (${this.checkpointPath}): a cut-off tail cannot be detected`;
      if (opts.requireAnchor) return broken(entries + 1, `${why}; pass --no-anchor if you know why it is missing`);
      warnings.push(why);
    }
    return { ok: true, entries, warnings };
  }
}
