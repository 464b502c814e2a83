// Refused HTTP requests (401, 403) on the tool and approval routes, in the audit, without letting a
// client that keeps knocking grow it at will or slow the gateway down. Refusals are grouped by
// remote address, status, principal and route: the first of a group in a window is written at once,
// the rest are only counted and written as one entry ("N more refusals like this since T") when
// the window ends, or when the gateway closes. Groups are capped; past the cap, new ones share one
// overflow group. A write that fails (the database locked by another process) is logged and kept
// for the next try: it never reaches the request being answered.
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditInput, AuditLog } from '../store/audit.js';
import { canonicalJson, sha256 } from '../store/canonical.js';

/** The audit's tool column for a refused HTTP request; the route pattern is its target. */
export const REFUSAL_TOOL = 'http.auth';
/** The principal of a refusal whose token is missing or not one of ours. */
export const ANONYMOUS = 'anonymous';

export interface Refusal {
  /** The route pattern ('/mcp', '/approvals/:id/approve'), never the raw path. */
  route: string;
  method: string;
  status: number;
  /** The token's principal when the token is known, else ANONYMOUS. */
  principal: string;
  /** The peer's address, or 'unknown'. */
  remote: string;
  /** What the client was told. Never the token, nor any part of it. */
  reason: string;
}

export interface RefusalAuditOptions {
  windowMs?: number;
  maxGroups?: number;
  now?: () => number;
}

interface Group {
  /** The first refusal of the group, whose details the aggregate entries stand for. */
  sample: Refusal;
  sampleWritten: boolean;
  windowStart: number;
  windowEnd: number;
  /** Refusals counted since the last entry written for this group. */
  unwritten: number;
  lastReason: string;
}

const REASON_MAX = 200;
const OVERFLOW = '*';

export class RefusalAudit {
  private readonly windowMs: number;
  private readonly maxGroups: number;
  private readonly now: () => number;
  /** In insertion order, which is windowEnd order: a group whose window restarts is moved to the end. */
  private readonly groups = new Map<string, Group>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly audit: Pick<AuditLog, 'append'>, private readonly log: Logger, opts: RefusalAuditOptions = {}) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxGroups = opts.maxGroups ?? 1_000;
    this.now = opts.now ?? Date.now;
  }

  /** Never throws: a refusal is answered whether or not its audit entry could be written. */
  record(refusal: Refusal): void {
    try {
      this.add({ ...refusal, reason: refusal.reason.slice(0, REASON_MAX) });
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'audit: a refused HTTP request could not be recorded');
    }
  }

  /** Groups tracked now (at most maxGroups + 1, the overflow group). */
  get size(): number {
    return this.groups.size;
  }

  /** Writes every count still pending; what cannot be written is logged. Refusals after this are written one by one. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [key, group] of this.groups) {
      const lost = group.unwritten + (group.sampleWritten ? 0 : 1);
      if (!this.flush(group)) this.log.error({ group: key, refusals: lost }, 'audit: refused HTTP requests lost at close');
    }
    this.groups.clear();
  }

  private add(refusal: Refusal): void {
    const now = this.now();
    if (this.closed) {
      this.write(entryOf(refusal, refusal.reason), refusal);
      return;
    }
    this.sweep(now);
    let key = [refusal.remote, refusal.status, refusal.principal, refusal.route].join(' ');
    let group = this.groups.get(key);
    if (!group && this.groups.size >= this.maxGroups) {
      key = OVERFLOW;
      group = this.groups.get(key);
      refusal = group ? refusal : overflowSample(refusal, this.maxGroups, this.windowMs);
    }
    if (group) {
      group.unwritten += 1;
      group.lastReason = refusal.reason;
      return;
    }
    const sampleWritten = this.write(entryOf(refusal, refusal.reason), refusal);
    this.groups.set(key, { sample: refusal, sampleWritten, windowStart: now, windowEnd: now + this.windowMs, unwritten: 0, lastReason: refusal.reason });
    this.schedule();
  }

  /** Ends the windows that are over: writes what they counted, keeps the group while refusals keep coming. */
  private sweep(now: number): void {
    for (const [key, group] of this.groups) {
      if (group.windowEnd > now) break;
      this.groups.delete(key);
      const busy = group.unwritten > 0 || !group.sampleWritten;
      if (!busy) continue;
      // Written: the next window counts from now, and its first refusal is not written at once
      // (the group is still knocking). Not written: kept, with its counts, for the next try.
      if (this.flush(group)) Object.assign(group, { windowStart: now, unwritten: 0 });
      group.windowEnd = now + this.windowMs;
      this.groups.set(key, group);
    }
  }

  /** Writes what the group holds unwritten; false when the audit refused the write. */
  private flush(group: Group): boolean {
    const { sample, unwritten } = group;
    if (group.sampleWritten && unwritten === 0) return true;
    const since = new Date(group.windowStart).toISOString();
    const more = `${unwritten} more refusal${unwritten === 1 ? '' : 's'} like this since ${since}`;
    const result = group.sampleWritten ? `${more}; the last: ${group.lastReason}` : unwritten > 0 ? `${sample.reason}; and ${more}` : sample.reason;
    const ok = this.write(entryOf(sample, result, unwritten > 0 ? { count: unwritten, since } : {}), sample);
    if (ok) Object.assign(group, { sampleWritten: true, unwritten: 0 });
    return ok;
  }

  private write(input: AuditInput, refusal: Refusal): boolean {
    try {
      this.audit.append(input);
      return true;
    } catch (err) {
      // Typically SQLITE_BUSY: another process holds the write lock. The count is kept for later.
      this.log.error({ err: errorMessage(err), route: refusal.route, status: refusal.status, principal: refusal.principal }, 'audit: could not write a refused HTTP request; kept for later');
      return false;
    }
  }

  private schedule(): void {
    if (this.timer || this.groups.size === 0) return;
    const first = this.groups.values().next().value!;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A throw from a timer would end the process: whatever goes wrong here is logged instead.
      try {
        this.sweep(this.now());
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'audit: counting refused HTTP requests failed');
      }
      this.schedule();
    }, Math.max(0, first.windowEnd - this.now()));
    this.timer.unref();
  }
}

function entryOf(r: Refusal, result: string, extra: { count?: number; since?: string } = {}): AuditInput {
  const args = { route: r.route, method: r.method, status: r.status, remote: r.remote, ...extra };
  return {
    callId: `http.auth:${randomUUID()}`,
    principal: r.principal,
    transport: 'http',
    tool: REFUSAL_TOOL,
    target: r.route,
    args,
    argsHash: sha256(canonicalJson(args)),
    decision: 'deny',
    phase: 'denied',
    errorKind: 'denied',
    result,
  };
}

/** The one group past the cap: it stands for every new kind of refusal until the windows end. */
function overflowSample(first: Refusal, maxGroups: number, windowMs: number): Refusal {
  return {
    route: OVERFLOW, method: OVERFLOW, status: first.status, principal: ANONYMOUS, remote: OVERFLOW,
    reason: `more than ${maxGroups} kinds of refusal within ${windowMs / 1000} s; new ones are counted together (the first: ${first.status} ${first.route} from ${first.remote}, ${first.principal}: ${first.reason})`
      .slice(0, REASON_MAX * 2),
  };
}
