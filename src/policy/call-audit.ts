// How the guard writes a call's audit entries: at once inside the admission's transaction (a
// 'requested' entry, a refusal), or batched with the entries of overlapping calls (outcomes, and
// a read's one entry). Only the guard uses it; nothing here decides whether a call may run.
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditInput, AuditLog } from '../store/audit.js';
import { DatabaseBusy } from '../store/busy.js';
import type { AnyToolSpec } from '../tools/spec.js';
import type { Caller, PreparedCall, ReadyCall } from './call.js';

/** How long admitting a call (its decision and 'requested' entry) waits for another process's write lock. */
export const ADMIT_WAIT_MS = 2_000;
/** How long an outcome entry waits for the lock: the call already ran, so its entry must land. */
const RECORD_WAIT_MS = 10 * 60_000;
/** What stands for a read's arguments in its "output withheld" entry when its own entry could not be written. */
const WITHHELD_ARGS = { omitted: 'its first audit entry could not be written; argsHash names the arguments' };

/** A database that cannot take writes, in words for the caller; undefined for anything else. */
export function databaseFailure(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  if (code.startsWith('SQLITE_FULL')) return 'the database or its disk is full';
  if (code.startsWith('SQLITE_READONLY')) return 'the database is read-only';
  if (code.startsWith('SQLITE_IOERR')) return 'an I/O error on the database';
  return 'the database failed';
}

/** Who calls, as each entry of the call names them (an unknown tool's too): one list, so a column added later reaches them all. */
export function callerFields(callId: string, caller: Caller): Pick<AuditInput, 'callId' | 'principal' | 'transport' | 'incidentId' | 'traceparent'> {
  return { callId, principal: caller.principal, transport: caller.transport, incidentId: caller.incidentId ?? null, traceparent: caller.traceparent ?? null };
}

/** A validated call's request, before any decision: every entry of it starts from this. */
export function entryBase(callId: string, caller: Caller, spec: AnyToolSpec, ready: ReadyCall): Omit<AuditInput, 'phase'> {
  return {
    ...callerFields(callId, caller), tool: spec.name, target: ready.target, targetId: ready.targetId ?? null,
    args: ready.redactedArgs, argsHash: ready.argsHash, risk: ready.risk,
  };
}

export interface CallAuditDeps {
  audit: AuditLog;
  log: Logger;
  /** Told of each call's last audit entry (any phase but requested and approved), once committed; must not throw. */
  observe?: (entry: AuditInput) => void;
}

export class CallAudit {
  constructor(private readonly deps: CallAuditDeps) {}

  /** An entry for `call` in the given phase: the request and the decision come from the call. */
  entry(call: PreparedCall, extra: Pick<AuditInput, 'phase'> & Partial<AuditInput>): AuditInput {
    return {
      ...entryBase(call.callId, call.caller, call.spec, call),
      decision: call.decision.decision,
      rule: call.decision.rule,
      approvalId: call.approvalId ?? null,
      dryRun: call.decision.dryRun,
      ...extra,
    };
  }

  /** Committed before it returns (with whatever is queued): throws when it cannot be. */
  now(input: AuditInput): void {
    this.deps.audit.append(input);
    this.observe(input);
  }

  /**
   * An entry written after the call's fate is sealed (an outcome, a refusal), batched with those
   * of overlapping calls; it waits out another process's lock as long as it must. Never lost
   * silently: a final failure is logged as an audit gap with the call's id. True once committed.
   */
  async record(input: AuditInput): Promise<boolean> {
    return (await this.landed(input, RECORD_WAIT_MS)) === undefined;
  }

  /** A refusal (nothing ran) answers by ADMIT_WAIT_MS at the latest; its entry is written when the lock is free. */
  async refusal(input: AuditInput): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve) => { timer = setTimeout(resolve, ADMIT_WAIT_MS); });
    await Promise.race([this.record(input), answered]);
    clearTimeout(timer);
  }

  /**
   * A read's one entry, written after it ran: the request, the decision and the outcome together.
   * Undefined once committed; else why not, and the caller must withhold the output (nothing a
   * client saw may be missing from the audit). The read then stands in the audit as failed.
   */
  async once(input: AuditInput): Promise<string | undefined> {
    const failure = await this.landed(input, ADMIT_WAIT_MS);
    if (failure === undefined) return undefined;
    const { why, busy } = failure;
    // An entry refused for what it holds (too big for the room left) would be refused again: the
    // arguments stay out, their hash names them, and the call id is in the audit all the same.
    const args = busy ? input.args : WITHHELD_ARGS;
    void this.record({ ...input, args, phase: 'failed', errorKind: 'unavailable', result: `it ran, but its output was withheld: its audit entry could not be written (${why})` });
    return why;
  }

  /** Undefined once `input` is committed; else the failure in words (logged as an audit gap), and whether another process's lock was all it was. */
  private async landed(input: AuditInput, waitMs: number): Promise<{ why: string; busy: boolean } | undefined> {
    try {
      await this.deps.audit.appendBatched(input, waitMs);
    } catch (err) {
      this.deps.log.error({ callId: input.callId, tool: input.tool, phase: input.phase, err: errorMessage(err) }, 'AUDIT GAP: an audit entry could not be written');
      if (err instanceof DatabaseBusy) return { why: err.message, busy: true };
      return { why: databaseFailure(err) ?? 'the audit log failed', busy: false };
    }
    this.observe(input);
    return undefined;
  }

  private observe(input: AuditInput): void {
    if (input.phase !== 'requested' && input.phase !== 'approved') this.deps.observe?.(input);
  }
}
