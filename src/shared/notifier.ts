// What warden tells people: notify-decisions, approval requests, escalations, checkpoints. The
// interface every layer sends through, and the outbox contract between the webhook delivery
// (adapters/webhooks.ts) and the table that keeps notifications (store/outbox.ts). No I/O here.

export type NotifyEvent = 'notify' | 'approval.requested' | 'approval.decided' | 'escalation' | 'audit.checkpoint';

export interface Notification {
  event: NotifyEvent;
  /** One line for chat: what happened and what a human can do. */
  title: string;
  fields: Record<string, string | number | boolean | null | undefined>;
}

export interface WebhookConfig {
  url: string;
  format: 'generic' | 'slack' | 'discord';
  events?: NotifyEvent[];
}

/** The default bound on `Notifier.flush`: well inside the 10 s a graceful shutdown is promised. */
export const NOTIFIER_CLOSE_DEADLINE_MS = 3_000;

/**
 * How long, past its deadline, `Notifier.flush` may still block for another process's write lock to
 * write a notification it could not write before: one synchronous try, in all, at most this long.
 */
export const NOTIFIER_LAST_WRITE_MS = 250;

export interface Notifier {
  /** Records the notification for every hook that listens and returns; never throws, never waits. */
  send(n: Notification): void;
  /**
   * The notifier's last call, at shutdown: delivers what is due for the hooks this process sent to
   * (one try each, no backoff), aborts what is still in flight at `deadlineMs` (default
   * NOTIFIER_CLOSE_DEADLINE_MS) and resolves by then, or at most NOTIFIER_LAST_WRITE_MS later when a
   * notification still waits for another process's write lock: it gets that long for one last write.
   * Whatever is not delivered stays pending in the outbox for the next process. Sends after it are
   * still recorded (one try each), not delivered.
   */
  flush(deadlineMs?: number): Promise<void>;
}

/** One notification for one webhook, as it is written: body already redacted and formatted. */
export interface NewOutboxEntry {
  /** Unique per row: `<notification id>/<hook key>`. */
  key: string;
  createdAt: string;
  /** The hook's stable key (hostname and a digest of its URL: never the URL itself). */
  hook: string;
  event: NotifyEvent;
  /** The exact JSON text to POST, on every try. */
  body: string;
}

export interface OutboxEntry extends NewOutboxEntry {
  id: number;
  attempts: number;
}

/** The head of a hook's queue is this process's to send, or (`nextAt`) when to look again; null when nothing is pending. */
export type OutboxClaim = { entry: OutboxEntry } | { entry?: undefined; nextAt: string | null };

/**
 * The outbox as the delivery sees it. Every write waits for another process's write lock without
 * blocking the event loop, until `signal` aborts. The methods that return a boolean say whether
 * the row was still pending (another process may have finished it, or given it up).
 */
export interface NotificationOutbox {
  /** All rows of one notification, or none. */
  add(entries: NewOutboxEntry[], signal?: AbortSignal): Promise<void>;
  /**
   * The same, as one synchronous try that blocks the process at most `waitMs` (whatever the
   * connection's own busy timeout) for another process's write lock; throws if it could not write.
   * Only for the notifier's last write at its close deadline.
   */
  addNow(entries: NewOutboxEntry[], waitMs: number): void;
  /** Leases the oldest pending row of `hook` for `leaseMs`, when it is due: never a later row before it. */
  claim(hook: string, leaseMs: number, signal?: AbortSignal): Promise<OutboxClaim>;
  /** Keeps the row leased until `until`; with `failure`, records a failed try (`counted`: a request was sent). */
  hold(id: number, until: Date, failure?: { error: string; counted: boolean }, signal?: AbortSignal): Promise<boolean>;
  delivered(id: number, signal?: AbortSignal): Promise<boolean>;
  /** Permanently refused: marked failed with the reason, and the hook's next row comes up. */
  refused(id: number, error: string, signal?: AbortSignal): Promise<boolean>;
  /** Ends this process's lease now, so any process may take the row at once. */
  release(id: number, signal?: AbortSignal): Promise<void>;
  /** Marks failed every row still pending that was created before `before`; returns how many. */
  expire(before: Date, signal?: AbortSignal): Promise<number>;
}
