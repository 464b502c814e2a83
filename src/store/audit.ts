// The tamper-evident audit log: an append-only table (triggers refuse UPDATE, and DELETE of any
// row no archive segment holds: audit-archive.ts) whose rows are chained by SHA-256, with the
// chain head anchored in a checkpoint file beside the database so that cutting off the newest
// rows is detected too. Only the guard appends tool calls.
// Signed checkpoints sent off the machine (audit-key.ts, checkpoint-emitter.ts) hear of each commit
// through onAppend, and catch what the anchor cannot: a tail forged anew with the anchor rewritten.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Db } from './db.js';
import { canonicalJson, sha256 } from './canonical.js';
import { isBusy } from './busy.js';

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

/** `entries` counts every entry walked, archived ones included; `archived` those read from segments. */
export type VerifyResult =
  | { ok: true; entries: number; archived: ArchivedCount; warnings: string[] }
  | { ok: false; entries: number; archived: ArchivedCount; brokenAt: number; reason: string; warnings: string[] };

export interface ArchivedCount {
  entries: number;
  segments: number;
}

const COLUMNS = `seq, time, call_id AS callId, principal, transport, tool, target, args, args_hash AS argsHash,
  risk, decision, rule, approval_id AS approvalId, phase, dry_run AS dryRun, result, error_kind AS errorKind,
  duration_ms AS durationMs, incident_id AS incidentId, prev_hash AS prevHash, hash, target_id AS targetId`;

type Row = Omit<AuditEntry, 'dryRun' | 'targetId'> & { dryRun: number; targetId: string | null };

function fromRow(row: Row): AuditEntry {
  const { targetId, ...rest } = row;
  return { ...rest, dryRun: row.dryRun === 1, ...(targetId !== null ? { targetId } : {}) };
}

/** An entry as the table stores it: its own column names and values (archive segments hold these). */
export interface StoredAuditRow {
  seq: number; time: string; call_id: string; principal: string; transport: string; tool: string; target: string | null;
  args: string; args_hash: string; risk: string | null; decision: string | null; rule: string | null; approval_id: string | null;
  phase: AuditPhase; dry_run: number; result: string | null; error_kind: string | null; duration_ms: number | null;
  incident_id: string | null; prev_hash: string; hash: string; target_id: string | null;
}

/**
 * Each stored column and whether it may be null; every one is a string but these integers. Segment
 * files hold rows as `SELECT *` returns them and verify accepts exactly these keys: a column added to
 * the audit table must be added here, or its archives read as damaged.
 */
export const STORED_COLUMNS: Readonly<Record<keyof StoredAuditRow, { integer?: true; nullable?: true }>> = {
  seq: { integer: true }, time: {}, call_id: {}, principal: {}, transport: {}, tool: {}, target: { nullable: true },
  args: {}, args_hash: {}, risk: { nullable: true }, decision: { nullable: true }, rule: { nullable: true },
  approval_id: { nullable: true }, phase: {}, dry_run: { integer: true }, result: { nullable: true }, error_kind: { nullable: true },
  duration_ms: { integer: true, nullable: true }, incident_id: { nullable: true }, prev_hash: {}, hash: {}, target_id: { nullable: true },
};

export function entryFromStored(s: StoredAuditRow): AuditEntry {
  return fromRow({
    seq: s.seq, time: s.time, callId: s.call_id, principal: s.principal, transport: s.transport, tool: s.tool, target: s.target,
    args: s.args, argsHash: s.args_hash, risk: s.risk, decision: s.decision, rule: s.rule, approvalId: s.approval_id, phase: s.phase,
    dryRun: s.dry_run, result: s.result, errorKind: s.error_kind, durationMs: s.duration_ms, incidentId: s.incident_id,
    prevHash: s.prev_hash, hash: s.hash, targetId: s.target_id,
  });
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
  /** The last write that failed for a reason other than another process's lock, until a write succeeds: /healthz reports it. */
  private failedWrite: { at: string; error: string } | undefined;
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
    const entry = this.watched(() => this.db.transaction((): AuditEntry => {
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
      .immediate());
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
      result = this.watched(() => this.db.transaction(fn).immediate());
    } finally {
      this.batch = undefined;
    }
    if (batch.head) this.committed(batch.head, batch.count);
    return result;
  }

  /** Why the audit cannot be written now (database or disk full, read-only, I/O error), or undefined. */
  writeProblem(): { at: string; error: string } | undefined {
    return this.failedWrite;
  }

  /** A committed write to this database just worked (a health probe): the last failure is history. */
  writeRecovered(): void {
    this.failedWrite = undefined;
  }

  private watched<T>(write: () => T): T {
    try {
      const result = write();
      this.failedWrite = undefined;
      return result;
    } catch (err) {
      // Another process's lock is waited out elsewhere; anything else means the audit cannot be written.
      const code = (err as { code?: unknown } | null)?.code;
      if (!isBusy(err) && typeof code === 'string' && code.startsWith('SQLITE_')) this.failedWrite = { at: new Date().toISOString(), error: err instanceof Error ? err.message : String(err) };
      throw err;
    }
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

  /** A person's stop of this target that no start through warden followed (migration 18's triggers keep it, archive or not). */
  stopIntent(target: string): { principal: string; time: string } | undefined {
    return this.db.prepare('SELECT principal, time FROM stop_intents WHERE target = ?').get(target) as { principal: string; time: string } | undefined;
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
   * `archive`: walks the archived entries (audit-archive.ts) before the live table. Without it the
   * live table is taken to continue from the newest segment row unchecked, and a warning says so.
   */
  verify(opts: { requireAnchor?: boolean; checkpoint?: Checkpoint | null; kept?: Checkpoint[]; archive?: ArchiveCheck } = {}): VerifyResult {
    const warnings: string[] = [];
    const triggers = this.db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN (${APPEND_ONLY_TRIGGERS.map((t) => `'${t}'`).join(', ')})`)
      .all() as Array<{ name: string }>;
    if (triggers.length !== APPEND_ONLY_TRIGGERS.length) warnings.push('the append-only triggers on the audit table are missing');

    // Given when the caller read the anchor before taking its copy of a live database.
    const checkpoint = opts.checkpoint !== undefined ? opts.checkpoint : this.readCheckpoint();
    const walk = new ChainWalk(checkpoint, opts.kept ?? []);
    const archived = { entries: 0, segments: 0 };
    const broken = (b: ChainBreak): VerifyResult => ({ ok: false, entries: walk.entries, archived, ...b, warnings });
    if (opts.archive) {
      const r = opts.archive(walk);
      warnings.push(...r.warnings);
      Object.assign(archived, { entries: r.entries, segments: r.segments });
      if (r.broken) return broken(r.broken);
    } else {
      const newest = this.db.prepare('SELECT count(*) AS segments, sum(entries) AS entries, max(last_seq) AS seq FROM audit_archives').get() as
        { segments: number; entries: number | null; seq: number | null };
      if (newest.seq !== null) {
        const row = this.db.prepare('SELECT last_hash AS hash FROM audit_archives WHERE last_seq = ?').get(newest.seq) as { hash: string };
        walk.skipTo({ seq: newest.seq, hash: row.hash });
        Object.assign(archived, { entries: newest.entries ?? 0, segments: newest.segments });
        warnings.push(`${newest.entries ?? 0} archived entries in ${newest.segments} segments were not checked (warden audit verify checks them)`);
      }
    }
    for (const row of this.db.prepare(`SELECT ${COLUMNS} FROM audit ORDER BY seq`).iterate() as Iterable<Row>) {
      const b = walk.step(fromRow(row));
      if (b) return broken(b);
    }
    const end = walk.end();
    if (end) return broken(end);
    if (!checkpoint && walk.entries > 0 && this.checkpointPath) {
      const why = `no anchor file (${this.checkpointPath}): a cut-off tail cannot be detected`;
      if (opts.requireAnchor) return broken({ brokenAt: walk.entries + 1, reason: `${why}; pass --no-anchor if you know why it is missing` });
      warnings.push(why);
    }
    return { ok: true, entries: walk.entries, archived, warnings };
  }
}

/** The triggers that keep the audit append-only, and its archive rows with it. */
const APPEND_ONLY_TRIGGERS = ['audit_no_update', 'audit_no_delete', 'audit_archives_no_update', 'audit_archives_no_delete'];

export interface ChainBreak {
  brokenAt: number;
  reason: string;
}

/** What walking the archive segments found: `broken` stops the verification there. */
export interface ArchiveCheckResult {
  broken: ChainBreak | null;
  entries: number;
  segments: number;
  warnings: string[];
}

/** Walks every archived entry through `walk`, oldest first, leaving it at the newest archived entry. */
export type ArchiveCheck = (walk: ChainWalk) => ArchiveCheckResult;

/**
 * The chain as it is walked, entry by entry and from the first, across archive segments and
 * then the live table: each entry must follow the one before, hash to its hash, and agree with the
 * anchor and with every kept checkpoint that names it.
 */
export class ChainWalk {
  prevHash = GENESIS_HASH;
  nextSeq = 1;
  private readonly kept = new Map<number, string>();

  constructor(private readonly checkpoint: Checkpoint | null, kept: readonly Checkpoint[]) {
    for (const cp of kept) this.kept.set(cp.seq, cp.hash);
  }

  /** How many entries were walked (seq runs from 1 without gaps). */
  get entries(): number {
    return this.nextSeq - 1;
  }

  /** Null when `entry` continues the chain; else where and why it breaks. */
  step(entry: AuditEntry): ChainBreak | null {
    const at = (reason: string): ChainBreak => ({ brokenAt: entry.seq, reason });
    if (entry.seq !== this.nextSeq) return { brokenAt: this.nextSeq, reason: `entry ${this.nextSeq} is missing (next is ${entry.seq})` };
    if (entry.prevHash !== this.prevHash) return at(`entry ${entry.seq} does not follow entry ${entry.seq - 1} (prev_hash mismatch)`);
    const { hash, ...body } = entry;
    if (entryHash(body) !== hash) return at(`entry ${entry.seq} was altered (hash mismatch)`);
    if (this.checkpoint && entry.seq === this.checkpoint.seq && hash !== this.checkpoint.hash) return at(`entry ${entry.seq} differs from the checkpoint`);
    const keptHash = this.kept.get(entry.seq);
    if (keptHash !== undefined && hash !== keptHash) {
      return at(`entry ${entry.seq} differs from the signed checkpoint (hash ${hash.slice(0, 12)}..., the checkpoint says ${keptHash.slice(0, 12)}...): rewritten after the checkpoint was sent`);
    }
    this.prevHash = hash;
    this.nextSeq += 1;
    return null;
  }

  /** Takes `head` as walked, unchecked: entries archived that this verification does not read. */
  skipTo(head: Checkpoint): void {
    this.prevHash = head.hash;
    this.nextSeq = head.seq + 1;
  }

  /** After the newest entry: what the anchor or a kept checkpoint names beyond it is missing. */
  end(): ChainBreak | null {
    const last = this.entries;
    if (this.checkpoint && this.checkpoint.seq > last) {
      return { brokenAt: last + 1, reason: `entries ${last + 1}..${this.checkpoint.seq} are missing: the checkpoint names entry ${this.checkpoint.seq}` };
    }
    const newestKept = Math.max(0, ...this.kept.keys());
    if (newestKept > last) {
      return { brokenAt: last + 1, reason: `entries ${last + 1}..${newestKept} are missing: the signed checkpoint names entry ${newestKept}` };
    }
    return null;
  }
}
