// What happens to a call the gate holds for approval: it runs only with a valid approvalId for
// these exact arguments, or after a human present in the client accepts. Anything else stores
// a request and returns pending. Elicitation is never the only path and never a default-allow.
import type { CallOutcome, Guard, PreparedCall } from './guard.js';
import type { UseRefusal } from '../store/approvals.js';
import { canonicalJson } from '../store/canonical.js';

export interface ApprovalPrompt {
  tool: string;
  target: string;
  args: unknown;
  risk: string;
  rule: string;
  reason: string;
}

const REFUSALS: Record<UseRefusal, string> = {
  unknown: 'no such approval',
  'other-call': 'it was granted for another tool, principal or other arguments',
  pending: 'it has not been approved yet',
  denied: 'it was denied',
  used: 'it was already used',
  expired: 'it has expired',
};

type Cleared = { ok: true } | { ok: false; outcome: CallOutcome };

export async function resolveApproval(guard: Guard, call: PreparedCall): Promise<Cleared> {
  const { approvals } = guard.deps;
  if (call.approvalId) {
    const used = approvals.use(call.approvalId, { principal: call.caller.principal, tool: call.spec.name, argsHash: call.argsHash });
    if (used.ok) return { ok: true };
    const message = `approval ${call.approvalId} cannot be used: ${REFUSALS[used.why]}. Nothing ran.`;
    return { ok: false, outcome: guard.refuse(call, 'denied', message, { approvalId: call.approvalId }) };
  }
  const human = call.caller.human;
  if (human && human.answer === undefined) {
    const prompt: ApprovalPrompt = {
      tool: call.spec.name, target: call.target, args: call.redactedArgs,
      risk: call.risk, rule: call.decision.rule, reason: call.decision.reason,
    };
    return { ok: false, outcome: { ok: false, callId: call.callId, kind: 'ask_human', prompt } };
  }
  // A dismissed prompt (cancel) is no decision: the request is stored for someone to decide.
  if (human?.answer === 'accept' || human?.answer === 'decline') return answeredInClient(guard, call, human.answer);
  return { ok: false, outcome: holdForApproval(guard, call) };
}

function answeredInClient(guard: Guard, call: PreparedCall, answer: 'accept' | 'decline'): Cleared {
  const { approvals } = guard.deps;
  const record = approvals.create(newRequest(guard, call));
  const by = `${call.caller.principal} (in client)`;
  call.approvalId = record.id;
  if (answer === 'decline') {
    approvals.decide(record.id, 'denied', by, 'declined in the client');
    return { ok: false, outcome: guard.refuse(call, 'denied', `the human declined ${call.spec.name} on ${call.target}. Do not retry.`, {}, 'rejected') };
  }
  approvals.decide(record.id, 'approved', by, null);
  approvals.use(record.id, { principal: call.caller.principal, tool: call.spec.name, argsHash: call.argsHash });
  guard.auditCall(call, { phase: 'approved', result: 'accepted by the human in the client' });
  return { ok: true };
}

function newRequest(guard: Guard, call: PreparedCall) {
  return {
    principal: call.caller.principal, tool: call.spec.name, target: call.target,
    args: canonicalJson(call.redactedArgs), argsHash: call.argsHash, risk: call.risk,
    rule: call.decision.rule, reason: call.decision.reason, ttlMs: guard.deps.approvalTtlMs,
    incidentId: call.caller.incidentId ?? null,
  };
}

function holdForApproval(guard: Guard, call: PreparedCall): CallOutcome {
  const request = guard.deps.approvals.create(newRequest(guard, call));
  guard.deps.notifier.send({
    event: 'approval.requested',
    title: `warden: ${call.caller.principal} wants ${call.spec.name} on ${call.target}; approval ${request.id}`,
    fields: {
      approvalId: request.id, tool: call.spec.name, target: call.target, principal: call.caller.principal,
      args: request.args, rule: call.decision.rule, reason: call.decision.reason, expiresAt: request.expiresAt,
      approve: `warden approvals approve ${request.id}`,
    },
  });
  const message =
    `${call.spec.name} on ${call.target} is held for approval (${call.decision.rule}: ${call.decision.reason}). ` +
    `Approval id ${request.id}, expires ${request.expiresAt}. A human decides with \`warden approvals approve ${request.id}\`; ` +
    `then call ${call.spec.name} again with the same arguments plus approvalId "${request.id}".`;
  return guard.refuse(call, 'approval_required', message, { approvalId: request.id }, 'pending');
}
