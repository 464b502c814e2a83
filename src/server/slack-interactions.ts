// POST /integrations/slack/interactions: Approve and Deny pressed in Slack. Slack sends no bearer
// token; what authenticates it is the v0 signature, fresh (5 minutes either way) and never seen
// before (kept in the database, so a restart does not reopen the window). The presser must be a
// mapped Slack user (and of the configured workspace) whose principal still holds an active operator
// or admin token; the decision is the decider's, audited under the mapped principal with transport
// slack. Every refusal is audited through refusal-audit.ts (grouped, so a flood cannot grow the
// audit) and never touches the approval.
import { readRequestBody } from '@modelcontextprotocol/server';
import { decisionMessage, ephemeralMessage, consoleApprovalUrl } from '../adapters/slack-blocks.js';
import { postSlackResponse } from '../adapters/slack-response.js';
import { ApprovalRefused } from '../policy/approvals.js';
import { REFUSAL_ERROR, REFUSAL_STATUS } from './approvals-http.js';
import { whenFree } from '../store/busy.js';
import type { AuditInput } from '../store/audit.js';
import { SlackRequestStore } from '../store/slack-requests.js';
import { TokenStore } from '../store/tokens.js';
import { ROUTE_ROLES } from './auth.js';
import { ANONYMOUS, RefusalAudit } from './refusal-audit.js';
import { jsonError } from './responses.js';
import type { Runtime } from './runtime.js';
import { SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER, SLACK_WINDOW_SECONDS, checkSlackSignature } from './slack-signature.js';
import { isFormEncoded, readSlackPayload, type SlackPress } from './slack-payload.js';

export const SLACK_INTERACTIONS_PATH = '/integrations/slack/interactions';
/** The audit's tool column for a refused Slack request (grouped like http.auth). */
export const SLACK_REFUSAL_TOOL = 'slack.refused';
/** A button press is a few kilobytes (the message it came from included): far more is no press. */
const SLACK_BODY_MAX = 256 * 1024;
/** Slack wants its answer within 3 s: the update goes after it, and this bounds it. */
const RESPONSE_TIMEOUT_MS = 5_000;
/** How long the replay check may wait for another process's write lock before answering 503. */
const REPLAY_WRITE_WAIT_MS = 1_000;

const ERROR_OF: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 503: 'unavailable' };

export interface SlackInteractions {
  handle(request: Request, remote: string): Promise<Response>;
  /** Writes pending refusal counts; aborts message updates still in flight. */
  close(): void;
}

export function createSlackInteractions(rt: Runtime, opts: { maxBodyBytes: number }): SlackInteractions {
  const slack = rt.config.integrations.slack!;
  const secret = rt.config.secrets.slackSigningSecret;
  if (!secret) rt.log.error({ env: slack.signingSecretEnv }, `integrations.slack: ${slack.signingSecretEnv} is not set; every Slack request is refused`);
  const maxBytes = Math.min(opts.maxBodyBytes, SLACK_BODY_MAX);
  const seen = new SlackRequestStore(rt.db);
  const tokens = new TokenStore(rt.db);
  // The gateway's grouping, under Slack's own tool and transport so the audit shows what was knocked on.
  const refusals = new RefusalAudit({
    append: (input: AuditInput) => rt.audit.append({ ...input, callId: input.callId.replace(/^http\.auth:/, 'slack:'), tool: SLACK_REFUSAL_TOOL, transport: 'slack' }),
  }, rt.log);
  const updates = new Set<AbortController>();
  let closed = false;

  const refuse = (remote: string, status: number, text: string, principal = ANONYMOUS): Response => {
    // Printable ASCII only: a reason may quote what a payload said, and it lands in the audit and in terminals.
    const reason = text.replace(/[^\x20-\x7E]/g, '?');
    refusals.record({ route: SLACK_INTERACTIONS_PATH, method: 'POST', status, principal, remote, reason });
    return jsonError(status, ERROR_OF[status] ?? 'refused', reason);
  };

  /** After the answer: Slack shows the request decided, or tells the presser why not. Never throws. */
  const respond = (url: string | undefined, body: unknown): void => {
    if (!url || closed) return;
    const abort = new AbortController();
    updates.add(abort);
    void postSlackResponse(url, body, { allowedHosts: slack.responseUrlHosts, timeoutMs: RESPONSE_TIMEOUT_MS, signal: abort.signal })
      .then((r) => { if (!r.ok) rt.log.warn({ why: r.why }, 'slack: the message update was not sent'); })
      .finally(() => updates.delete(abort));
  };

  const decide = (press: Extract<SlackPress, { kind: 'decide' }>, principal: string, remote: string): Response => {
    try {
      const a = rt.decider.decide({ id: press.approvalId, verdict: press.verdict, by: principal, reason: `from Slack, user ${press.userId}`, transport: 'slack' });
      respond(press.responseUrl, decisionMessage({
        approvalId: a.id, tool: a.tool, target: a.target, requester: a.principal, verdict: press.verdict, by: principal,
        slackUserId: press.userId, at: a.decidedAt ?? new Date().toISOString(), consoleUrl: consoleApprovalUrl(rt.config.server.publicUrl, a.id),
      }));
      return new Response(null, { status: 200 });
    } catch (err) {
      if (!(err instanceof ApprovalRefused)) throw err;
      // The decider has audited the attempt under the principal: told back, not audited twice.
      rt.log.info({ principal, remote, code: err.refusal.code }, 'slack: decision refused');
      respond(press.responseUrl, ephemeralMessage(`Not done: ${err.refusal.message}`));
      return jsonError(REFUSAL_STATUS[err.refusal.code], REFUSAL_ERROR[err.refusal.code], err.refusal.message);
    }
  };

  return {
    async handle(request, remote) {
      if (!isFormEncoded(request.headers.get('content-type') ?? undefined)) return refuse(remote, 415, 'expected Content-Type application/x-www-form-urlencoded (a Slack interaction payload)');
      const read = await readRequestBody(request, maxBytes);
      if (read.tooLarge) return refuse(remote, 413, `body over ${maxBytes} bytes`);
      if (!secret) return refuse(remote, 503, `the Slack signing secret is not configured (${slack.signingSecretEnv})`);
      const sig = checkSlackSignature(secret, read.text, {
        signature: request.headers.get(SLACK_SIGNATURE_HEADER), timestamp: request.headers.get(SLACK_TIMESTAMP_HEADER),
      }, Date.now());
      if (!sig.ok) return refuse(remote, 401, sig.detail);
      const nowSec = Math.floor(Date.now() / 1000);
      // Taken before anything else is read: a signed request counts once, whatever it says.
      const fresh = await whenFree(() => seen.take(sig.signature, sig.timestamp, nowSec - SLACK_WINDOW_SECONDS - 60), { waitMs: REPLAY_WRITE_WAIT_MS });
      if (!fresh) return refuse(remote, 409, 'this signed request was received before: a replay is never taken twice');
      const payload = readSlackPayload(read.text);
      if (!payload.ok) return refuse(remote, 400, payload.reason, payload.userId ? `slack:${payload.userId}` : ANONYMOUS);
      const { press } = payload;
      if (press.kind === 'ignore') return new Response(null, { status: 200 });
      const who = `slack:${press.userId}`;
      if (slack.teamId) {
        // Every workspace the payload names must be ours: the message's (team.id) and the presser's (user.team_id).
        const other = press.teamIds.find((t) => t !== slack.teamId);
        if (press.teamIds.length === 0 || other !== undefined) {
          return refuse(remote, 403, `workspace ${other !== undefined ? JSON.stringify(other.slice(0, 40)) : '(none named)'} is not integrations.slack.teamId`, who);
        }
      }
      const principal = Object.hasOwn(slack.users, press.userId) ? slack.users[press.userId] : undefined;
      if (!principal) {
        respond(press.responseUrl, ephemeralMessage(`Your Slack user ${press.userId} is not mapped to a warden principal (integrations.slack.users): nothing was decided.`));
        return refuse(remote, 403, `Slack user ${press.userId} is not mapped to a warden principal (integrations.slack.users)`, who);
      }
      // The mapping says who; the tokens say whether they still may (a role that may use /approvals):
      // revoking someone's tokens, or letting them expire, takes their Slack buttons away too.
      if (!tokens.active(principal).some((t) => ROUTE_ROLES.approvals.includes(t.role))) {
        const why = `${principal} has no active operator or admin token: revoked people do not decide from Slack`;
        respond(press.responseUrl, ephemeralMessage(`Not done: ${why}.`));
        return refuse(remote, 403, why, who);
      }
      return decide(press, principal, remote);
    },
    close() {
      closed = true;
      for (const a of updates) a.abort();
      refusals.close();
    },
  };
}
