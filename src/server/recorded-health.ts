// What running warden processes recorded about their own health (kill switch, safe mode, circuit
// breakers, watches, the notification outbox, open work), read from the database and judged for
// `warden status` and the console's Health page; `warden doctor` reuses the gate's part. Reads only:
// never a source of decisions.
import { hostname } from 'node:os';
import { WATCHDOG_EVERY_MS } from '../loop/runner.js';
import { RETENTION_EVERY_MS } from './retention.js';
import { formatDurationMs } from '../shared/durations.js';
import { ACTIVE_STATUSES } from '../shared/incident-machine.js';
import { ApprovalStore } from '../store/approvals.js';
import type { Db } from '../store/db.js';
import { HealthStateStore, type BreakerRow, type OutboxSummary, type WatchRow } from '../store/health-states.js';
import { IncidentStore } from '../store/incidents.js';
import { KillSwitchStore, type KillSwitchState } from '../store/kill-switch.js';
import { MonitorStateStore } from '../store/monitor-states.js';
import { SafeModeStore, type SafeModeState } from '../store/safe-mode.js';
import { EXPIRY_WARNING_MS, TokenStore, expiryWarning } from '../store/tokens.js';
import { ago, fail, ok, origin, warn, type HealthCheck } from '../shared/health-checks.js';
import { SYSTEM_PRINCIPAL, isLoopPrincipal } from '../shared/roles.js';

/** A notification still pending after this long means a webhook is down. */
export const OUTBOX_LATE_MS = 15 * 60_000;
/** Notifications given up on count as a problem for this long. */
const GIVEN_UP_WINDOW_MS = 24 * 3_600_000;
/** The heartbeat is stale after this many of its intervals without a beat. */
const HEARTBEAT_MISSED = 3;

/**
 * How often `warden serve` runs each of its other watches, and how long after its last row one is
 * stale: a few missed runs, with slack for a pass that waited on the database or ran long. A stale
 * watch is a warning, not a problem: serve may simply not be running (the heartbeat, when
 * configured, is the one whose silence is a problem).
 */
const WATCH_CADENCE: ReadonlyMap<string, { everyMs: number; staleMs: number; runner: string }> = new Map([
  // Every 30 s: stale after 3 minutes.
  ['watchdog', { everyMs: WATCHDOG_EVERY_MS, staleMs: 6 * WATCHDOG_EVERY_MS, runner: '`warden serve` running with the loop on' }],
  // Every 6 h: stale after 13 h, two missed passes and an hour.
  ['retention', { everyMs: RETENTION_EVERY_MS, staleMs: 2 * RETENTION_EVERY_MS + 3_600_000, runner: '`warden serve` running' }],
]);

export interface RecordedHealth {
  killSwitch: KillSwitchState;
  safeMode: SafeModeState;
  breakers: BreakerRow[];
  watches: WatchRow[];
  outbox: OutboxSummary;
  /** Active incidents by status. */
  incidents: Record<string, number>;
  approvals: { pending: number };
  monitors: { down: string[]; firing: string[] };
}

/** Outbox rows name a hook by host and digest; should one hold a URL, only its origin is shown (paths carry secrets). */
function shownHook(o: OutboxSummary): OutboxSummary {
  const hook = o.lastFailure?.hook;
  if (!o.lastFailure || !hook || !/^[a-z][a-z0-9+.-]*:\/\//i.test(hook)) return o;
  return { ...o, lastFailure: { ...o.lastFailure, hook: origin(hook) } };
}

export function readRecordedHealth(db: Db, now: Date): RecordedHealth {
  const health = new HealthStateStore(db);
  const incidents = new IncidentStore(db).countActive();
  const monitors = new MonitorStateStore(db).list();
  return {
    killSwitch: new KillSwitchStore(db).state(),
    safeMode: new SafeModeStore(db).state(),
    breakers: health.breakers(),
    watches: health.watches(),
    outbox: shownHook(health.outboxSummary(new Date(now.getTime() - GIVEN_UP_WINDOW_MS).toISOString())),
    incidents,
    approvals: { pending: new ApprovalStore(db).countPending(now) },
    monitors: {
      down: monitors.filter((m) => m.state === 'down').map((m) => m.id),
      firing: monitors.filter((m) => m.state === 'firing').map((m) => m.id),
    },
  };
}

const by = (who: string | null, at: string | null, now: Date): string => `${who ? ` by ${who}` : ''}${at ? ` ${ago(at, now)}` : ''}`;

/**
 * The switches in front of every write: the kill switch and a pause a person chose are shown, never a
 * problem; safe mode the loop switched on itself is (its writes kept failing).
 */
function switchChecks(h: RecordedHealth, now: Date): HealthCheck[] {
  const ks = h.killSwitch;
  const sm = h.safeMode;
  return [
    ks.on ? warn('kill switch', `ON${by(ks.by, ks.at, now)}${ks.reason ? `: ${ks.reason}` : ''}; only read tools run`) : ok('kill switch', 'off'),
    sm.on && sm.by !== null && !isLoopPrincipal(sm.by) && sm.by !== SYSTEM_PRINCIPAL
      ? warn('safe mode', `ON (paused${by(sm.by, sm.at, now)}): ${sm.reason ?? 'no reason recorded'}; the loop's writes are dry runs until \`warden loop arm\``)
      : sm.on
      ? fail('safe mode', `ON${by(sm.by, sm.at, now)}: ${sm.reason ?? 'no reason recorded'}; the loop's writes are dry runs until \`warden loop arm\``)
      : ok('safe mode', 'off'),
  ];
}

/** A breaker row saved by a process of this machine that is gone: its breakers went with it (one that crashed could not clear them). */
function leftBehind(updatedBy: string): boolean {
  const at = updatedBy.lastIndexOf(':');
  const pid = Number(updatedBy.slice(at + 1));
  if (updatedBy.slice(0, at) !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ESRCH';
  }
}

function breakerChecks(rows: readonly BreakerRow[], now: Date): HealthCheck[] {
  const closed = rows.filter((b) => b.state === 'closed').length;
  const out: HealthCheck[] = [ok('breakers', rows.length === 0 ? 'none has tripped' : `${closed} of ${rows.length} closed`)];
  for (const b of rows) {
    const last = b.lastError ? `, last: ${b.lastError}` : '';
    if (b.state !== 'closed' && leftBehind(b.updatedBy)) {
      out.push(warn(`breaker ${b.name}`, `was ${b.state.replace('_', ' ')} in process ${b.updatedBy}, which is gone (${b.failures} failures${last}); a running warden starts it closed`));
      continue;
    }
    if (b.state === 'open') out.push(fail(`breaker ${b.name}`, `open since ${ago(b.since, now)} (${b.failures} failures${last}); next trial at ${b.retryAt ?? 'an unknown time'}`));
    if (b.state === 'half_open') out.push(warn(`breaker ${b.name}`, `half open since ${ago(b.since, now)}: one trial call decides (${b.failures} failures${last})`));
  }
  return out;
}

/** One watch's last row: a failure is a problem; a pass older than its cadence allows is a warning. */
function watchCheck(w: WatchRow, now: Date): HealthCheck {
  const name = `watch ${w.name}`;
  if (!w.ok) return fail(name, `failed ${ago(w.at, now)}: ${w.detail}`);
  const detail = `ok ${ago(w.at, now)}${w.detail ? `: ${w.detail}` : ''}`;
  const cadence = WATCH_CADENCE.get(w.name);
  const at = Date.parse(w.at);
  if (!cadence || Number.isNaN(at) || now.getTime() - at <= cadence.staleMs) return ok(name, detail);
  return warn(name, `stale: last ran ${ago(w.at, now)}${w.detail ? ` (${w.detail})` : ''}, expected every ${formatDurationMs(cadence.everyMs)}: is ${cadence.runner}?`);
}

function watchChecks(rows: readonly WatchRow[], heartbeatSeconds: number | undefined, now: Date): HealthCheck[] {
  const out = rows.map((w) => watchCheck(w, now));
  if (heartbeatSeconds === undefined) return out.length ? out : [ok('watches', 'none recorded')];
  const beat = rows.find((w) => w.name === 'heartbeat');
  if (!beat) return [...out, warn('watch heartbeat', 'configured (loop.heartbeat) but never recorded: is `warden serve` running with the loop on?')];
  const lateMs = now.getTime() - Date.parse(beat.at) - HEARTBEAT_MISSED * heartbeatSeconds * 1_000;
  if (lateMs <= 0) return out;
  return [
    ...out.filter((c) => c.name !== 'watch heartbeat'),
    fail('watch heartbeat', `stale: last ${ago(beat.at, now)}, expected every ${heartbeatSeconds}s: is \`warden serve\` running?`),
  ];
}

function outboxChecks(o: OutboxSummary, now: Date): HealthCheck[] {
  const out: HealthCheck[] = [];
  const late = o.oldestPending !== null && now.getTime() - Date.parse(o.oldestPending) > OUTBOX_LATE_MS;
  if (o.pending === 0) out.push(ok('outbox', 'nothing pending'));
  else if (late) out.push(fail('outbox', `${o.pending} notifications undelivered, the oldest from ${ago(o.oldestPending, now)}: a webhook is down or refusing them`));
  else out.push(ok('outbox', `${o.pending} pending, the oldest from ${ago(o.oldestPending, now)}`));
  if (o.failed > 0 && o.lastFailure) {
    out.push(fail('outbox given up', `${o.failed} notifications given up on in the last 24h; the last, ${o.lastFailure.event} to ${o.lastFailure.hook}: ${o.lastFailure.error ?? 'no error recorded'}`));
  }
  return out;
}

function workChecks(h: RecordedHealth): HealthCheck[] {
  const open = ACTIVE_STATUSES.filter((s) => h.incidents[s]).map((s) => `${h.incidents[s]} ${s}`);
  const { down, firing } = h.monitors;
  const list = (ids: string[]): string => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, and ${ids.length - 5} more` : ''}`;
  return [
    ok('incidents', open.length ? open.join(', ') : 'none open'),
    h.approvals.pending ? warn('approvals', `${h.approvals.pending} pending a human: warden approvals list`) : ok('approvals', 'none pending'),
    down.length || firing.length
      ? warn('monitors', [down.length ? `${down.length} down: ${list(down)}` : '', firing.length ? `${firing.length} firing: ${list(firing)}` : ''].filter(Boolean).join('; '))
      : ok('monitors', 'none down or firing'),
  ];
}

/** For `warden doctor`: what stands in front of every write. */
export function gateChecks(h: RecordedHealth, now: Date): HealthCheck[] {
  return [...switchChecks(h, now), ...breakerChecks(h.breakers, now)];
}

/** For `warden status`: everything recorded. */
export function recordedChecks(h: RecordedHealth, heartbeatSeconds: number | undefined, now: Date): HealthCheck[] {
  return [...gateChecks(h, now), ...watchChecks(h.watches, heartbeatSeconds, now), ...outboxChecks(h.outbox, now), ...workChecks(h)];
}

/** Tokens that end soon, as one check: a warning naming each and the command that replaces it, never a failure (an expired token is the holder's 401). */
export function tokenExpiryCheck(db: Db, now: Date): HealthCheck {
  const ending = new TokenStore(db).expiringWithin(EXPIRY_WARNING_MS, now);
  if (ending.length === 0) return ok('tokens', `none expires within ${EXPIRY_WARNING_MS / 86_400_000} days`);
  return warn('tokens', ending.map((t) => expiryWarning(t, now)).join('; '));
}
