// What a signed Slack interaction request says, read from its form body: which button, by whom,
// from which workspace, and where the message update goes. Pure. Only called once the signature
// holds: nothing here is trusted before that, and nothing here is a decision.
import { z } from 'zod';
import { SLACK_APPROVE_ACTION, SLACK_CONSOLE_ACTION, SLACK_DENY_ACTION } from '../adapters/slack-blocks.js';
import { describeIssues } from '../validation.js';
import { SLACK_USER_ID } from './slack-config.js';

/** The parts of Slack's block_actions payload warden reads; Slack sends much more, which is ignored. */
const BlockActions = z.object({
  type: z.literal('block_actions', { error: 'only block_actions (button presses) is handled' }),
  user: z.object({ id: z.string().regex(SLACK_USER_ID, 'not a Slack user id'), team_id: z.string().max(64).optional() }),
  team: z.object({ id: z.string().max(64) }).nullable().optional(),
  // One press is one action; a payload naming several is not one Slack sends for a button.
  actions: z.array(z.object({ action_id: z.string().max(255), value: z.string().max(255).optional() })).length(1),
  response_url: z.string().max(3000).optional(),
});

export type SlackPress =
  /** teamIds: every workspace id the payload names (team.id, user.team_id), in that order, each once. */
  | { kind: 'decide'; verdict: 'approved' | 'denied'; approvalId: string; userId: string; teamIds: string[]; responseUrl?: string }
  /** The console link button: Slack wants it acknowledged, nothing more. */
  | { kind: 'ignore'; userId: string };

export type SlackPayloadRead = { ok: true; press: SlackPress } | { ok: false; reason: string; userId?: string };

const MEDIA_TYPE = 'application/x-www-form-urlencoded';
/** store/approvals.ts makes `apr_` and 12 base64url characters; a little room, nothing else. */
const APPROVAL_ID = /^apr_[A-Za-z0-9_-]{1,64}$/;

/** Whether the Content-Type is Slack's form encoding (parameters such as charset allowed). */
export function isFormEncoded(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase() === MEDIA_TYPE;
}

export function readSlackPayload(rawBody: string): SlackPayloadRead {
  const form = new URLSearchParams(rawBody);
  const values = form.getAll('payload');
  if (values.length !== 1) return { ok: false, reason: `expected one form field "payload", found ${values.length}` };
  let json: unknown;
  try {
    json = JSON.parse(values[0]!);
  } catch {
    return { ok: false, reason: 'payload: not valid JSON' };
  }
  const parsed = BlockActions.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `payload: ${describeIssues(parsed.error).join('; ').slice(0, 300)}` };
  const p = parsed.data;
  const action = p.actions[0]!;
  const userId = p.user.id;
  if (action.action_id === SLACK_CONSOLE_ACTION) return { ok: true, press: { kind: 'ignore', userId } };
  const verdict = action.action_id === SLACK_APPROVE_ACTION ? 'approved' : action.action_id === SLACK_DENY_ACTION ? 'denied' : undefined;
  if (!verdict) return { ok: false, reason: "the action is not one of warden's buttons", userId };
  // The id goes into the decider's audit entry and its answer: only an id's shape gets that far.
  if (!action.value || !APPROVAL_ID.test(action.value)) return { ok: false, reason: 'the button carries no approval id', userId };
  // Both, not the first found: a payload naming two workspaces is checked against each.
  const teamIds = [...new Set([p.team?.id, p.user.team_id].filter((t): t is string => t !== undefined))];
  return {
    ok: true,
    press: { kind: 'decide', verdict, approvalId: action.value, userId, teamIds, ...(p.response_url ? { responseUrl: p.response_url } : {}) },
  };
}
