// The last state of each circuit breaker and of each of warden's own watches (heartbeat, watchdog,
// retention), as the process that runs them saw it: written on every change, read by `warden
// status` and `warden doctor` from another process. A report, never a source of decisions.
import { statementCache, type Db } from './db.js';

export interface BreakerRow {
  name: string;
  state: 'closed' | 'open' | 'half_open';
  since: string;
  failures: number;
  lastError: string | null;
  retryAt: string | null;
  updatedBy: string;
}

export interface WatchRow {
  /** heartbeat | watchdog | retention */
  name: string;
  at: string;
  ok: boolean;
  detail: string;
  updatedBy: string;
}

/** The notification outbox (store/outbox.ts writes it) as `warden status` reports it. */
export interface OutboxSummary {
  pending: number;
  /** created_at of the oldest pending row. */
  oldestPending: string | null;
  /** Rows given up on (status failed) created at or after `failedSince`. */
  failed: number;
  lastFailure: { at: string; hook: string; event: string; error: string | null } | null;
}

export class HealthStateStore {
  private readonly stmt: ReturnType<typeof statementCache>;

  constructor(db: Db) {
    this.stmt = statementCache(db);
  }

  saveBreaker(r: BreakerRow): void {
    this.stmt(`INSERT INTO breaker_state (name, state, since, failures, last_error, retry_at, updated_by)
      VALUES (@name, @state, @since, @failures, @lastError, @retryAt, @updatedBy)
      ON CONFLICT (name) DO UPDATE SET state = excluded.state, since = excluded.since, failures = excluded.failures,
        last_error = excluded.last_error, retry_at = excluded.retry_at, updated_by = excluded.updated_by`).run(r);
  }

  /** Forgets what `owner` (`host:pid`) saved: its breakers end with it, and a new process starts with every breaker closed. */
  forgetBreakers(owner: string): void {
    this.stmt('DELETE FROM breaker_state WHERE updated_by = ?').run(owner);
  }

  breakers(): BreakerRow[] {
    return this.stmt(`SELECT name, state, since, failures, last_error AS lastError, retry_at AS retryAt, updated_by AS updatedBy
      FROM breaker_state ORDER BY name`).all() as BreakerRow[];
  }

  saveWatch(r: WatchRow): void {
    this.stmt(`INSERT INTO watch_state (name, at, ok, detail, updated_by) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET at = excluded.at, ok = excluded.ok, detail = excluded.detail, updated_by = excluded.updated_by`)
      .run(r.name, r.at, r.ok ? 1 : 0, r.detail.slice(0, 1_000), r.updatedBy);
  }

  watches(): WatchRow[] {
    const rows = this.stmt(`SELECT name, at, ok, detail, updated_by AS updatedBy FROM watch_state ORDER BY name`).all() as Array<Omit<WatchRow, 'ok'> & { ok: number }>;
    return rows.map((r) => ({ ...r, ok: r.ok === 1 }));
  }

  /** A plain read of the outbox table: pending rows, and rows given up on since `failedSince` (ISO). */
  outboxSummary(failedSince: string): OutboxSummary {
    const pending = this.stmt(`SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE status = 'pending'`).get() as { n: number; oldest: string | null };
    const failed = this.stmt(`SELECT count(*) AS n FROM outbox WHERE status = 'failed' AND created_at >= ?`).get(failedSince) as { n: number };
    const last = this.stmt(`SELECT created_at AS at, hook, event, last_error AS error FROM outbox
      WHERE status = 'failed' AND created_at >= ? ORDER BY id DESC LIMIT 1`).get(failedSince) as OutboxSummary['lastFailure'] | undefined;
    return { pending: pending.n, oldestPending: pending.oldest, failed: failed.n, lastFailure: last ?? null };
  }
}

/** Bytes the write probe adds and removes: enough to need a page of its own, so a full database says so. */
const PROBE_BYTES = 8_192;

/**
 * A real write, committed: a row of PROBE_BYTES inserted and deleted in one transaction. A database
 * or disk that is full, read-only or failing throws here as the audit's own writes would; nothing stays.
 */
export function probeWrite(db: Db): void {
  db.transaction(() => {
    db.prepare(`INSERT INTO watch_state (name, at, ok, detail, updated_by) VALUES ('write-probe', ?, 1, hex(randomblob(?)), 'healthz')
      ON CONFLICT (name) DO UPDATE SET detail = excluded.detail`).run(new Date().toISOString(), PROBE_BYTES / 2);
    db.prepare(`DELETE FROM watch_state WHERE name = 'write-probe'`).run();
  }).immediate();
}
