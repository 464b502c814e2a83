// What a webhook receives and how warden names and paces a hook: the bodies of the three formats,
// which events a hook listens for, its name in the outbox and its breaker, and its Retry-After.
// Pure: no network, no store (delivery is webhooks.ts).
import { createHash } from 'node:crypto';
import type { Notification, NotifyEvent, WebhookConfig } from '../shared/notifier.js';
import { approvalRequestBlocks, consoleApprovalUrl, fallbackText } from './slack-blocks.js';

/** The generic body's own keys: what says which notification this is. */
const GENERIC_KEYS = ['event', 'title', 'id', 'consoleUrl'] as const;

/**
 * `meta.id` (the notification's id, also its Idempotency-Key) and `meta.time` (when it was sent)
 * are fixed when the notification is recorded, so every retry sends the same bytes. With
 * `meta.publicUrl` (server.publicUrl), a notification about an approval links to its console page.
 */
export function formatBody(format: WebhookConfig['format'], n: Notification, meta: { id?: string; time?: string; publicUrl?: string } = {}): unknown {
  const fields = Object.entries(n.fields).filter(([, v]) => v !== undefined && v !== null);
  const lines = fields.map(([k, v]) => `${k}: ${String(v)}`);
  const approvalId = typeof n.fields.approvalId === 'string' ? n.fields.approvalId : undefined;
  const consoleUrl = approvalId ? consoleApprovalUrl(meta.publicUrl, approvalId) : undefined;
  if (format === 'slack') {
    const text = fallbackText(n.title, n.fields);
    // Buttons only on the request: the interactions endpoint decides it (server/slack-interactions.ts).
    if (n.event === 'approval.requested' && approvalId) return { text, blocks: approvalRequestBlocks(n.title, n.fields, approvalId, consoleUrl) };
    return consoleUrl ? { text: `${text}\n${consoleUrl}` } : { text };
  }
  if (format === 'discord') {
    // The link right under the title, so the 2000-character cut never takes it; no mention in a
    // title or field (an alert's @everyone) ever pings anyone.
    const link = consoleUrl ? `\nConsole: <${consoleUrl}>` : '';
    return { content: `**${n.title}**${link}\n${lines.join('\n')}`.slice(0, 2000), allowed_mentions: { parse: [] } };
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
