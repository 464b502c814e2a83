// Slack message bodies (Block Kit): an approval request with Approve / Deny buttons, and the update
// that replaces it once decided. Pure. Every untrusted string (a target, arguments, an alert's
// annotation in a reason) is escaped and marked verbatim, so it can never become a link, a
// mention such as <!channel>, or a button of its own.
import type { ActionsBlock, Button, KnownBlock, MrkdwnElement, PlainTextElement, SectionBlock } from '@slack/types';

/** The action ids the interactions endpoint answers to; the value of both is the approval id. */
export const SLACK_APPROVE_ACTION = 'warden_approve';
export const SLACK_DENY_ACTION = 'warden_deny';
/** A link button: Slack still sends a payload for it, which is acknowledged and otherwise ignored. */
export const SLACK_CONSOLE_ACTION = 'warden_open_console';

// Slack's limits: a section's text, one field's text, fields per section, a plain_text button label,
// a confirm dialog's text, a button's url.
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const FIELDS_MAX = 10;
const CONFIRM_TEXT_MAX = 300;
const URL_MAX = 3000;
const BLOCKS_MAX = 50;
/**
 * A message's top-level text: Slack takes up to 40,000 characters, but it is only the notification
 * and the fallback for clients without blocks, and the blocks say it all.
 */
const FALLBACK_MAX = 3000;
const FALLBACK_TITLE_MAX = 500;
/**
 * Top-level fields of every body sent to Slack. Top-level text has no `verbatim` flag, so what Slack
 * shows is always the verbatim blocks; `parse: none` (Slack's default, said anyway) and no unfurling
 * keep a URL in an alert from being fetched or previewed.
 */
const QUIET = { parse: 'none', unfurl_links: false, unfurl_media: false } as const;
/** A value longer than this gets its own section rather than a field in the two-column grid. */
const SHORT_FIELD = 120;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Slack's mrkdwn control characters escaped (its own rule: & < > and nothing else), cut to `max`
 * characters after escaping without splitting an entity or a surrogate pair.
 */
export function escapeMrkdwn(text: string, max = Infinity): string {
  const whole = text.replace(/[&<>]/g, (ch) => ENTITIES[ch]!);
  if (whole.length <= max) return whole;
  let out = '';
  for (const ch of text) {
    const piece = ENTITIES[ch] ?? ch;
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

function capPlain(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

const mrkdwn = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text, verbatim: true });
const plain = (text: string, max: number): PlainTextElement => ({ type: 'plain_text', text: capPlain(text, max), emoji: false });

/** The console's page for one approval, under `publicUrl` (already without a trailing slash). */
export function consoleApprovalUrl(publicUrl: string | undefined, approvalId: string): string | undefined {
  if (!publicUrl) return undefined;
  const url = `${publicUrl}/console/approvals/${encodeURIComponent(approvalId)}`;
  return url.length <= URL_MAX ? url : undefined;
}

type Fields = Record<string, string | number | boolean | null | undefined>;

/** The title in bold, then every field: short ones in the two-column grid, long ones (arguments) each in a section. */
function summaryBlocks(title: string, fields: Fields): SectionBlock[] {
  const present = Object.entries(fields).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)] as const);
  const short = present.filter(([, v]) => v.length <= SHORT_FIELD).slice(0, FIELDS_MAX);
  // Blocks beyond Slack's 50 would have the whole message refused: the rest is in the fallback text.
  const long = present.filter((f) => !short.includes(f)).slice(0, BLOCKS_MAX - 3);
  const blocks: SectionBlock[] = [{ type: 'section', text: mrkdwn(`*${escapeMrkdwn(title, SECTION_MAX - 2)}*`) }];
  if (short.length > 0) blocks[0]!.fields = short.map(([k, v]) => mrkdwn(`*${escapeMrkdwn(k, 100)}*\n${escapeMrkdwn(v, FIELD_MAX - 110)}`));
  for (const [k, v] of long) blocks.push({ type: 'section', text: mrkdwn(`*${escapeMrkdwn(k, 100)}*\n${escapeMrkdwn(v, SECTION_MAX - 110)}`) });
  return blocks;
}

function consoleButton(url: string | undefined): Button[] {
  return url ? [{ type: 'button', action_id: SLACK_CONSOLE_ACTION, text: plain('Open in console', 75), url }] : [];
}

/** The fallback text (notifications, clients without blocks): the same escaping, at most FALLBACK_MAX characters. */
export function fallbackText(title: string, fields: Fields): string {
  const lines = Object.entries(fields).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}: ${String(v)}`);
  const head = `*${escapeMrkdwn(title, FALLBACK_TITLE_MAX)}*`;
  return `${head}\n${escapeMrkdwn(lines.join('\n'), FALLBACK_MAX - head.length - 1)}`;
}

/** A Slack body for a notification: the request gets Approve and Deny, any other event its summary and, with a console, the link. */
export function slackNotification(title: string, fields: Fields, opts: { approvalId?: string; request: boolean; consoleUrl?: string }): {
  text: string; blocks: KnownBlock[]; parse: 'none'; unfurl_links: false; unfurl_media: false;
} {
  const text = fallbackText(title, fields);
  // Buttons only on the request: the interactions endpoint decides it (server/slack-interactions.ts).
  if (opts.request && opts.approvalId) return { text, blocks: approvalRequestBlocks(title, fields, opts.approvalId, opts.consoleUrl), ...QUIET };
  const link = consoleButton(opts.consoleUrl);
  const blocks: KnownBlock[] = [...summaryBlocks(title, fields)];
  if (link.length > 0) blocks.push({ type: 'actions', elements: link });
  return { text, blocks, ...QUIET };
}

/** An approval request: the summary, then Approve (asks to confirm), Deny and, with a console, its page. */
export function approvalRequestBlocks(title: string, fields: Fields, approvalId: string, consoleUrl?: string): KnownBlock[] {
  const what = [fields.tool, fields.target].filter((v) => v !== undefined && v !== null).join(' on ');
  const approve: Button = {
    type: 'button', action_id: SLACK_APPROVE_ACTION, value: approvalId, style: 'primary', text: plain('Approve', 75),
    confirm: {
      title: plain('Approve this call?', 100),
      text: plain(`${what || approvalId} will run as soon as the requester calls it again.`, CONFIRM_TEXT_MAX),
      confirm: plain('Approve', 30), deny: plain('Cancel', 30),
    },
  };
  const deny: Button = { type: 'button', action_id: SLACK_DENY_ACTION, value: approvalId, style: 'danger', text: plain('Deny', 75) };
  const actions: ActionsBlock = { type: 'actions', block_id: 'warden_approval', elements: [approve, deny, ...consoleButton(consoleUrl)] };
  return [...summaryBlocks(title, fields), actions];
}

export interface SlackDecision {
  approvalId: string;
  tool: string;
  target: string | null;
  requester: string;
  verdict: 'approved' | 'denied';
  /** The warden principal the decision was made under. */
  by: string;
  slackUserId: string;
  at: string;
  consoleUrl?: string;
}

/** What replaces the request once decided: who decided what, and no buttons left to press. */
export function decisionMessage(d: SlackDecision): { replace_original: true; text: string; blocks: KnownBlock[] } {
  const outcome = d.verdict === 'approved' ? 'Approved' : 'Denied';
  const title = `${outcome} by ${d.by}: ${d.tool} on ${d.target ?? '-'} (approval ${d.approvalId}, asked by ${d.requester})`;
  const blocks: KnownBlock[] = [
    { type: 'section', text: mrkdwn(`*${escapeMrkdwn(title, SECTION_MAX - 2)}*`) },
    { type: 'context', elements: [mrkdwn(escapeMrkdwn(`decided from Slack by user ${d.slackUserId} as warden principal ${d.by} at ${d.at}`, SECTION_MAX))] },
  ];
  const link = consoleButton(d.consoleUrl);
  if (link.length > 0) blocks.push({ type: 'actions', block_id: 'warden_approval', elements: link });
  return { replace_original: true, text: escapeMrkdwn(title, SECTION_MAX), blocks, ...QUIET };
}

/** A reply only the presser sees, the original message left as it is: why nothing was decided. */
export function ephemeralMessage(text: string): { response_type: 'ephemeral'; replace_original: false; text: string; blocks: KnownBlock[] } {
  const escaped = escapeMrkdwn(text, SECTION_MAX);
  return { response_type: 'ephemeral', replace_original: false, text: escaped, blocks: [{ type: 'section', text: mrkdwn(escaped) }], ...QUIET };
}
