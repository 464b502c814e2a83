// The incident runner: the queue intake wakes. At most cfg.concurrency incidents are handled at
// once and at most one per target (others wait in the queue; nothing blocks other targets). It
// resumes open incidents on start, polls the approvals that parked incidents wait on, and on stop
// aborts the runs under way without recording anything half-done: the next start resumes them.
// Its watchdog (watchdog.ts decides, the runner applies) moves on what is stuck: a wedged run, an
// incident nothing holds, a wait that ended; each time with the reason in the timeline.
import { hostname } from 'node:os';
import type { FlowDeps } from './flow-steps.js';
import { Stopping, Superseded } from './flow-steps.js';
import { ACTIVE_STATUSES } from '../shared/incidents.js';
import { escalateIncident } from './incident-close.js';
import { handleIncident } from './incident-flow.js';
import type { IncidentQueue } from '../shared/incidents.js';
import { DatabaseBusy, isBusy } from '../store/busy.js';
import type { HealthStateStore } from '../store/health-states.js';
import { WATCHDOG_EVENT, duration, findStuck, progressOf, watchdogLimits, type WatchdogAction, type WatchdogLimits, type Watched } from './watchdog.js';

/** How often the watchdog looks for stuck incidents unless told otherwise (`warden status` judges its row by it). */
export const WATCHDOG_EVERY_MS = 30_000;

export interface RunnerOptions {
  /** How often the approvals of parked incidents are checked (default 2 s). */
  approvalPollMs?: number;
  /** How often the watchdog looks for stuck incidents (default 30 s). */
  watchdogMs?: number;
  /** Overrides of the limits watchdogLimits(cfg) derives from the loop's config. */
  watchdogLimits?: Partial<WatchdogLimits>;
  /** The clock of the watchdog and of the runs' start times (default: the system's). */
  now?: () => Date;
}

export type RunnerDeps = Omit<FlowDeps, 'wake'> & {
  /** Cancels the incident's pending approvals (audited): approving one later is refused. */
  cancelApprovals?(incidentId: string, reason: string): void;
  /** Where each watchdog pass is reported (`warden status`); nothing is reported without it. */
  watches?: Pick<HealthStateStore, 'saveWatch'>;
};

interface RunEntry {
  target: string | null;
  done: Promise<void>;
  sinceMs: number;
}

/** Who wrote a watch row: `warden status` may read it from another process. */
const OWNER = `${hostname()}:${process.pid}`;

/** How soon an incident is handled again after another process held the database's write lock. */
const BUSY_RETRY_MS = 2_000;

export class Runner implements IncidentQueue {
  /** Waiting incidents with their targets (an incident's target never changes). */
  private readonly queued: Array<{ id: string; target: string | null }> = [];
  /** Incident id -> its target and since when, while it is handled. */
  private readonly running = new Map<string, RunEntry>();
  /** Woken while it was handled: handled once more afterwards. */
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The abort of each run under way: closing its incident from outside stops it. */
  private readonly runs = new Map<string, AbortController>();
  private readonly controller = new AbortController();
  private readonly deps: FlowDeps & Pick<RunnerDeps, 'cancelApprovals' | 'watches'>;
  private readonly idleWaiters: Array<() => void> = [];
  private poller: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  /** Runs the watchdog stopped, and when: one still under way at its next pass has its slot given back. */
  private readonly abortedAt = new Map<string, number>();
  private readonly clock: () => Date;
  private readonly limits: WatchdogLimits;
  private readonly pollMs: number;
  private readonly watchdogMs: number;
  /** For health(): when the runner started, its poll and its watchdog last ran, and how the last pass ended. */
  private readonly pulse: { startedMs?: number; tickMs?: number; watchdogMs?: number; watchdogFailure?: string } = {};
  private stopped = false;

  constructor(deps: RunnerDeps, opts: RunnerOptions = {}) {
    this.deps = { ...deps, wake: (id) => this.wake(id) };
    this.clock = opts.now ?? (() => new Date());
    this.limits = { ...watchdogLimits(deps.cfg), ...opts.watchdogLimits };
    this.pollMs = opts.approvalPollMs ?? 2_000;
    this.watchdogMs = opts.watchdogMs ?? WATCHDOG_EVERY_MS;
  }

  wake(incidentId: string): void {
    if (this.stopped) return;
    const timer = this.timers.get(incidentId);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(incidentId);
    }
    if (this.running.has(incidentId)) this.again.add(incidentId);
    else this.enqueue(incidentId);
    this.pump();
  }

  /** Loads the active incidents (restart safety: each resumes from its audit and timeline), starts polling approvals and the watchdog. */
  async start(): Promise<void> {
    const active = this.deps.incidents.list({ status: 'active' }).reverse();
    if (active.length > 0) this.deps.log.info({ incidents: active.length }, 'loop: resuming open incidents');
    for (const inc of active) this.wake(inc.id);
    this.pulse.startedMs = this.clock().getTime();
    this.poller = setInterval(() => this.tick(), this.pollMs);
    this.poller.unref();
    this.watchdogTimer = setInterval(() => this.watchdog(), this.watchdogMs);
    this.watchdogTimer.unref();
  }

  /** For the /approvals handler or the CLI in this process: a decision was made, wake its incident now rather than at the next poll. */
  approvalDecided(approvalId: string): void {
    const incidentId = this.deps.approvals.get(approvalId)?.incidentId;
    const inc = incidentId ? this.deps.incidents.get(incidentId) : undefined;
    if (inc?.status === 'waiting_approval' && inc.waitingOn === approvalId) this.wake(inc.id);
  }

  /**
   * Re-examines every waiting incident, so none depends on a wake-up alone: one parked on an
   * approval that is no longer pending (approved, denied, expired), and one waiting on a
   * dependency whose incident closed (or vanished) is woken.
   */
  tick(): void {
    this.pulse.tickMs = this.clock().getTime();
    try {
      for (const inc of this.deps.incidents.list({ status: 'waiting_approval' })) {
        const approval = inc.waitingOn ? this.deps.approvals.get(inc.waitingOn) : undefined;
        if (approval?.status !== 'pending' && !this.running.has(inc.id)) this.wake(inc.id);
      }
      for (const inc of this.deps.incidents.list({ status: 'waiting_dependency' })) {
        const parent = inc.parentId ? this.deps.incidents.get(inc.parentId) : undefined;
        if ((!parent || !ACTIVE_STATUSES.includes(parent.status)) && !this.running.has(inc.id)) this.wake(inc.id);
      }
    } catch (err) {
      this.deps.log.warn({ err: String(err) }, 'loop: re-examining waiting incidents failed');
    }
  }

  /** The incident waits on something now (or was closed): the run under way stops, and it leaves the queue. */
  parked(incidentId: string, reason: string): void {
    this.runs.get(incidentId)?.abort(new Superseded(reason));
    this.queued.splice(0, this.queued.length, ...this.queued.filter((q) => q.id !== incidentId));
  }

  /**
   * The incident was closed from outside (its alert resolved): the run under way stops before its
   * next step (the guard already refuses its writes), and its pending approvals are cancelled.
   */
  closedElsewhere(incidentId: string, reason: string): void {
    this.parked(incidentId, reason);
    try {
      this.deps.cancelApprovals?.(incidentId, reason);
    } catch (err) {
      this.deps.log.error({ incident: incidentId, err: String(err) }, 'loop: could not cancel the approvals of a closed incident');
    }
  }

  /** Resolves when nothing is queued or running (timers for later looks may still be set). */
  idle(): Promise<void> {
    if (this.queued.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Incidents handled right now. */
  busy(): string[] {
    return [...this.running.keys()];
  }

  /** Stops taking work, aborts runs under way (they record nothing more) and waits for them to end. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.poller);
    clearInterval(this.watchdogTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queued.length = 0;
    this.controller.abort(new Stopping());
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /**
   * One watchdog pass: finds what is stuck (watchdog.ts) and moves each on, the reason in its
   * timeline and the log; the pass is reported as watch `watchdog`. Synchronous from the first read
   * to the last write, so nothing in this process moves an incident between judging and acting.
   */
  watchdog(): WatchdogAction[] {
    if (this.stopped) return [];
    const now = this.clock();
    this.pulse.watchdogMs = now.getTime();
    let actions: WatchdogAction[] = [];
    const failed: string[] = [];
    try {
      this.abandonAborted(now.getTime());
      actions = findStuck(this.watched(), now, this.limits);
      for (const a of actions) {
        try {
          this.apply(a);
        } catch (err) {
          // Left as it was: the next pass finds it again.
          failed.push(`${a.id}: ${String(err).slice(0, 200)}`);
          this.deps.log.error({ incident: a.id, action: a.action, err: String(err) }, 'watchdog: could not move a stuck incident on');
        }
      }
      this.pulse.watchdogFailure = failed.length > 0 ? `could not move on ${failed.join('; ')}` : undefined;
    } catch (err) {
      this.pulse.watchdogFailure = `the pass failed: ${String(err).slice(0, 300)}`;
      this.deps.log.error({ err: String(err) }, 'watchdog: the pass failed');
    }
    this.report(now, actions, failed);
    return actions;
  }

  /**
   * What is wrong with the runner itself, for the heartbeat: stopped, or its poll or its watchdog
   * not run for several of their intervals (their timers starved, or a pass failing). Empty when healthy.
   */
  health(): string[] {
    if (this.stopped) return ['the runner is stopped'];
    const started = this.pulse.startedMs;
    if (started === undefined) return ['the runner has not started'];
    const now = this.clock().getTime();
    const problems: string[] = [];
    const late = (what: string, lastMs: number | undefined, everyMs: number): void => {
      const limitMs = Math.max(10_000, 3 * everyMs);
      const ago = now - (lastMs ?? started);
      if (ago > limitMs) problems.push(`${what} ${lastMs === undefined ? 'has not run since the runner started' : 'last ran'} ${duration(ago)} ago (every ${duration(everyMs)})`);
    };
    late("the runner's approval poll", this.pulse.tickMs, this.pollMs);
    late('the watchdog', this.pulse.watchdogMs, this.watchdogMs);
    if (this.pulse.watchdogFailure) problems.push(`the watchdog's last pass: ${this.pulse.watchdogFailure}`);
    return problems;
  }

  /** The latest deadline of the incident's calls the guard holds under way, if any. */
  private callUntil(id: string): { callUntilMs?: number } {
    const calls = this.deps.guard.callsUnderWay?.(id) ?? [];
    return calls.length ? { callUntilMs: Math.max(...calls.map((c) => c.untilMs)) } : {};
  }

  /** Every active incident, and any other this runner is running, with what the runner knows of it. */
  private watched(): Watched[] {
    const { incidents, approvals } = this.deps;
    const all = incidents.list({ status: 'active' });
    const listed = new Set(all.map((i) => i.id));
    for (const id of this.running.keys()) {
      const inc = listed.has(id) ? undefined : incidents.get(id);
      if (inc) all.push(inc);
    }
    return all.map((inc) => ({
      incident: inc,
      progress: progressOf(incidents.timeline(inc.id)),
      ...(this.running.has(inc.id) ? { runningSinceMs: this.running.get(inc.id)!.sinceMs, ...this.callUntil(inc.id) } : {}),
      scheduled: this.timers.has(inc.id) || this.queued.some((q) => q.id === inc.id),
      ...(inc.status === 'waiting_approval' ? { approval: (inc.waitingOn ? approvals.get(inc.waitingOn) : undefined) ?? null } : {}),
      ...(inc.status === 'waiting_dependency' ? { parent: (inc.parentId ? incidents.get(inc.parentId) : undefined) ?? null } : {}),
    }));
  }

  private apply(a: WatchdogAction): void {
    const { incidents, log } = this.deps;
    const mark = { [WATCHDOG_EVENT]: { action: a.action } };
    switch (a.action) {
      case 'reexamine':
        incidents.addEvent(a.id, 'note', a.reason, mark);
        log.warn({ incident: a.id, reason: a.reason }, 'watchdog: re-examining a stuck incident');
        this.wake(a.id);
        return;
      case 'abort':
        this.abortRun(a.id, a.reason);
        incidents.addEvent(a.id, 'note', a.reason, mark);
        log.warn({ incident: a.id, reason: a.reason }, 'watchdog: stopped a wedged run');
        return;
      case 'abort_and_escalate':
        this.abortRun(a.id, a.reason);
        this.escalate(a);
        return;
      case 'escalate':
        this.escalate(a);
        return;
    }
  }

  /** escalateIncident notifies and wakes its dependents; what it still held for approval may never run now. */
  private escalate(a: WatchdogAction): void {
    escalateIncident(this.deps, a.id, a.reason);
    this.deps.log.warn({ incident: a.id, action: a.action }, 'watchdog: escalated a stuck incident');
    try {
      this.deps.cancelApprovals?.(a.id, a.reason);
    } catch (err) {
      this.deps.log.error({ incident: a.id, err: String(err) }, 'watchdog: could not cancel the approvals of an escalated incident');
    }
  }

  private abortRun(id: string, reason: string): void {
    this.runs.get(id)?.abort(new Superseded(reason));
    this.abortedAt.set(id, this.clock().getTime());
  }

  /**
   * A run the watchdog stopped at an earlier pass that still has not ended ignores its signal:
   * its slot and its target are given back. Its incident is closed, so the gate refuses any write
   * it may still try (loop.incident-closed); stop() no longer waits for it.
   */
  private abandonAborted(nowMs: number): void {
    for (const [id, at] of this.abortedAt) {
      if (!this.running.has(id)) {
        this.abortedAt.delete(id);
        continue;
      }
      if (at >= nowMs) continue;
      this.deps.log.error({ incident: id, stoppedFor: duration(nowMs - at) }, 'watchdog: a stopped run did not end; its slot is given back');
      this.running.delete(id);
      this.runs.delete(id);
      this.again.delete(id);
      this.abortedAt.delete(id);
    }
    this.pump();
  }

  private report(now: Date, actions: readonly WatchdogAction[], failed: readonly string[]): void {
    if (!this.deps.watches) return;
    const failure = this.pulse.watchdogFailure;
    const moved = actions.length === 0 ? 'nothing stuck'
      : `moved on ${actions.length - failed.length} of ${actions.length} stuck incident${actions.length === 1 ? '' : 's'}: ${actions.map((a) => `${a.id} ${a.action}`).join(', ')}`;
    const detail = !failure ? moved : actions.length === 0 ? failure : `${moved}; ${failure}`;
    try {
      this.deps.watches.saveWatch({ name: 'watchdog', at: now.toISOString(), ok: actions.length === 0 && !this.pulse.watchdogFailure, detail, updatedBy: OWNER });
    } catch (err) {
      this.deps.log.warn({ err: String(err) }, 'watchdog: could not record its pass');
    }
  }

  private enqueue(id: string): void {
    if (!this.queued.some((q) => q.id === id)) this.queued.push({ id, target: this.deps.incidents.get(id)?.target ?? null });
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.deps.cfg.concurrency) {
      const busy = new Set([...this.running.values()].map((r) => r.target).filter((t): t is string => t !== null));
      const index = this.queued.findIndex((q) => q.target === null || !busy.has(q.target));
      if (index < 0) break;
      const [next] = this.queued.splice(index, 1);
      this.run(next!.id, next!.target);
    }
    if (this.queued.length === 0 && this.running.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private run(id: string, target: string | null): void {
    const own = new AbortController();
    this.runs.set(id, own);
    const entry: RunEntry = { target, done: Promise.resolve(), sinceMs: this.clock().getTime() };
    entry.done = this.handle(id, AbortSignal.any([this.controller.signal, own.signal])).finally(() => {
      // Abandoned by the watchdog: its slot was given back, and a later run of the incident may hold it now.
      if (this.running.get(id) !== entry) return;
      this.runs.delete(id);
      this.running.delete(id);
      this.abortedAt.delete(id);
      if (this.again.delete(id) && !this.stopped) this.enqueue(id);
      this.pump();
    });
    this.running.set(id, entry);
  }

  private async handle(id: string, signal: AbortSignal): Promise<void> {
    try {
      const next = await handleIncident(this.deps, id, signal);
      if (next.retryAfterMs !== undefined && !this.stopped) this.later(id, next.retryAfterMs);
    } catch (err) {
      if (err instanceof Stopping || this.controller.signal.aborted) return;
      if (err instanceof Superseded || signal.reason instanceof Superseded) {
        // Closed, or parked on its dependency, while this run worked: it records nothing more.
        this.deps.log.info({ incident: id, why: (err instanceof Superseded ? err : signal.reason as Superseded).message }, 'loop: run stopped');
        return;
      }
      if (isBusy(err) || err instanceof DatabaseBusy) {
        // Another process holds the database's write lock: no fault of the incident's. Each step
        // is recorded before the next, so handling it again later resumes where it stopped.
        this.deps.log.warn({ incident: id }, 'loop: the database is locked by another process; handling the incident again shortly');
        this.later(id, BUSY_RETRY_MS);
        return;
      }
      this.deps.log.error({ incident: id, err }, 'loop: handling an incident failed');
      try {
        const inc = this.deps.incidents.get(id);
        if (inc && inc.status !== 'resolved' && inc.status !== 'escalated') escalateIncident(this.deps, id, `internal error in the loop's runner: ${String(err).slice(0, 200)}`);
      } catch (inner) {
        // Never left where it is with nothing to wake it: try again shortly.
        this.deps.log.error({ incident: id, err: inner }, 'loop: could not escalate after a failure; trying again shortly');
        if (!this.stopped) this.later(id, BUSY_RETRY_MS);
      }
    }
  }

  private later(id: string, ms: number): void {
    const old = this.timers.get(id);
    if (old) clearTimeout(old);
    const t = setTimeout(() => {
      this.timers.delete(id);
      this.wake(id);
    }, ms);
    t.unref();
    this.timers.set(id, t);
  }
}
