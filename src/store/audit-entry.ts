// What one audit entry is: its fields, its stored row, and the hash that chains it to the one
// before. Pure: no database, no files (audit.ts writes entries, audit-chain.ts walks them).
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
  /** The W3C traceparent of the request, already validated (trace-context.ts). */
  traceparent?: string | null;
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
  /** Present only when the request carried one, so entries without it hash as they did before the column. */
  traceparent?: string;
  prevHash: string;
  hash: string;
}

export interface Checkpoint {
  seq: number;
  hash: string;
}

export const COLUMNS = `seq, time, call_id AS callId, principal, transport, tool, target, args, args_hash AS argsHash,
  risk, decision, rule, approval_id AS approvalId, phase, dry_run AS dryRun, result, error_kind AS errorKind,
  duration_ms AS durationMs, incident_id AS incidentId, prev_hash AS prevHash, hash, target_id AS targetId, traceparent`;

export type Row = Omit<AuditEntry, 'dryRun' | 'targetId' | 'traceparent'> & { dryRun: number; targetId: string | null; traceparent: string | null };

export function fromRow(row: Row): AuditEntry {
  const { targetId, traceparent, ...rest } = row;
  return { ...rest, dryRun: row.dryRun === 1, ...(targetId !== null ? { targetId } : {}), ...(traceparent !== null ? { traceparent } : {}) };
}

/** An entry as the table stores it: its own column names and values (archive segments hold these). */
export interface StoredAuditRow {
  seq: number; time: string; call_id: string; principal: string; transport: string; tool: string; target: string | null;
  args: string; args_hash: string; risk: string | null; decision: string | null; rule: string | null; approval_id: string | null;
  phase: AuditPhase; dry_run: number; result: string | null; error_kind: string | null; duration_ms: number | null;
  incident_id: string | null; prev_hash: string; hash: string; target_id: string | null;
  /** Absent from segments archived before migration 21 added the column. */
  traceparent?: string | null;
}

/**
 * Each stored column and whether it may be null; every one is a string but these integers. Segment
 * files hold rows as `SELECT *` returns them and verify accepts exactly these keys: a column added to
 * the audit table must be added here, or its archives read as damaged.
 */
export const STORED_COLUMNS: Readonly<Record<keyof StoredAuditRow, { integer?: true; nullable?: true; addedLater?: true }>> = {
  seq: { integer: true }, time: {}, call_id: {}, principal: {}, transport: {}, tool: {}, target: { nullable: true },
  args: {}, args_hash: {}, risk: { nullable: true }, decision: { nullable: true }, rule: { nullable: true },
  approval_id: { nullable: true }, phase: {}, dry_run: { integer: true }, result: { nullable: true }, error_kind: { nullable: true },
  duration_ms: { integer: true, nullable: true }, incident_id: { nullable: true }, prev_hash: {}, hash: {}, target_id: { nullable: true },
  // addedLater: a column segments archived before it existed lack: such a row reads it as null.
  traceparent: { nullable: true, addedLater: true },
};

export function entryFromStored(s: StoredAuditRow): AuditEntry {
  return fromRow({
    seq: s.seq, time: s.time, callId: s.call_id, principal: s.principal, transport: s.transport, tool: s.tool, target: s.target,
    args: s.args, argsHash: s.args_hash, risk: s.risk, decision: s.decision, rule: s.rule, approvalId: s.approval_id, phase: s.phase,
    dryRun: s.dry_run, result: s.result, errorKind: s.error_kind, durationMs: s.duration_ms, incidentId: s.incident_id,
    prevHash: s.prev_hash, hash: s.hash, targetId: s.target_id, traceparent: s.traceparent ?? null,
  });
}

/** The hash covers every column but the hash itself, so any edit, move or removal shows. */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { prevHash, ...body } = entry;
  return sha256(`${prevHash}\n${canonicalJson(body)}`);
}

/** The entry `input` becomes when it follows `prev` (null: the first entry ever). */
export function chainedEntry(input: AuditInput, prev: Checkpoint | null, time: string): AuditEntry {
  const body: Omit<AuditEntry, 'hash'> = {
    seq: (prev?.seq ?? 0) + 1,
    time,
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
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    prevHash: prev?.hash ?? GENESIS_HASH,
  };
  return { ...body, hash: entryHash(body) };
}
