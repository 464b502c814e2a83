// The kill switch as every process sees it: one row in the database, read at each call, so
// `warden killswitch on` stops writes in a running stdio server, the daemon and the loop alike.
import type { AuditLog } from './audit.js';
import type { Db } from './db.js';

export interface KillSwitchState {
  on: boolean;
  reason: string | null;
  by: string | null;
  at: string | null;
}

export class KillSwitchStore {
  private readonly read;

  /** `audit`: the log `record` appends to, whose transaction the switch then runs in (see set). */
  constructor(private readonly db: Db, private readonly audit?: Pick<AuditLog, 'atomically'>) {
    this.read = db.prepare(`SELECT on_ AS "on", reason, by_ AS "by", at FROM kill_switch WHERE id = 1`);
  }

  state(): KillSwitchState {
    const row = this.read.get() as { on: number; reason: string | null; by: string | null; at: string | null } | undefined;
    return row ? { ...row, on: row.on === 1 } : { on: false, reason: null, by: null, at: null };
  }

  isOn(): boolean {
    return this.state().on;
  }

  /**
   * Sets the switch; `record` runs in the same transaction (its audit entry). Run as the audit's own
   * transaction, so the anchor names the entry only once the switch committed with it.
   */
  set(on: boolean, by: string, reason: string | null, record: () => void, now = new Date()): KillSwitchState {
    this.run(() => { this.write(on, by, reason, record, now); });
    return this.state();
  }

  /**
   * Sets it only when it is not `on` already, judged inside the transaction: a second "on" (a double
   * submit, a stale page, two people at once) leaves the standing switch's author and reason, and
   * records nothing. Returns whether it switched.
   */
  switchTo(on: boolean, by: string, reason: string | null, record: () => void, now = new Date()): boolean {
    return this.run(() => {
      if (this.state().on === on) return false;
      this.write(on, by, reason, record, now);
      return true;
    });
  }

  private write(on: boolean, by: string, reason: string | null, record: () => void, now: Date): void {
    this.db.prepare(`INSERT INTO kill_switch (id, on_, reason, by_, at) VALUES (1, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET on_ = excluded.on_, reason = excluded.reason, by_ = excluded.by_, at = excluded.at`)
      .run(on ? 1 : 0, reason, by, now.toISOString());
    record();
  }

  private run<T>(fn: () => T): T {
    return this.audit ? this.audit.atomically(fn) : this.db.transaction(fn).immediate();
  }
}
