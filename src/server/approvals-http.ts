// The approvals API for the dashboard and chat-ops: list held calls, approve or deny one. The
// decision goes through decideApproval, so it is audited under the approver's principal and the
// same rules hold as on the command line (the loop never approves; nobody approves their own).
import { readRequestBody } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { CommandError } from '../errors.js';
import { decideApproval } from '../policy/approvals.js';
import type { Runtime } from './runtime.js';
import type { Principal } from './auth.js';
import { json, jsonError } from './responses.js';
import { describeIssues } from '../validation.js';

const DecisionBody = z.strictObject({ reason: z.string().min(1).max(1000).optional().describe('why, for the audit and the requester') });

export function listApprovals(rt: Runtime, all: boolean): Response {
  return json(rt.approvals.list(all ? {} : { status: 'pending' }));
}

async function readDecision(request: Request, maxBodyBytes: number): Promise<{ reason?: string } | Response> {
  const read = await readRequestBody(request, maxBodyBytes);
  if (read.tooLarge) return jsonError(413, 'payload_too_large', `request body over ${maxBodyBytes} bytes`);
  const { text } = read;
  if (text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return jsonError(400, 'bad_request', 'body: not valid JSON; expected {"reason": "..."} or nothing');
  }
  const parsed = DecisionBody.safeParse(raw);
  if (!parsed.success) return jsonError(400, 'bad_request', `body: ${describeIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

export async function decide(
  rt: Runtime, request: Request, who: Principal, id: string, verdict: 'approved' | 'denied', maxBodyBytes: number,
): Promise<Response> {
  const body = await readDecision(request, maxBodyBytes);
  if (body instanceof Response) return body;
  const current = rt.approvals.get(id);
  if (!current) return jsonError(404, 'not_found', `no approval ${id}`);
  // The same refusals decideApproval makes, checked first so each gets its own status.
  if (who.principal === 'loop') return jsonError(403, 'forbidden', 'the loop can never decide approvals');
  if (verdict === 'approved' && who.principal === current.principal) {
    return jsonError(403, 'forbidden', `${who.principal} requested ${id} and cannot approve it; another person must`);
  }
  if (current.status !== 'pending') return jsonError(409, 'conflict', `approval ${id} is ${current.status}, not pending`);
  try {
    const decided = decideApproval(rt.approvals, rt.audit, rt.notifier, { id, verdict, by: who.principal, reason: body.reason, transport: 'http' });
    return json(decided);
  } catch (err) {
    // Decided or expired between the check above and the update: someone else was quicker.
    if (err instanceof CommandError || (err instanceof Error && /not pending/.test(err.message))) {
      return jsonError(409, 'conflict', `approval ${id} is no longer pending`);
    }
    throw err;
  }
}
