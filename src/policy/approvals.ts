// A human's decision on a held call. The decision is audited under the approver's name; the
// principal `loop` can never approve, and no principal approves its own request.
import type { AuditLog } from '../store/audit.js';
import type { Approval, ApprovalStore } from '../store/approvals.js';
import type { Notifier } from '../loop/notify.js';
import { CommandError } from '../errors.js';

export interface ApprovalDecision {
  id: string;
  verdict: 'approved' | 'denied';
  by: string;
  reason?: string;
  transport: string;
}

export function decideApproval(store: ApprovalStore, audit: AuditLog, notifier: Notifier, d: ApprovalDecision): Approval {
  const current = store.get(d.id);
  if (!current) throw new CommandError(`no approval ${d.id}; \`warden approvals list\` shows the pending ones`);
  if (d.by === 'loop') throw new CommandError('the loop can never decide approvals');
  if (d.verdict === 'approved' && d.by === current.principal) {
    throw new CommandError(`${d.by} requested ${d.id} and cannot approve it; another person must`);
  }
  if (current.status !== 'pending') throw new CommandError(`approval ${d.id} is ${current.status}, not pending`);
  const decided = store.decide(d.id, d.verdict, d.by, d.reason ?? null);
  audit.append({
    callId: `approval:${d.id}`,
    principal: d.by,
    transport: d.transport,
    tool: decided.tool,
    target: decided.target,
    args: JSON.parse(decided.args) as unknown,
    argsHash: decided.argsHash,
    risk: decided.risk,
    rule: decided.rule,
    approvalId: decided.id,
    phase: d.verdict === 'approved' ? 'approved' : 'rejected',
    result: d.reason ?? null,
    incidentId: decided.incidentId,
  });
  notifier.send({
    event: 'approval.decided',
    title: `warden: ${decided.tool} on ${decided.target ?? '-'} ${d.verdict} by ${d.by}`,
    fields: { approvalId: decided.id, verdict: d.verdict, by: d.by, reason: d.reason },
  });
  return decided;
}
