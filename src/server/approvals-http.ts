// The approvals API for the dashboard and chat-ops: list held calls, approve or deny one. The
// decision goes through the runtime's ApprovalDecider, so it is audited under the approver's
// principal and the same rules hold as on the command line; its refusals map to statuses here.
import { readRequestBody } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { ApprovalRefused, type ApprovalRefusalCode } from '../policy/approvals.js';
import type { Runtime } from './runtime.js';
import type { Principal } from './auth.js';
import { json, jsonError } from './responses.js';
import { describeIssues } from '../validation.js';

/** A refused decision's status and error, the same whether it came over this API, the console or Slack. */
export const REFUSAL_STATUS: Record<ApprovalRefusalCode, 403 | 404 | 409> = { not_found: 404, loop: 403, own_request: 403, not_pending: 409 };
export const REFUSAL_ERROR: Record<ApprovalRefusalCode, string> = { not_found: 'not_found', loop: 'forbidden', own_request: 'forbidden', not_pending: 'conflict' };

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
  try {
    return json(rt.decider.decide({ id, verdict, by: who.principal, reason: body.reason, transport: 'http' }));
  } catch (err) {
    if (err instanceof ApprovalRefused) return jsonError(REFUSAL_STATUS[err.refusal.code], REFUSAL_ERROR[err.refusal.code], err.refusal.message);
    throw err;
  }
}
