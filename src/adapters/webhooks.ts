// Outbound webhooks (generic JSON, Slack, Discord) for notify-decisions, approval requests,
// escalations and signed audit checkpoints. Every notification is written to the outbox first, then
// sent per hook, oldest first, retried until the hook takes it. This must never block or fail the
// caller, never name a hook's URL in a log or a breaker (Slack and Discord keep the secret in its
// path), and never keep a shutdown waiting past its deadline (and one bounded last write).
import { randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import {
  NOTIFIER_CLOSE_DEADLINE_MS, NOTIFIER_LAST_WRITE_MS, type NewOutboxEntry, type Notification, type NotificationOutbox, type Notifier,
  type OutboxEntry, type WebhookConfig,
} from '../shared/notifier.js';
import { redactText, redactValue } from '../shared/redact.js';
import { BreakerBoard, BreakerOpen, type Breaker } from './breakers.js';
import { formatBody, hookKey, hostnameOf, listensFor, retryAfterMs } from './webhook-format.js';

// The formats are their own module; callers that deliver and format alike import both from here.
export { formatBody, hookKey, listensFor, retryAfterMs };

/** Network errors, timeouts, 5xx, 408 and 429 say the hook is down or overloaded: retried, and counted by its breaker. */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** A try that may work later. `counted`: it says the hook is failing; `sent`: a request went out. */
class DeliveryFailure extends Error {
  waitMs = 0;
  constructor(message: string, readonly counted: boolean, readonly sent: boolean, readonly retryAfterMs = 0) {
    super(message);
    this.name = 'DeliveryFailure';
  }
}

export interface NotifierOptions {
  /** Where every notification is written before delivery is tried (store/outbox.ts at runtime). */
  outbox: NotificationOutbox;
  /** The process's breakers; each hook gets `webhook:<index>:<hostname>`. Default: a board of its own. */
  breakers?: BreakerBoard;
  /** One request, at most (default 5 s). */
  timeoutMs?: number;
  /** The first retry's delay (default 1 s), doubled with jitter each time up to `maxDelayMs` (default 60 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A hook's Retry-After is honoured up to this (default 10 min). */
  maxRetryAfterMs?: number;
  /** How often pending rows are looked for, including other processes' (default 5 s). */
  pollMs?: number;
  /** A row still pending this long after it was written is marked failed (default 7 days). */
  giveUpMs?: number;
  /** server.publicUrl: notifications about an approval link to its console page under it. */
  publicUrl?: string;
}

interface Hook {
  config: WebhookConfig;
  key: string;
  /** For logs and the breaker: index and hostname. */
  name: string;
  breaker: Breaker;
  running?: Promise<void>;
  /** A kick arrived while the worker ran: look at the queue once more before it ends. */
  again: boolean;
  wake?: NodeJS.Timeout;
}

/** A notification sent but not yet committed to the outbox: all its rows, and the hooks to wake once they are. */
interface Unwritten {
  n: Notification;
  entries: NewOutboxEntry[];
  targets: Hook[];
}

/** Any time it must wait, waits on a timer that keeps no process alive and that `signal` cuts short. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

/** How far past a try's own time a lease reaches, so a slow answer is not taken over by another process. */
const LEASE_SLACK_MS = 2_000;

export function createNotifier(configs: WebhookConfig[], log: Logger, opts: NotifierOptions): Notifier {
  const { outbox } = opts;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const minDelayMs = opts.minDelayMs ?? 1_000;
  const maxDelayMs = Math.max(opts.maxDelayMs ?? 60_000, minDelayMs);
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 10 * 60_000;
  const pollMs = opts.pollMs ?? 5_000;
  const giveUpMs = opts.giveUpMs ?? 7 * 24 * 3_600_000;
  const breakers = opts.breakers ?? new BreakerBoard();
  // Backoff steps until the delay reaches its cap; past them p-retry repeats the last one.
  const steps = Math.max(1, Math.ceil(Math.log2(maxDelayMs / Math.max(minDelayMs, 1))) + 1);

  const hooks: Hook[] = [];
  configs.forEach((config, i) => {
    const key = hookKey(config);
    // The same URL and format twice would get every notification twice, under one outbox key.
    if (hooks.some((h) => h.key === key)) return;
    const name = `webhook:${i}:${hostnameOf(config.url)}`;
    hooks.push({ config, key, name, again: false, breaker: breakers.get(name, 'webhook', (err) => err instanceof DeliveryFailure && err.counted) });
  });

  /** Aborted when close begins: no more waiting between tries. */
  const stopping = new AbortController();
  /** Aborted at the close deadline: requests in flight and waits for the database end. */
  const hardStop = new AbortController();
  const active = new Set<Promise<void>>();
  const touched = new Set<Hook>();
  let closing: Promise<void> | undefined;
  /**
   * What send() recorded and the outbox does not hold yet, in the order send() was called. One
   * writer at a time takes the head: a row's id is its place in the hook's queue, so a notification
   * whose insert meets another process's write lock must not be overtaken by a later one.
   */
  const unwritten: Unwritten[] = [];
  let writing = false;
  /** Set at the close deadline, once what was unwritten then has had its last try. */
  let lastWriteDone = false;

  const track = (p: Promise<void>): void => {
    active.add(p);
    void p.finally(() => active.delete(p));
  };

  const leaseUntil = (extraMs: number): Date => new Date(Date.now() + extraMs + timeoutMs + LEASE_SLACK_MS);

  function breakerWaitMs(h: Hook): number {
    if (!h.breaker.blocked()) return 0;
    const at = h.breaker.view().retryAt;
    return at ? Math.max(0, Date.parse(at) - Date.now()) : 0;
  }

  async function post(h: Hook, entry: OutboxEntry): Promise<number> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(h.config.url, {
        method: 'POST',
        // The same key on every try and from every process: a receiver can drop the rare double send.
        headers: { 'content-type': 'application/json', 'idempotency-key': entry.key.slice(0, entry.key.indexOf('/')) },
        body: entry.body,
        // A redirect would carry the notification to wherever the hook's answer points: never followed.
        redirect: 'manual',
        signal: AbortSignal.any([hardStop.signal, timeout]),
      });
    } catch (err) {
      if (hardStop.signal.aborted) throw new DeliveryFailure('aborted at shutdown', false, true);
      if (timeout.aborted) throw new DeliveryFailure(`no answer within ${timeoutMs} ms`, true, true);
      const code = (err as { cause?: { code?: unknown } }).cause?.code;
      throw new DeliveryFailure(`request failed${typeof code === 'string' ? ` (${code})` : `: ${redactText(errorMessage(err)).slice(0, 200)}`}`, true, true);
    }
    await res.body?.cancel().catch(() => undefined);
    if (isRetryableStatus(res.status)) throw new DeliveryFailure(`HTTP ${res.status}`, true, true, retryAfterMs(res.headers.get('retry-after'), maxRetryAfterMs));
    return res.status;
  }

  /** One try at one row. Resolves when the row is finished (delivered, refused, or finished by another process). */
  async function attempt(h: Hook, entry: OutboxEntry, n: number): Promise<void> {
    // A later try first renews the lease, and learns whether the row is still pending at all.
    if (n > 1 && !(await outbox.hold(entry.id, leaseUntil(0), undefined, hardStop.signal))) return;
    let status: number;
    try {
      status = await h.breaker.run(() => post(h, entry));
    } catch (err) {
      const failure = err instanceof DeliveryFailure ? err
        : err instanceof BreakerOpen ? new DeliveryFailure('circuit breaker open', false, false)
          : new DeliveryFailure(redactText(errorMessage(err)).slice(0, 200), false, true);
      if (hardStop.signal.aborted) throw failure;
      // p-retry repeats one fixed delay once the backoff reaches its cap: a little randomness keeps
      // processes and hooks that failed together from retrying in step.
      failure.waitMs = Math.max(failure.retryAfterMs, breakerWaitMs(h)) + (n > steps ? Math.random() * maxDelayMs / 4 : 0);
      const pending = await outbox.hold(entry.id, leaseUntil(failure.waitMs + maxDelayMs), { error: failure.message, counted: failure.sent }, hardStop.signal)
        .catch((e: unknown) => { log.warn({ hook: h.name, err: errorMessage(e) }, 'could not record a failed webhook try'); return true; });
      log.debug({ hook: h.name, notification: entry.key, err: failure.message }, 'webhook delivery failed; will retry');
      if (!pending) return;
      throw failure;
    }
    const ok = status >= 200 && status < 300;
    if (!ok) log.warn({ hook: h.name, notification: entry.key, event: entry.event, status }, 'webhook refused a notification: marked failed, not retried');
    await (ok ? outbox.delivered(entry.id, hardStop.signal) : outbox.refused(entry.id, `refused: HTTP ${status}`, hardStop.signal))
      .catch((e: unknown) => log.warn({ hook: h.name, notification: entry.key, err: errorMessage(e) }, 'could not record a webhook delivery; the hook may get it twice'));
  }

  /** Tries one row until it is finished; false when it stays pending because the notifier is closing. */
  async function deliver(h: Hook, entry: OutboxEntry): Promise<boolean> {
    let finished = false;
    let current: Promise<void> | undefined;
    try {
      await pRetry(async (n: number) => {
        current = attempt(h, entry, n).then(() => { finished = true; });
        await current;
      }, {
        forever: true, retries: steps, factor: 2, minTimeout: minDelayMs, maxTimeout: maxDelayMs, randomize: true, unref: true,
        signal: stopping.signal,
        onFailedAttempt: async (err) => {
          // Closing: one try for what is due, never a wait.
          if (stopping.signal.aborted) throw err;
          const waitMs = err instanceof DeliveryFailure ? err.waitMs : 0;
          if (waitMs > 0) await sleep(waitMs, stopping.signal);
          if (stopping.signal.aborted) throw err;
        },
      });
    } catch {
      // p-retry gives up at once when closing begins; the try in flight still ends (by the deadline).
      await current?.catch(() => undefined);
    }
    if (!finished) {
      await outbox.release(entry.id, hardStop.signal)
        .catch((e: unknown) => log.debug({ hook: h.name, err: errorMessage(e) }, 'could not release a notification; its lease runs out instead'));
    }
    return finished;
  }

  function wakeLater(h: Hook, ms: number): void {
    if (stopping.signal.aborted) return;
    clearTimeout(h.wake);
    h.wake = setTimeout(() => { h.wake = undefined; kick(h); }, Math.min(Math.max(ms, 10), pollMs));
    h.wake.unref();
  }

  /** Sends the hook's queue head after head, in order, until it is empty, not yet due, or held by another process. */
  async function work(h: Hook): Promise<void> {
    do {
      h.again = false;
      for (;;) {
        if (hardStop.signal.aborted) return;
        const blockedMs = breakerWaitMs(h);
        if (blockedMs > 0) {
          wakeLater(h, blockedMs);
          break;
        }
        const claim = await outbox.claim(h.key, timeoutMs + LEASE_SLACK_MS, hardStop.signal);
        if (!claim.entry) {
          if (claim.nextAt) wakeLater(h, Date.parse(claim.nextAt) - Date.now());
          break;
        }
        if (!(await deliver(h, claim.entry))) return;
      }
    } while (h.again && !hardStop.signal.aborted);
  }

  function kick(h: Hook): void {
    if (hardStop.signal.aborted) return;
    if (h.running) {
      h.again = true;
      return;
    }
    clearTimeout(h.wake);
    h.wake = undefined;
    const run = work(h)
      .catch((err: unknown) => log.warn({ hook: h.name, err: errorMessage(err) }, 'webhook delivery stopped; the next poll resumes it'))
      .finally(() => {
        h.running = undefined;
        // A kick between the worker's last look and here must not wait for the next poll.
        if (h.again) kick(h);
      });
    h.running = run;
    track(run);
  }

  function lost(u: Unwritten, err: unknown): void {
    log.error({ event: u.n.event, title: u.n.title, err: errorMessage(err) }, 'NOTIFICATION LOST: it could not be written to the outbox');
  }

  /**
   * Writes the queue's head, then the next, until it is empty. A send() that finds nothing queued
   * starts it, and its first try is synchronous, so on a free database it is committed before send()
   * returns; a write that meets the lock waits on a timer (store/busy.ts), never blocking the caller,
   * and everything sent meanwhile waits behind it.
   */
  async function writeQueue(): Promise<void> {
    try {
      while (unwritten.length > 0) {
        // Past the deadline, close's last write takes what is left; after it, a send gets one try.
        if (hardStop.signal.aborted && !lastWriteDone) return;
        const u = unwritten[0]!;
        try {
          await outbox.add(u.entries, hardStop.signal);
        } catch (err) {
          if (hardStop.signal.aborted && !lastWriteDone) return;
          unwritten.shift();
          lost(u, err);
          continue;
        }
        unwritten.shift();
        for (const h of u.targets) kick(h);
      }
    } finally {
      // Cleared as the loop ends, in the same step: a send() after it starts a writer of its own.
      writing = false;
    }
  }

  function startWriter(): void {
    if (writing) return;
    writing = true;
    track(writeQueue());
  }

  /**
   * At the deadline, what is still unwritten (its insert kept meeting another process's lock) gets
   * one synchronous try, in order, that may block up to NOTIFIER_LAST_WRITE_MS (250 ms) in all for
   * the lock: whatever it writes stays pending for the next process. Only what it cannot write is lost.
   */
  function lastWrite(): void {
    lastWriteDone = true;
    // A writer still waiting (an outbox that ignored the abort) keeps its queue, now with one try each.
    if (writing) return;
    const left = unwritten.splice(0);
    const end = Date.now() + NOTIFIER_LAST_WRITE_MS;
    for (const u of left) {
      try {
        outbox.addNow(u.entries, Math.max(0, end - Date.now()));
        log.debug({ event: u.n.event }, 'notification written at the close deadline; it stays pending for the next process');
      } catch (err) {
        lost(u, err);
      }
    }
  }

  let sweeping = false;
  async function poll(): Promise<void> {
    if (sweeping) return;
    sweeping = true;
    try {
      const given = await outbox.expire(new Date(Date.now() - giveUpMs), hardStop.signal);
      if (given > 0) log.error({ count: given, days: Math.round(giveUpMs / 86_400_000) }, 'notifications given up: still undelivered after the give-up age, marked failed');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'could not look for notifications past the give-up age');
    } finally {
      sweeping = false;
    }
    for (const h of hooks) kick(h);
  }

  // No hook, nothing to deliver. The first poll also picks up what an earlier process left pending.
  const timer = hooks.length > 0 ? setInterval(() => { void poll(); }, pollMs) : undefined;
  timer?.unref();

  async function settle(withinMs: number): Promise<void> {
    const end = Date.now() + withinMs;
    while (active.size > 0) {
      const left = end - Date.now();
      if (left <= 0) return;
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...active]), new Promise((r) => { t = setTimeout(r, left); })]);
      clearTimeout(t);
    }
  }

  async function close(deadlineMs: number): Promise<void> {
    clearInterval(timer);
    for (const h of hooks) clearTimeout(h.wake);
    stopping.abort();
    // What this process sent gets one try now: a one-shot command's notification should not wait for the daemon.
    for (const h of touched) kick(h);
    // Aborting a request takes a moment to be recorded: the abort comes a little before the deadline.
    const graceMs = Math.min(250, deadlineMs / 4);
    await settle(deadlineMs - graceMs);
    hardStop.abort();
    await settle(graceMs);
    // Bounded too: at most NOTIFIER_LAST_WRITE_MS past the deadline, and only when a write is left.
    lastWrite();
  }

  return {
    send(n) {
      try {
        const targets = hooks.filter((h) => listensFor(h.config, n.event));
        if (targets.length === 0) return;
        const id = randomUUID();
        const time = new Date().toISOString();
        const safe = { ...n, fields: redactValue(n.fields) };
        const entries = targets.map((h) => ({ key: `${id}/${h.key}`, createdAt: time, hook: h.key, event: n.event, body: JSON.stringify(formatBody(h.config.format, safe, { id, time, publicUrl: opts.publicUrl })) }));
        for (const h of targets) touched.add(h);
        unwritten.push({ n, entries, targets });
        startWriter();
      } catch (err) {
        log.error({ event: n.event, err: errorMessage(err) }, 'NOTIFICATION LOST: it could not be recorded');
      }
    },
    flush(deadlineMs = NOTIFIER_CLOSE_DEADLINE_MS) {
      closing ??= close(deadlineMs);
      return closing;
    },
  };
}
