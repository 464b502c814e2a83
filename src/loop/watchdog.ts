// The watchdog's judgement: which incidents are stuck in a non-terminal state past their limit,
// and what moves each one on. Pure: it reads what the runner and the store know, handed in with the
// clock; the runner applies what it returns. It never acts on a target and never frees an incident
// from a wait that still holds (an approval still pending, a dependency still open).
import type { LoopConfig } from './config.js';
import { ACTIVE_STATUSES, type Incident, type TimelineEvent } from '../shared/incidents.js';
import type { Approval } from '../store/approvals.js';

export type WatchdogActionKind = 'reexamine' | 'escalate' | 'abort_and_escalate' | 'abort';

export interface WatchdogAction {
  id: string;
  action: WatchdogActionKind;
  /** One line, for the timeline, the escalation and the log. */
  reason: string;
}

export interface WatchdogLimits {
  /**
   * A run under way that has recorded nothing on its incident's timeline for this long is wedged.
   * Measured from the later of the run's start and the incident's last event, because every step of
   * a healthy run records something: one agent run, one verification or one tool call lies between
   * two events.
   */
  runQuietMs: number;
  /** An active incident that nothing holds (not running, queued or scheduled) and that recorded nothing for this long. */
  idleMs: number;
  /** A waiting incident whose reason to wait ended this long ago and that is still parked (the tick should have moved it within seconds). */
  waitGraceMs: number;
}

/**
 * The limits from the loop's config. A run may be quiet for one agent run (the wall budget), one
 * verification (Docker's start grace of max(30 s, 2 x settle) and the settle window, plus 10 s for
 * the HTTP check and polls) and a margin of 5 minutes for the tool calls a reply asked for after
 * the wall budget ran out (60 s each by default). With the defaults (300 s, 15 s): 655 s.
 */
export function watchdogLimits(cfg: Pick<LoopConfig, 'budgets' | 'settleSeconds'>): WatchdogLimits {
  const verifySeconds = Math.max(30, 2 * cfg.settleSeconds) + cfg.settleSeconds + 10;
  return {
    runQuietMs: Math.round((cfg.budgets.wallSeconds + verifySeconds + RUN_MARGIN_S) * 1_000),
    idleMs: 5 * 60_000,
    waitGraceMs: 60_000,
  };
}

const RUN_MARGIN_S = 300;

/** The timeline key that marks the watchdog's own notes: a second pass that finds its note last escalates. */
export const WATCHDOG_EVENT = 'watchdog';

/** When the loop (or a person) last did something with the incident: its newest event that is not an alert. */
export interface Progress {
  at: string;
  /** The event is the watchdog's own re-examination note: nothing happened since. */
  byWatchdog: boolean;
}

/** Repeated alerts are not progress: a storm on a forgotten incident must not hide that nobody works on it. */
export function progressOf(timeline: readonly TimelineEvent[]): Progress | undefined {
  for (let i = timeline.length - 1; i >= 0; i -= 1) {
    const e = timeline[i]!;
    if (e.kind === 'alert') continue;
    const data = e.data as Record<string, unknown> | null | undefined;
    return { at: e.time, byWatchdog: data !== null && typeof data === 'object' && WATCHDOG_EVENT in data };
  }
  return undefined;
}

/** One incident as the watchdog sees it. */
export interface Watched {
  incident: Pick<Incident, 'id' | 'status' | 'openedAt' | 'waitingOn' | 'parentId'>;
  progress: Progress | undefined;
  /** When this runner's run of it began (ms since the epoch), while one is under way. */
  runningSinceMs?: number;
  /** While a tool call of the run is under way: when its own deadline (and abort grace) ends. A long call records nothing until it returns. */
  callUntilMs?: number;
  /** Queued for a slot, or a look later is scheduled: something will wake it. */
  scheduled?: boolean;
  /** waiting_approval: the approval it waits on; null when there is none. */
  approval?: Pick<Approval, 'status' | 'decidedAt' | 'decidedBy' | 'usedAt' | 'expiresAt'> | null;
  /** waiting_dependency: the incident it waits on; null when there is none. */
  parent?: Pick<Incident, 'status' | 'closedAt'> | null;
}

export function findStuck(watched: readonly Watched[], now: Date, limits: WatchdogLimits): WatchdogAction[] {
  const actions: WatchdogAction[] = [];
  for (const w of watched) {
    const action = judge(w, now.getTime(), limits);
    if (action) actions.push(action);
  }
  return actions;
}

function judge(w: Watched, nowMs: number, limits: WatchdogLimits): WatchdogAction | undefined {
  const { incident: inc } = w;
  const lastMs = Date.parse(w.progress?.at ?? inc.openedAt);
  const active = ACTIVE_STATUSES.includes(inc.status);
  if (w.runningSinceMs !== undefined) {
    const quietMs = nowMs - Math.max(w.runningSinceMs, lastMs);
    if (quietMs <= limits.runQuietMs) return undefined;
    // A call the guard still holds under its own deadline (a change verified for minutes, a reboot) is work, not a wedge.
    if (w.callUntilMs !== undefined && w.callUntilMs > nowMs) return undefined;
    const what = `its run has recorded nothing for ${duration(quietMs)} (limit ${duration(limits.runQuietMs)}: one agent run, one verification and a margin)`;
    return active
      ? { id: inc.id, action: 'abort_and_escalate', reason: `the watchdog stopped a wedged run while it was ${inc.status}: ${what}` }
      : { id: inc.id, action: 'abort', reason: `the watchdog stopped a wedged run after the incident was ${inc.status}: ${what}` };
  }
  if (!active || w.scheduled) return undefined;
  const release = whyNotWaiting(w);
  if (release === undefined) return undefined;
  // Waiting incidents get the short grace from the moment their wait ended; the rest the idle limit.
  const limitMs = release.waiting ? limits.waitGraceMs : limits.idleMs;
  const sinceMs = Math.max(lastMs, release.sinceMs ?? 0);
  const stuckMs = nowMs - sinceMs;
  if (stuckMs <= limitMs) return undefined;
  const stuck = `${release.why}, and it has stayed ${inc.status} with nothing recorded for ${duration(stuckMs)} (limit ${duration(limitMs)})`;
  return w.progress?.byWatchdog
    ? { id: inc.id, action: 'escalate', reason: `the watchdog re-examined it and it is still stuck: ${stuck}` }
    : { id: inc.id, action: 'reexamine', reason: `the watchdog re-examines it: ${stuck}` };
}

/** Why nothing holds the incident, and since when; undefined while its wait still holds. */
function whyNotWaiting(w: Watched): { why: string; sinceMs?: number; waiting: boolean } | undefined {
  const inc = w.incident;
  if (inc.status === 'waiting_approval') {
    const a = w.approval;
    if (a === undefined || a?.status === 'pending') return undefined;
    if (a === null) return { why: `it waits on approval ${inc.waitingOn ?? '(none)'}, which does not exist`, waiting: true };
    const at = a.status === 'expired' ? a.expiresAt : a.status === 'used' ? a.usedAt : a.decidedAt;
    const by = a.decidedBy && a.status !== 'expired' ? ` by ${a.decidedBy}` : '';
    return { why: `it waits on approval ${inc.waitingOn}, which was ${a.status}${by}${at ? ` at ${at}` : ''}`, ...(at ? { sinceMs: Date.parse(at) } : {}), waiting: true };
  }
  if (inc.status === 'waiting_dependency') {
    const p = w.parent;
    if (p === undefined || (p !== null && ACTIVE_STATUSES.includes(p.status))) return undefined;
    if (p === null) return { why: `it waits on the incident ${inc.parentId ?? '(none)'}, which does not exist`, waiting: true };
    return { why: `it waits on the incident ${inc.parentId}, which was ${p.status}${p.closedAt ? ` at ${p.closedAt}` : ''}`, ...(p.closedAt ? { sinceMs: Date.parse(p.closedAt) } : {}), waiting: true };
  }
  return { why: `nothing holds it (not running, queued or scheduled here)`, waiting: false };
}

/** "450 ms", "45 s", "12 min 5 s", "3 h 2 min". */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.max(0, Math.round(ms / 1_000));
  if (s < 60) return `${s} s`;
  if (s < 3_600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3_600)} h${Math.floor((s % 3_600) / 60) ? ` ${Math.floor((s % 3_600) / 60)} min` : ''}`;
}
