// The retention sweep of `warden serve`: at start and every few hours it prunes what the config
// says is old (alert payloads, closed incidents, the loop's write outcomes, delivered
// notifications) and, when `retention.auditArchiveDays` is set, archives old audit entries into
// signed segments. Each pass leaves its result in watch_state for `warden status`. It never
// deletes an audit entry: archiving is the only way one leaves the live table.
import { hostname } from 'node:os';
import { errorMessage } from '../errors.js';
import { whenFree } from '../store/busy.js';
import { pruneBatch, type Pruned } from '../store/retention.js';
import { MIN_ARCHIVE_AGE_MS, archiveAudit } from '../store/audit-archive.js';
import { readAuditKey } from '../store/audit-key.js';
import type { Runtime } from './runtime.js';

/** How often the sweep runs after the first pass. */
export const RETENTION_EVERY_MS = 6 * 60 * 60_000;
/** How long one batch waits for another process's write lock before the pass gives up until next time. */
const LOCK_WAIT_MS = 30_000;
/** How long stop() waits for a pass under way after telling it to stop: shutdown has its own promise to keep. */
const STOP_WAIT_MS = 2_000;
/** Batches one pass runs at most: a backlog of years is worked off over several passes, never in one long burst. */
const MAX_BATCHES = 200;

const DAY_MS = 24 * 60 * 60_000;
const before = (now: Date, days: number): string => new Date(now.getTime() - days * DAY_MS).toISOString();

export type RetentionRuntime = Pick<Runtime, 'config' | 'db' | 'outbox' | 'healthStates' | 'log'>;

export interface RetentionPass extends Pruned {
  notifications: number;
  /** Audit entries moved into archive segments this pass. */
  archived: number;
}

export type AuditArchiver = (before: Date, now: Date, signal?: AbortSignal) => Promise<number>;

/**
 * The audit archiver for the sweep, when `retention.auditArchiveDays` is set: as `warden audit
 * archive` does it, signed with the data dir's key, never inside the longest window a policy limit counts.
 */
export function auditArchiver(rt: Pick<Runtime, 'config' | 'db' | 'audit' | 'policy'>): AuditArchiver | undefined {
  if (rt.config.retention.auditArchiveDays === undefined) return undefined;
  return async (olderThan, now, signal) => {
    const minAgeMs = Math.max(MIN_ARCHIVE_AGE_MS, ...rt.policy.current().limits.map((l) => l.windowMs));
    const key = readAuditKey(rt.config.dataDir) ?? undefined;
    return (await archiveAudit(rt.db, rt.audit, rt.config.dataDir, key, { before: olderThan, by: 'warden', transport: 'internal', minAgeMs, now, ...(signal ? { signal } : {}) })).entries;
  };
}

/** One pass: prunes in batches, then archives the audit when configured. Records its result; never throws. */
export async function retentionPass(rt: RetentionRuntime, archive?: AuditArchiver, now = new Date(), signal?: AbortSignal): Promise<RetentionPass> {
  const r = rt.config.retention;
  const total: RetentionPass = { alerts: 0, incidents: 0, events: 0, modelCalls: 0, outcomes: 0, notifications: 0, archived: 0 };
  let problem: string | undefined;
  try {
    const cutoffs = { alertsBefore: before(now, r.alertsDays), incidentsBefore: before(now, r.incidentsDays), outcomesBefore: before(now, r.incidentsDays) };
    for (let i = 0; i < MAX_BATCHES; i += 1) {
      const batch = await whenFree(() => pruneBatch(rt.db, cutoffs), { waitMs: LOCK_WAIT_MS, ...(signal ? { signal } : {}) });
      for (const k of ['alerts', 'incidents', 'events', 'modelCalls', 'outcomes'] as const) total[k] += batch[k];
      if (!batch.more) break;
    }
    total.notifications = await whenFree(() => rt.outbox.prune(new Date(before(now, r.outboxDays))), { waitMs: LOCK_WAIT_MS, ...(signal ? { signal } : {}) });
    if (r.auditArchiveDays !== undefined && archive) total.archived = await archive(new Date(before(now, r.auditArchiveDays)), now, signal);
  } catch (err) {
    // Cut short by shutdown: the next start's pass takes it up; nothing to report.
    if (signal?.aborted) return total;
    problem = errorMessage(err).slice(0, 300);
  }
  if (signal?.aborted) return total;
  const detail = `${problem ? `failed: ${problem}; ` : ''}pruned ${total.alerts} alert payloads, ${total.incidents} closed incidents (${total.events} timeline events, ${total.modelCalls} model calls), ${total.outcomes} loop outcomes, ${total.notifications} notifications; archived ${total.archived} audit entries`;
  try {
    rt.healthStates.saveWatch({ name: 'retention', at: now.toISOString(), ok: !problem, detail, updatedBy: `${hostname()}:${process.pid}` });
  } catch (err) {
    rt.log.warn({ err: errorMessage(err) }, 'the retention pass could not record its result');
  }
  rt.log[problem ? 'error' : 'info']({ ...total, ...(problem ? { problem } : {}) }, 'retention pass');
  return total;
}

/**
 * Runs a pass now (off the start's path) and then every RETENTION_EVERY_MS. stop() aborts a pass
 * under way and waits for it at most STOP_WAIT_MS: a segment half written is an orphan file that
 * verify ignores, and a batch not committed is simply pruned by the next start.
 */
export function startRetention(rt: RetentionRuntime, archive?: AuditArchiver, everyMs = RETENTION_EVERY_MS): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const abort = new AbortController();
  const run = (): void => {
    if (stopped) return;
    running = running.then(() => (stopped ? undefined : retentionPass(rt, archive, new Date(), abort.signal)));
  };
  const first = setTimeout(run, 1_000);
  const timer = setInterval(run, everyMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      abort.abort();
      clearTimeout(first);
      clearInterval(timer);
      let timer2: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise((r) => { timer2 = setTimeout(r, STOP_WAIT_MS); })]);
      clearTimeout(timer2);
    },
  };
}
