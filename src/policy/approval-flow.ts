// What happens to a call the gate holds for approval: it runs only with a valid approvalId for
// these exact arguments, or after a human present in the client accepts. Anything else stores
// a request and returns pending. Elicitation is never the only path and never a default-allow.
// It decides and records approvals; the guard writes every audit entry of the call. A granted
// approval is claimed when its call is admitted, and given back only when that call failed before
// acting (approval-claims.ts: its EffectWatch says nothing could have changed), so a retry can use it.
import type { FailureDetails, FailureKind } from '../errors.js';
import type { Notifier } from '../shared/notifier.js';
import type { ApprovalStore, UseRefusal } from '../store/approvals.js';
import { canonicalJson } from '../store/canonical.js';
import type { AuditPhase } from '../store/audit.js';
import type { ApprovalPrompt, PreparedCall } from './call.js';

const REFUSALS: Record<UseRefusal, string> = {
  unknown: 'no such approval',
  'other-call': 'it was granted for another tool, principal or other arguments',
  pending: 'it has not been approved yet',
  denied: 'it was denied',
  used: 'it was already used (or a call with it is under way)',
  expired: 'it has expired',
};

/** What the guard does next with a held call. */
export type ApprovalStep =
  /**
   * Run it; `approvedInClient` asks for an `approved` audit entry first; `claimed` is the caller's
   * approval it runs on, to give back (release) if it fails before acting.
   */
  | { kind: 'run'; approvedInClient?: boolean; claimed?: string }
  /** Refuse it: nothing runs; audited in `phase`. */
  | { kind: 'refuse'; failure: FailureKind; message: string; details: FailureDetails; phase: AuditPhase }
  /** The transport must ask the human and call again with the answer. */
  | { kind: 'ask_human'; prompt: ApprovalPrompt };

export interface ApprovalFlowDeps {
  approvals: ApprovalStore;
  notifier: Notifier;
  ttlMs: number;
  /** Named in the approve command the held result and the notification give (see approveCommand). */
  dataDir?: string;
}

/**
 * The command a human runs to approve, naming the data dir: an approver whose shell defaults to
 * another directory would look at another database and find no such approval.
 */
export function approveCommand(id: string, dataDir: string | undefined, verb: 'approve' | 'deny' = 'approve'): string {
  if (!dataDir) return `warden approvals ${verb} ${id}`;
  const word = /^[A-Za-z0-9_./:@%+=,-]+$/.test(dataDir) ? dataDir : `'${dataDir.replace(/'/g, `'\\''`)}'`;
  return `warden --data-dir ${word} approvals ${verb} ${id}`;
}

export class ApprovalFlow {
  constructor(private readonly deps: ApprovalFlowDeps) {}

  next(call: PreparedCall): ApprovalStep {
    if (call.approvalId) return this.useGranted(call, call.approvalId);
    const human = call.caller.human;
    if (human && human.answer === undefined) {
      const prompt: ApprovalPrompt = {
        tool: call.spec.name, target: call.target, args: call.redactedArgs,
        risk: call.risk, rule: call.decision.rule, reason: call.decision.reason,
      };
      return { kind: 'ask_human', prompt };
    }
    // A dismissed prompt (cancel) is no decision: the request is stored for someone to decide.
    if (human?.answer === 'accept' || human?.answer === 'decline') return this.answeredInClient(call, human.answer);
    return this.hold(call);
  }

  private useGranted(call: PreparedCall, approvalId: string): ApprovalStep {
    const used = this.deps.approvals.claim(approvalId, { principal: call.caller.principal, tool: call.spec.name, argsHash: call.argsHash });
    if (used.ok) return { kind: 'run', claimed: approvalId };
    const message = `approval ${approvalId} cannot be used: ${REFUSALS[used.why]}. Nothing ran.`;
    return { kind: 'refuse', failure: 'denied', message, details: { approvalId }, phase: 'denied' };
  }

  private answeredInClient(call: PreparedCall, answer: 'accept' | 'decline'): ApprovalStep {
    const { approvals } = this.deps;
    const record = approvals.create(this.request(call));
    const by = `${call.caller.principal} (in client)`;
    call.approvalId = record.id;
    if (answer === 'decline') {
      approvals.decide(record.id, 'denied', by, 'declined in the client');
      return { kind: 'refuse', failure: 'denied', message: `the human declined ${call.spec.name} on ${call.target}. Do not retry.`, details: {}, phase: 'rejected' };
    }
    approvals.decide(record.id, 'approved', by, null);
    // Not given back on failure: the human is still there to be asked again.
    approvals.claim(record.id, { principal: call.caller.principal, tool: call.spec.name, argsHash: call.argsHash });
    return { kind: 'run', approvedInClient: true };
  }

  /** Gives a claimed approval back for a retry; false when it cannot be used again anyway (expired, its incident closed). */
  release(approvalId: string): boolean {
    return this.deps.approvals.release(approvalId);
  }

  private request(call: PreparedCall) {
    return {
      principal: call.caller.principal, tool: call.spec.name, target: call.target,
      args: canonicalJson(call.redactedArgs), argsHash: call.argsHash, risk: call.risk,
      rule: call.decision.rule, reason: call.decision.reason, ttlMs: this.deps.ttlMs,
      incidentId: call.caller.incidentId ?? null,
    };
  }

  private hold(call: PreparedCall): ApprovalStep {
    const request = this.deps.approvals.create(this.request(call));
    this.deps.notifier.send({
      event: 'approval.requested',
      title: `warden: ${call.caller.principal} wants ${call.spec.name} on ${call.target}; approval ${request.id}`,
      fields: {
        approvalId: request.id, tool: call.spec.name, target: call.target, principal: call.caller.principal,
        args: request.args, rule: call.decision.rule, reason: call.decision.reason, expiresAt: request.expiresAt,
        approve: approveCommand(request.id, this.deps.dataDir),
      },
    });
    const message =
      `${call.spec.name} on ${call.target} is held for approval (${call.decision.rule}: ${call.decision.reason}). ` +
      `Approval id ${request.id}, expires ${request.expiresAt}. A human decides with \`${approveCommand(request.id, this.deps.dataDir)}\`; ` +
      `then call ${call.spec.name} again with the same arguments plus approvalId "${request.id}".`;
    return { kind: 'refuse', failure: 'approval_required', message, details: { approvalId: request.id }, phase: 'pending' };
  }
}
