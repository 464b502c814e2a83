// Safe mode as every process sees it (one row, like the kill switch), and the outcome of each of
// the loop's writes, which the loop reads to decide whether to switch itself to dry run. Switching
// either way is recorded with its audit entry in one transaction.
import type { AuditLog } from './audit.js';
import { statementCache, type Db } from './db.js';

export interface LoopOutcome {
  time: string;
  incidentId: string | null;
  tool: string;
  target: string | null;
  ok: boolean;
  /** write: the call itself failed; verify: it ran and verification said whether it worked. */
  stage: 'write' | 'verify';
  detail: string;
}

export interface SafeModeState {
  on: boolean;
  reason: string | null;
  /** What tripped it: the outcomes it judged, and the rule. */
  evidence: unknown;
  by: string | null;
  at: string | null;
}

const OFF: SafeModeState = { on: false, reason: null, evidence: null, by: null, at: null };

export class SafeModeStore {
  private readonly stmt: ReturnType<typeof statementCache>;

  /** `audit`: the log `record` appends to, whose transaction a switch then runs in (see switchIf). */
  constructor(private readonly db: Db, private readonly audit?: Pick<AuditLog, 'atomically'>) {
    this.stmt = statementCache(db);
  }

  state(): SafeModeState {
    const row = this.stmt(`SELECT on_ AS "on", reason, evidence, by_ AS "by", at FROM loop_safe_mode WHERE id = 1`).get() as
      { on: number; reason: string; evidence: string | null; by: string; at: string } | undefined;
    return row ? { on: row.on === 1, reason: row.reason, evidence: row.evidence ? JSON.parse(row.evidence) as unknown : null, by: row.by, at: row.at } : OFF;
  }

  isOn(): boolean {
    return this.state().on;
  }

  /** Switches it on or off; `record` (its audit entry) runs in the same transaction. */
  set(on: boolean, by: string, reason: string, evidence: unknown, record: () => void, now = new Date()): SafeModeState {
    this.switchIf(() => true, on, by, reason, evidence, record, now);
    return this.state();
  }

  /**
   * Switches it only when `still(current)` holds inside the switch's own transaction: a trip judged on
   * outcomes a person just re-armed past, or a re-arm of a loop another person re-armed already, does
   * nothing. Returns whether it switched. Run as the audit's own transaction, so the anchor names
   * the entry only once the switch committed with it.
   */
  switchIf(still: (current: SafeModeState) => boolean, on: boolean, by: string, reason: string, evidence: unknown, record: () => void, now = new Date()): boolean {
    const write = (): boolean => {
      if (!still(this.state())) return false;
      this.stmt(`INSERT INTO loop_safe_mode (id, on_, reason, evidence, by_, at) VALUES (1, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET on_ = excluded.on_, reason = excluded.reason, evidence = excluded.evidence, by_ = excluded.by_, at = excluded.at`)
        .run(on ? 1 : 0, reason, evidence === null || evidence === undefined ? null : JSON.stringify(evidence), by, now.toISOString());
      record();
      return true;
    };
    return this.audit ? this.audit.atomically(write) : this.db.transaction(write).immediate();
  }

  recordOutcome(o: LoopOutcome): void {
    this.stmt(`INSERT INTO loop_outcomes (time, incident_id, tool, target, ok, stage, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(o.time, o.incidentId, o.tool, o.target, o.ok ? 1 : 0, o.stage, o.detail.slice(0, 500));
  }

  /** Outcomes after `since` (exclusive), oldest first, at most `limit` of the newest. */
  outcomesSince(since: string, limit = 1_000): LoopOutcome[] {
    const rows = this.stmt(`SELECT time, incident_id AS incidentId, tool, target, ok, stage, detail FROM loop_outcomes
      WHERE time > ? ORDER BY id DESC LIMIT ?`).all(since, limit) as Array<Omit<LoopOutcome, 'ok'> & { ok: number }>;
    return rows.reverse().map((r) => ({ ...r, ok: r.ok === 1 }));
  }

  /** Drops outcomes older than `before`; returns how many. */
  prune(before: string): number {
    return this.stmt('DELETE FROM loop_outcomes WHERE time < ?').run(before).changes;
  }
}
