// Keeping records bounded: alert payloads, closed incidents (with their timelines and model calls)
// and the loop's write outcomes older than their cutoffs are deleted, a batch at a time so no
// transaction holds the write lock for long. Never an active incident, nor one an active incident
// waits on, nor one whose fix a person validated (what search_incidents learns from); never the audit (it is archived, not deleted: store/audit-archive.ts).
import type { Db } from './db.js';

export interface RetentionCutoffs {
  /** ISO times: records older than these go. */
  alertsBefore: string;
  incidentsBefore: string;
  outcomesBefore: string;
}

export interface Pruned {
  alerts: number;
  incidents: number;
  events: number;
  modelCalls: number;
  outcomes: number;
}

/** Rows of each kind one transaction deletes at most. */
export const PRUNE_BATCH = 500;

const CLOSED = `status IN ('resolved', 'escalated')`;

/** One batch in one IMMEDIATE transaction; call again while `more` says a kind filled its batch. */
export function pruneBatch(db: Db, c: RetentionCutoffs): Pruned & { more: boolean } {
  return db.transaction(() => {
    const alerts = db.prepare(`DELETE FROM alert_payloads WHERE id IN (SELECT id FROM alert_payloads WHERE received_at < ? ORDER BY id LIMIT ?)`).run(c.alertsBefore, PRUNE_BATCH).changes;
    const ids = (db.prepare(`SELECT id FROM incidents WHERE ${CLOSED} AND COALESCE(closed_at, updated_at) < ? AND validated_at IS NULL
      AND id NOT IN (SELECT parent_id FROM incidents WHERE parent_id IS NOT NULL AND NOT ${CLOSED}) ORDER BY opened_at LIMIT ?`)
      .all(c.incidentsBefore, PRUNE_BATCH) as { id: string }[]).map((r) => r.id);
    let events = 0;
    let modelCalls = 0;
    for (const id of ids) {
      events += db.prepare('DELETE FROM incident_events WHERE incident_id = ?').run(id).changes;
      modelCalls += db.prepare('DELETE FROM model_calls WHERE incident_id = ?').run(id).changes;
      db.prepare('DELETE FROM incidents WHERE id = ?').run(id);
    }
    const outcomes = db.prepare(`DELETE FROM loop_outcomes WHERE id IN (SELECT id FROM loop_outcomes WHERE time < ? ORDER BY id LIMIT ?)`).run(c.outcomesBefore, PRUNE_BATCH).changes;
    const more = alerts === PRUNE_BATCH || ids.length === PRUNE_BATCH || outcomes === PRUNE_BATCH;
    return { alerts, incidents: ids.length, events, modelCalls, outcomes, more };
  }).immediate();
}
