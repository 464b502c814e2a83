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
}
