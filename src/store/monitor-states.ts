// The last state of each of warden's own monitors, as the daemon that runs them saw it: written on
// every change and refreshed in one transaction a minute or so, read by `warden monitors status`
// from another process. A cache of what the monitors know, never a source of alerts by itself.
import { statementCache, type Db } from './db.js';

export const MONITOR_KINDS = ['probe', 'tls', 'threshold'] as const;

export interface MonitorStateRow {
  id: string;
  kind: (typeof MONITOR_KINDS)[number];
  /** The service (probe, tls) or host (threshold) it watches. */
  subject: string;
  /** probe: pending | up | down; tls: ok | firing; threshold: ok | pending | firing | unknown (cannot be read). */
  state: string;
  /** When the state last changed (ISO). */
  since: string;
  checkedAt: string | null;
  /** probe: latency in ms; tls: days left; threshold: the level read. */
  value: number | null;
  detail: string;
  updatedBy: string;
}

export class MonitorStateStore {
  private readonly stmt: ReturnType<typeof statementCache>;

  constructor(private readonly db: Db) {
    this.stmt = statementCache(db);
  }

  /** Upserts these rows and drops the monitors that are no longer declared, in one transaction. */
  replace(rows: readonly MonitorStateRow[]): void {
    const upsert = this.stmt(`INSERT INTO monitor_state (id, kind, subject, state, since, checked_at, value, detail, updated_by)
      VALUES (@id, @kind, @subject, @state, @since, @checkedAt, @value, @detail, @updatedBy)
      ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, subject = excluded.subject, state = excluded.state, since = excluded.since,
        checked_at = excluded.checked_at, value = excluded.value, detail = excluded.detail, updated_by = excluded.updated_by`);
    this.db.transaction(() => {
      for (const r of rows) upsert.run(r);
      const keep = new Set(rows.map((r) => r.id));
      for (const { id } of this.stmt('SELECT id FROM monitor_state').all() as { id: string }[]) {
        if (!keep.has(id)) this.stmt('DELETE FROM monitor_state WHERE id = ?').run(id);
      }
    }).immediate();
  }

  list(): MonitorStateRow[] {
    return this.stmt(`SELECT id, kind, subject, state, since, checked_at AS checkedAt, value, detail, updated_by AS updatedBy
      FROM monitor_state ORDER BY id`).all() as MonitorStateRow[];
  }
}
