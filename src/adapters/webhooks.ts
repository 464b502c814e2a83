// Outbound webhooks (generic JSON, Slack, Discord) for notify-decisions, approval requests,
// escalations and signed audit checkpoints. Delivery is fire-and-forget with retries: it never
// blocks or fails a tool call.
import type { Logger } from '../log.js';
import type { Notification, NotifyEvent, Notifier, WebhookConfig } from '../shared/notifier.js';
import { redactValue } from '../shared/redact.js';

export function formatBody(format: WebhookConfig['format'], n: Notification): unknown {
  const fields = Object.entries(n.fields).filter(([, v]) => v !== undefined && v !== null);
  const lines = fields.map(([k, v]) => `${k}: ${String(v)}`);
  if (format === 'slack') return { text: `*${n.title}*\n${lines.join('\n')}` };
  if (format === 'discord') return { content: `**${n.title}**\n${lines.join('\n')}`.slice(0, 2000) };
  // Fields last: a checkpoint's own `time` is the one it was signed with, so it must arrive as is.
  return { event: n.event, title: n.title, time: new Date().toISOString(), ...Object.fromEntries(fields) };
}

/**
 * A hook without `events` gets every event but audit checkpoints: those are for a receiver that
 * keeps them, and would only be noise in a chat channel that never asked for them.
 */
export function listensFor(hook: WebhookConfig, event: NotifyEvent): boolean {
  return hook.events ? hook.events.includes(event) : event !== 'audit.checkpoint';
}

export interface NotifierOptions {
  retries?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
}

export function createNotifier(hooks: WebhookConfig[], log: Logger, opts: NotifierOptions = {}): Notifier {
  const retries = opts.retries ?? 4;
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const inflight = new Set<Promise<void>>();

  async function deliver(hook: WebhookConfig, body: unknown): Promise<void> {
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.ok) return;
        // A 4xx other than 429 will not get better by retrying.
        if (res.status < 500 && res.status !== 429) {
          log.warn({ url: hook.url, status: res.status }, 'webhook refused notification');
          return;
        }
      } catch (err) {
        log.debug({ url: hook.url, err: String(err) }, 'webhook delivery failed');
      }
      if (attempt < retries) await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** attempt));
    }
    log.warn({ url: hook.url }, 'webhook delivery gave up');
  }

  return {
    send(n) {
      const safe = { ...n, fields: redactValue(n.fields) };
      for (const hook of hooks) {
        if (!listensFor(hook, n.event)) continue;
        const p = deliver(hook, formatBody(hook.format, safe)).finally(() => inflight.delete(p));
        inflight.add(p);
      }
    },
    async flush() {
      await Promise.allSettled([...inflight]);
    },
  };
}
