// What a webhook receives and how warden names and paces a hook: the bodies of the three formats,
// which events a hook listens for, its name in the outbox and its breaker, and its Retry-After.
// Pure: no network, no store (delivery is webhooks.ts).
import { createHash } from 'node:crypto';
import type { Notification, NotifyEvent, WebhookConfig } from '../shared/notifier.js';
import { consoleApprovalUrl, slackNotification } from './slack-blocks.js';

/** The generic body's own keys: what says which notification this is. */
const GENERIC_KEYS = ['event', 'title', 'id', 'consoleUrl'] as const;

/** Discord's limit on a message's content, and what of it a title may take. */
const DISCORD_CONTENT_MAX = 2000;
const DISCORD_TITLE_MAX = 300;
/** What Discord's markdown reads: emphasis, code, spoilers, quotes, headings, masked links [t](u), autolinks <u>. */
const DISCORD_MARKDOWN = /[\\*_~`|>#[\]()<]/g;
const LINE_BREAKS = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;

/**
 * Untrusted text (a title, a field, a model's arguments) as Discord shows it literally: its markdown
 * escaped, so `[the console's address](https://evil)` is no link, and on one line (a break shown
 * as \n), so no field can start a line of its own such as a second `Console:`.
 */
export function discordText(text: string): string {
  return text.replace(DISCORD_MARKDOWN, '\\$&').replace(LINE_BREAKS, '\\n');
}

/** At most `max` characters, never splitting a surrogate pair; a cut ends with …. */
function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/**
 * `meta.id` (the notification's id, also its Idempotency-Key) and `meta.time` (when it was sent)
 * are fixed when the notification is recorded, so every retry sends the same bytes. With
 * `meta.publicUrl` (server.publicUrl), a notification about an approval links to its console page.
 */
export function formatBody(format: WebhookConfig['format'], n: Notification, meta: { id?: string; time?: string; publicUrl?: string } = {}): unknown {
  const fields = Object.entries(n.fields).filter(([, v]) => v !== undefined && v !== null);
  const approvalId = typeof n.fields.approvalId === 'string' ? n.fields.approvalId : undefined;
  const consoleUrl = approvalId ? consoleApprovalUrl(meta.publicUrl, approvalId) : undefined;
  if (format === 'slack') {
    return slackNotification(n.title, n.fields, { request: n.event === 'approval.requested', approvalId, consoleUrl });
  }
  if (format === 'discord') {
    // The link right under the title (cut short, so the 2000-character cut never takes the link);
    // every other line is one escaped field, so warden's Console line is the only link and the only
    // line that starts with "Console:". No mention (an alert's @everyone) ever pings anyone.
    const link = consoleUrl ? `\nConsole: <${consoleUrl}>` : '';
    const text = fields.map(([k, v]) => `${discordText(k)}: ${discordText(String(v))}`);
    const content = `**${discordText(cutChars(n.title, DISCORD_TITLE_MAX))}**${link}\n${text.join('\n')}`;
    return { content: cutChars(content, DISCORD_CONTENT_MAX), allowed_mentions: { parse: [] } };
  }
  // A field never overwrites what identifies the notification: an escalation's `title` field is the
  // incident's title, and a receiver needs both. Such a field is renamed with a `field` prefix
  // (`fieldTitle`), not nested, so every field stays one flat key as before; one rule for any
  // sender, rather than a name that guesses what the field means. `time` is not renamed: fields
  // come last because a checkpoint's own `time` is the one it was signed with and must arrive as is.
  const renamed = fields.map(([k, v]) => [(GENERIC_KEYS as readonly string[]).includes(k) ? `field${k[0]!.toUpperCase()}${k.slice(1)}` : k, v]);
  return {
    event: n.event, title: n.title, time: meta.time ?? new Date().toISOString(), ...(meta.id ? { id: meta.id } : {}),
    ...(consoleUrl ? { consoleUrl } : {}),
    ...Object.fromEntries(renamed),
  };
}

/**
 * A hook without `events` gets every event but audit checkpoints: those are for a receiver that
 * keeps them, and would only be noise in a chat channel that never asked for them.
 */
export function listensFor(hook: WebhookConfig, event: NotifyEvent): boolean {
  return hook.events ? hook.events.includes(event) : event !== 'audit.checkpoint';
}

export function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname || 'unknown-host';
  } catch {
    return 'invalid-url';
  }
}

/**
 * The hook's name in the outbox: the same in every process with the same config, whatever the order
 * of the list, and safe to show (the hostname and a digest, never the path that holds the secret).
 */
export function hookKey(hook: WebhookConfig): string {
  return `${hostnameOf(hook.url)}#${createHash('sha256').update(`${hook.format} ${hook.url}`).digest('hex').slice(0, 12)}`;
}

/** Retry-After in seconds or as an HTTP date, in ms from now, within [0, capMs]; 0 when absent or unreadable. */
export function retryAfterMs(value: string | null, capMs: number, now = Date.now()): number {
  const v = value?.trim();
  if (!v) return 0;
  const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, Math.round(ms)), capMs) : 0;
}
