// Approval requests: a held call's exact arguments hash, principal and expiry. An approved
// request is claimed by at most one call at a time, atomically, and only by the same principal,
// tool and arguments; the claim is final unless that call failed before acting (release).
import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used' | 'expired';

export interface Approval {
  id: string;
  createdAt: string;
  expiresAt: string;
  principal: string;
  tool: string;
  target: string | null;
  args: string;
  argsHash: string;
  risk: string;
  rule: string;
  reason: string;
  status: ApprovalStatus;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  usedAt: string | null;
  incidentId: string | null;
}

/** What a held call stores; `args` is redacted canonical JSON, for the human deciding. */
export type NewApproval = Pick<Approval, 'principal' | 'tool' | 'target' | 'args' | 'argsHash' | 'risk' | 'rule' | 'reason'> & {
  ttlMs: number;
  incidentId?: string | null;
};

const COLUMNS = `id, created_at AS createdAt, expires_at AS expiresAt, principal, tool, target, args, args_hash AS argsHash,
  risk, rule, reason, status, decided_by AS decidedBy, decided_at AS decidedAt, decision_reason AS decisionReason,
  used_at AS usedAt, incident_id AS incidentId`;

/** Expiry is derived when read, so a stored row never needs a sweeper to be correct. */
function withExpiry(a: Approval, now: Date): Approval {
  if ((a.status === 'pending' || a.status === 'approved') && a.expiresAt <= now.toISOString()) return { ...a, status: 'expired' };
  return a;
}

export type UseRefusal = 'unknown' | 'other-call' | 'pending' | 'denied' | 'used' | 'expired';

export class ApprovalStore {
  constructor(private readonly db: Db) {}

  create(req: NewApproval, now = new Date()): Approval {
    const id = `apr_${randomBytes(9).toString('base64url')}`;
    this.db
      .prepare(`INSERT INTO approvals (id, created_at, expires_at, principal, tool, target, args, args_hash, risk, rule, reason, status, incident_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`)
      .run(id, now.toISOString(), new Date(now.getTime() + req.ttlMs).toISOString(), req.principal, req.tool, req.target,
        req.args, req.argsHash, req.risk, req.rule, req.reason, req.incidentId ?? null);
    return this.get(id, now)!;
  }

  get(id: string, now = new Date()): Approval | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM approvals WHERE id = ?`).get(id) as Approval | undefined;
    return row && withExpiry(row, now);
  }

  list(opts: { status?: ApprovalStatus; limit?: number } = {}, now = new Date()): Approval[] {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM approvals ORDER BY created_at DESC LIMIT ?`).all(opts.limit ?? 100) as Approval[];
    const all = rows.map((r) => withExpiry(r, now));
    return opts.status ? all.filter((a) => a.status === opts.status) : all;
  }

  /** How many requests wait for a decision and have not expired. */
  countPending(now = new Date()): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM approvals WHERE status = 'pending' AND expires_at > ?`).get(now.toISOString()) as { n: number }).n;
  }

  /** Records a human's decision on a pending, unexpired request; returns the request as it now stands. */
  decide(id: string, verdict: 'approved' | 'denied', by: string, reason: string | null, now = new Date()): Approval {
    const after = this.tryDecide(id, verdict, by, reason, now);
    if (!after) {
      const current = this.get(id, now);
      throw new Error(current ? `approval ${id} is ${current.status}, not pending` : `no approval ${id}`);
    }
    return after;
  }

  /** Decides a request still pending and not expired; undefined when it was not (someone was quicker). */
  tryDecide(id: string, verdict: 'approved' | 'denied', by: string, reason: string | null, now = new Date()): Approval | undefined {
    const changed = this.db
      .prepare(`UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?
        WHERE id = ? AND status = 'pending' AND expires_at > ?`)
      .run(verdict, by, now.toISOString(), reason, id, now.toISOString()).changes;
    return changed === 1 ? this.get(id, now) : undefined;
  }

  /**
   * Denies, as warden, every request of this incident still pending or approved but not used: the
   * incident closed, so none of them may run. Returns the requests it cancelled.
   */
  cancelForIncident(incidentId: string, reason: string, now = new Date()): Approval[] {
    return this.db.transaction(() => {
      const open = this.db.prepare(`SELECT id FROM approvals WHERE incident_id = ? AND status IN ('pending', 'approved') AND expires_at > ?`)
        .all(incidentId, now.toISOString()) as Array<{ id: string }>;
      const cancel = this.db.prepare(`UPDATE approvals SET status = 'denied', decided_by = 'warden', decided_at = ?, decision_reason = ?
        WHERE id = ? AND status IN ('pending', 'approved')`);
      for (const { id } of open) cancel.run(now.toISOString(), `cancelled: ${reason}`, id);
      return open.map(({ id }) => this.get(id, now)!);
    }).immediate();
  }

  /**
   * Claims an approved request for exactly this call; the UPDATE is the atomic check, so of calls
   * racing with one approval exactly one gets it. A claimed request reads as `used`: it stays so
   * unless release() gives it back.
   */
  claim(id: string, call: { principal: string; tool: string; argsHash: string }, now = new Date()): { ok: true } | { ok: false; why: UseRefusal } {
    const changed = this.db
      .prepare(`UPDATE approvals SET status = 'used', used_at = ?
        WHERE id = ? AND status = 'approved' AND expires_at > ? AND principal = ? AND tool = ? AND args_hash = ?`)
      .run(now.toISOString(), id, now.toISOString(), call.principal, call.tool, call.argsHash).changes;
    if (changed === 1) return { ok: true };
    const a = this.get(id, now);
    if (!a) return { ok: false, why: 'unknown' };
    if (a.principal !== call.principal || a.tool !== call.tool || a.argsHash !== call.argsHash) return { ok: false, why: 'other-call' };
    return { ok: false, why: a.status as UseRefusal };
  }

  /**
   * Gives a claimed request back, approved as before, for the call that claimed it and failed
   * before acting; only that call may, once. False when it cannot be used again anyway: it has
   * expired, or its incident has closed since (cancelForIncident passed over it while it was claimed).
   */
  release(id: string, now = new Date()): boolean {
    return this.db
      .prepare(`UPDATE approvals SET status = 'approved', used_at = NULL
        WHERE id = ? AND status = 'used' AND expires_at > ?
          AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = approvals.incident_id AND i.closed_at IS NOT NULL)`)
      .run(id, now.toISOString()).changes === 1;
  }
}
