// The notification outbox (migration 16): every notification for every webhook is a row here
// before anyone tries to deliver it, so a hook that is down, or a process that exits, loses nothing.
// It must never delete a pending row, and a row is sent by whoever holds its lease: a claim is a
// compare-and-set on next_at, so two processes rarely send the same row.
import type { NewOutboxEntry, NotificationOutbox, NotifyEvent, OutboxClaim, OutboxEntry } from '../shared/notifier.js';
import { statementCache, type Db } from './db.js';
import { whenFree } from './busy.js';

export interface OutboxSummary {
  pending: number;
  /** created_at of the oldest pending row. */
  oldestPending: string | null;
  failed: number;
}

export interface OutboxOptions {
  /** How long a write waits for another process's write lock (default 60 s; an insert 10 min). */
  waitMs?: number;
}

interface Row {
  id: number;
  key: string;
  created_at: string;
  hook: string;
  event: string;
  body: string;
  attempts: number;
}

const ADD_WAIT_MS = 10 * 60_000;

export class OutboxStore implements NotificationOutbox {
  private readonly sql;
  private readonly waitMs: number;

  constructor(private readonly db: Db, opts: OutboxOptions = {}) {
    this.sql = statementCache(db);
    this.waitMs = opts.waitMs ?? 60_000;
  }

  async add(entries: NewOutboxEntry[], signal?: AbortSignal): Promise<void> {
    if (entries.length === 0) return;
    const write = this.insert(entries);
    await this.write(() => write.immediate(), signal, Math.max(this.waitMs, ADD_WAIT_MS));
  }

  /**
   * One synchronous try under a busy timeout of exactly `waitMs` (SQLite waits for the lock inside
   * the call), the connection's own restored after it: bounded even on a command's connection,
   * whose busy timeout is 5 s. Nothing else runs on the connection meanwhile: the call is synchronous.
   */
  addNow(entries: NewOutboxEntry[], waitMs: number): void {
    if (entries.length === 0) return;
    const write = this.insert(entries);
    const before = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(waitMs))}`);
    try {
      write.immediate();
    } finally {
      this.db.pragma(`busy_timeout = ${before}`);
    }
  }

  /** The notification is one unit: a hook never gets it while another hook's row is lost. */
  private insert(entries: NewOutboxEntry[]): { immediate(): void } {
    const insert = this.sql(`INSERT INTO outbox (key, created_at, hook, event, body, status, next_at)
      VALUES (@key, @createdAt, @hook, @event, @body, 'pending', @createdAt)`);
    return this.db.transaction(() => { for (const e of entries) insert.run(e); });
  }

  /**
   * A read first, so an idle poll never takes the write lock; then the lease, conditional on the
   * row being still pending and due, so of two processes that saw the same head only one gets it.
   */
  async claim(hook: string, leaseMs: number, signal?: AbortSignal): Promise<OutboxClaim> {
    const head = this.sql(`SELECT id, next_at FROM outbox WHERE hook = ? AND status = 'pending' ORDER BY id LIMIT 1`);
    const lease = this.sql(`UPDATE outbox SET next_at = @until WHERE id = @id AND status = 'pending' AND next_at <= @now
      RETURNING id, key, created_at, hook, event, body, attempts`);
    const first = head.get(hook) as { id: number; next_at: string } | undefined;
    if (!first) return { nextAt: null };
    const now = new Date();
    if (first.next_at > now.toISOString()) return { nextAt: first.next_at };
    const row = await this.write(() => lease.get({ id: first.id, now: now.toISOString(), until: new Date(now.getTime() + leaseMs).toISOString() }) as Row | undefined, signal);
    if (row) return { entry: toEntry(row) };
    // Another process took it between the read and the lease: look again when its lease ends.
    const again = head.get(hook) as { id: number; next_at: string } | undefined;
    return { nextAt: again?.next_at ?? null };
  }

  async hold(id: number, until: Date, failure?: { error: string; counted: boolean }, signal?: AbortSignal): Promise<boolean> {
    const s = failure
      ? this.sql(`UPDATE outbox SET next_at = @until, attempts = attempts + @inc, last_error = @error WHERE id = @id AND status = 'pending'`)
      : this.sql(`UPDATE outbox SET next_at = @until WHERE id = @id AND status = 'pending'`);
    const params = failure ? { id, until: until.toISOString(), inc: failure.counted ? 1 : 0, error: failure.error.slice(0, 500) } : { id, until: until.toISOString() };
    return (await this.write(() => s.run(params), signal)).changes === 1;
  }

  async delivered(id: number, signal?: AbortSignal): Promise<boolean> {
    const s = this.sql(`UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending'`);
    return (await this.write(() => s.run(new Date().toISOString(), id), signal)).changes === 1;
  }

  async refused(id: number, error: string, signal?: AbortSignal): Promise<boolean> {
    const s = this.sql(`UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? AND status = 'pending'`);
    return (await this.write(() => s.run(error.slice(0, 500), id), signal)).changes === 1;
  }

  async release(id: number, signal?: AbortSignal): Promise<void> {
    const s = this.sql(`UPDATE outbox SET next_at = ? WHERE id = ? AND status = 'pending'`);
    await this.write(() => s.run(new Date().toISOString(), id), signal);
  }

  async expire(before: Date, signal?: AbortSignal): Promise<number> {
    // Every poll asks: a read, so the common answer (none) never takes the write lock.
    if (!this.sql(`SELECT 1 FROM outbox WHERE status = 'pending' AND created_at < ? LIMIT 1`).get(before.toISOString())) return 0;
    const s = this.sql(`UPDATE outbox SET status = 'failed', last_error = 'given up: still undelivered after ' || @age
      WHERE status = 'pending' AND created_at < @before`);
    const age = `${Math.round((Date.now() - before.getTime()) / 3_600_000)} h`;
    return (await this.write(() => s.run({ before: before.toISOString(), age }), signal)).changes;
  }

  /**
   * Deletes delivered and failed rows created before `before`; pending rows stay whatever their age
   * (they are given up by `expire`, never dropped unseen). One statement: safe to retry under whenFree.
   */
  prune(before: Date): number {
    return this.sql(`DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND created_at < ?`).run(before.toISOString()).changes;
  }

  summary(): OutboxSummary {
    const row = this.sql(`SELECT
        COALESCE(SUM(status = 'pending'), 0) AS pending,
        MIN(CASE WHEN status = 'pending' THEN created_at END) AS oldestPending,
        COALESCE(SUM(status = 'failed'), 0) AS failed
      FROM outbox`).get() as OutboxSummary;
    return { pending: row.pending, oldestPending: row.oldestPending, failed: row.failed };
  }

  private write<T>(fn: () => T, signal?: AbortSignal, waitMs = this.waitMs): Promise<T> {
    // p-retry ignores a signal that is already aborted and would wait the whole waitMs: past the
    // notifier's deadline a write gets its one synchronous try and no more.
    if (signal?.aborted) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return whenFree(fn, { waitMs, ...(signal ? { signal } : {}) });
  }
}

function toEntry(r: Row): OutboxEntry {
  return { id: r.id, key: r.key, createdAt: r.created_at, hook: r.hook, event: r.event as NotifyEvent, body: r.body, attempts: r.attempts };
}
