// The tamper-evident audit log: an append-only table (triggers refuse UPDATE and DELETE) whose
// rows are chained by SHA-256, with the chain head anchored in a checkpoint file beside the
// database so that cutting off the newest rows is detected too. Only the guard appends tool calls.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

export type VerifyResult =
  | { ok: true; entries: number; warnings: string[] }
  | { ok: false; entries: number; brokenAt: number; reason: string; warnings: string[] };

const COLUMNS = `seq, time, call_id AS callId, principal, transport, tool, target, args, args_hash AS argsHash,
  risk, decision, rule, approval_id AS approvalId, phase, dry_run AS dryRun, result, error_kind AS errorKind,
  duration_ms AS durationMs, incident_id AS incidentId, prev_hash AS prevHash, hash`;

type Row = Omit<AuditEntry, 'dryRun'> & { dryRun: number };

function fromRow(row: Row): AuditEntry {
  return { ...row, dryRun: row.dryRun === 1 };
}

/** The hash covers every column but the hash itself, so any edit, move or removal shows. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { prevHash, ...body } = entry;
  return sha256(`${prevHash}\n${canonicalJson(body)}`);
}

export class AuditLog {
  private readonly insert;
  private readonly head;
  private readonly executedCount;

  constructor(private readonly db: Db, private readonly checkpointPath: string | null) {
    this.insert = db.prepare(`INSERT INTO audit (seq, time, call_id, principal, transport, tool, target, args, args_hash,
      risk, decision, rule, approval_id, phase, dry_run, result, error_kind, duration_ms, incident_id, prev_hash, hash)
      VALUES (@seq, @time, @callId, @principal, @transport, @tool, @target, @args, @argsHash, @risk, @decision, @rule,
      @approvalId, @phase, @dryRun, @result, @errorKind, @durationMs, @incidentId, @prevHash, @hash)`);
    this.head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.executedCount = db.prepare(`SELECT count(*) AS n FROM audit WHERE tool = @tool AND time >= @since
      AND phase IN ('completed', 'failed') AND dry_run = 0
      AND (@target IS NULL OR target = @target) AND (@principal IS NULL OR principal = @principal)`);
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
        this.insert.run({ ...full, dryRun: full.dryRun ? 1 : 0 });
        return full;
      })
      .immediate();
    this.writeCheckpoint({ seq: entry.seq, hash: entry.hash });
    return entry;
  }

  private writeCheckpoint(cp: Checkpoint): void {
    if (!this.checkpointPath) return;
    // rename is atomic: a crash leaves the old checkpoint or the new one, never half of one.
    const tmp = `${this.checkpointPath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(cp)}\n`);
    renameSync(tmp, this.checkpointPath);
  }

  readCheckpoint(): Checkpoint | null {
    if (!this.checkpointPath || !existsSync(this.checkpointPath)) return null;
    return JSON.parse(readFileSync(this.checkpointPath, 'utf8')) as Checkpoint;
  }

  list(opts: { limit?: number; afterSeq?: number; callId?: string } = {}): AuditEntry[] {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM audit WHERE seq > @after AND (@callId IS NULL OR call_id = @callId)
        ORDER BY seq DESC LIMIT @limit`)
      .all({ after: opts.afterSeq ?? 0, callId: opts.callId ?? null, limit: opts.limit ?? -1 }) as Row[];
    return rows.map(fromRow).reverse();
  }

  /** Calls of `tool` that actually ran since `since`, optionally for one target or principal. */
  countExecuted(tool: string, since: Date, key: { target?: string; principal?: string } = {}): number {
    const row = this.executedCount.get({
      tool,
      since: since.toISOString(),
      target: key.target ?? null,
      principal: key.principal ?? null,
    }) as { n: number };
    return row.n;
  }

  verify(): VerifyResult {
    const warnings: string[] = [];
    const triggers = this.db
      .prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name IN ('audit_no_update', 'audit_no_delete')`)
      .get() as { n: number };
    if (triggers.n !== 2) warnings.push('the append-only triggers on the audit table are missing');

    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let entries = 0;
    const checkpoint = this.readCheckpoint();
    const broken = (brokenAt: number, reason: string): VerifyResult => ({ ok: false, entries, brokenAt, reason, warnings });
    for (const row of this.db.prepare(`SELECT ${COLUMNS} FROM audit ORDER BY seq`).iterate() as Iterable<Row>) {
      const entry = fromRow(row);
      if (entry.seq !== expectedSeq) return broken(expectedSeq, `entry ${expectedSeq} is missing (next is ${entry.seq})`);
      if (entry.prevHash !== prevHash) return broken(entry.seq, `entry ${entry.seq} does not follow entry ${entry.seq - 1} (prev_hash mismatch)`);
      const { hash, ...body } = entry;
      if (entryHash(body) !== hash) return broken(entry.seq, `entry ${entry.seq} was altered (hash mismatch)`);
      if (checkpoint && entry.seq === checkpoint.seq && entry.hash !== checkpoint.hash) {
        return broken(entry.seq, `entry ${entry.seq} differs from the checkpoint`);
      }
      prevHash = hash;
      expectedSeq += 1;
      entries += 1;
    }
    if (checkpoint && checkpoint.seq > entries) {
      return broken(entries + 1, `entries ${entries + 1}..${checkpoint.seq} are missing: the checkpoint names entry ${checkpoint.seq}`);
    }
    if (!checkpoint && entries > 0 && this.checkpointPath) warnings.push('no checkpoint file: a cut-off tail cannot be detected');
    return { ok: true, entries, warnings };
  }
}
