// A human's decision on a held call. One function decides who may decide (never the loop, never
// the requester approving their own request) and returns a typed refusal; the HTTP API and the
// CLI map it to a status or an exit code. Decisions and refused attempts are both audited.
import { CommandError } from '../errors.js';
import type { Notifier } from '../shared/notifier.js';
import { isLoopPrincipal } from '../shared/roles.js';
import type { AuditLog } from '../store/audit.js';
import type { Approval, ApprovalStore } from '../store/approvals.js';

export interface ApprovalDecision {
  id: string;
  verdict: 'approved' | 'denied';
  by: string;
  reason?: string;
  transport: string;
}

export type ApprovalRefusalCode = 'not_found' | 'loop' | 'own_request' | 'not_pending';

export interface ApprovalRefusal {
  code: ApprovalRefusalCode;
  message: string;
}

/** Who may decide what: the one rule, pure. Undefined when the decision may be made. */
export function refusalOf(current: Approval | undefined, d: Pick<ApprovalDecision, 'id' | 'verdict' | 'by'>): ApprovalRefusal | undefined {
  if (!current) return { code: 'not_found', message: `no approval ${d.id}; \`warden approvals list\` shows the pending ones` };
  if (isLoopPrincipal(d.by)) return { code: 'loop', message: 'the loop can never decide approvals' };
  if (d.verdict === 'approved' && d.by === current.principal) {
    return { code: 'own_request', message: `${d.by} requested ${d.id} and cannot approve it; another person must` };
  }
  if (current.status !== 'pending') {
    const why = current.decidedBy === 'warden' && current.decisionReason ? ` (${current.decisionReason})` : '';
    return { code: 'not_pending', message: `approval ${d.id} is ${current.status}${why}, not pending` };
  }
  return undefined;
}

/** A decision that was not allowed; `refusal.code` says why, for a status or an exit code. */
export class ApprovalRefused extends CommandError {
  constructor(readonly refusal: ApprovalRefusal) {
    super(refusal.message);
  }
}

export class ApprovalDecider {
  constructor(private readonly store: ApprovalStore, private readonly audit: AuditLog, private readonly notifier: Notifier) {}

  /** Decides, or throws ApprovalRefused; either way the attempt is audited under `d.by`. */
  decide(d: ApprovalDecision): Approval {
    const current = this.store.get(d.id);
    const refusal = refusalOf(current, d);
    if (refusal) this.refuse(d, current, refusal);
    const decided = this.store.tryDecide(d.id, d.verdict, d.by, d.reason ?? null);
    // Decided or expired between the check and the update: someone else was quicker.
    if (!decided) this.refuse(d, current, { code: 'not_pending', message: `approval ${d.id} is no longer pending` });
    this.record(d, decided, d.verdict === 'approved' ? 'approved' : 'rejected', d.reason ?? null);
    this.notifier.send({
      event: 'approval.decided',
      title: `warden: ${decided.tool} on ${decided.target ?? '-'} ${d.verdict} by ${d.by}`,
      fields: { approvalId: decided.id, verdict: d.verdict, by: d.by, reason: d.reason },
    });
    return decided;
  }

  /** The incident closed: its requests that have not run are denied by warden, each audited and announced. */
  cancelForIncident(incidentId: string, reason: string): Approval[] {
    const cancelled = this.store.cancelForIncident(incidentId, reason);
    for (const a of cancelled) {
      this.record({ id: a.id, verdict: 'denied', by: 'warden', transport: 'internal' }, a, 'rejected', `cancelled: ${reason}`);
      this.notifier.send({
        event: 'approval.decided',
        title: `warden: ${a.tool} on ${a.target ?? '-'} cancelled: ${reason}`.slice(0, 300),
        fields: { approvalId: a.id, verdict: 'denied', by: 'warden', reason: `cancelled: ${reason}` },
      });
    }
    return cancelled;
  }

  private refuse(d: ApprovalDecision, current: Approval | undefined, refusal: ApprovalRefusal): never {
    this.record(d, current, 'denied', `refused ${d.verdict === 'approved' ? 'approval' : 'denial'} by ${d.by}: ${refusal.message}`);
    throw new ApprovalRefused(refusal);
  }

  private record(d: ApprovalDecision, a: Approval | undefined, phase: 'approved' | 'rejected' | 'denied', result: string | null): void {
    this.audit.append({
      callId: `approval:${d.id}`,
      principal: d.by,
      transport: d.transport,
      tool: a?.tool ?? 'approvals.decide',
      target: a?.target ?? null,
      args: a ? (JSON.parse(a.args) as unknown) : { id: d.id, verdict: d.verdict },
      argsHash: a?.argsHash ?? '',
      risk: a?.risk ?? null,
      rule: a?.rule ?? null,
      approvalId: d.id,
      phase,
      result,
      incidentId: a?.incidentId ?? null,
    });
  }
}
