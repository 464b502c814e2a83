// The incident runner: the queue intake wakes. At most cfg.concurrency incidents are handled at
// once and at most one per target (others wait in the queue; nothing blocks other targets). It
// resumes open incidents on start, polls the approvals that parked incidents wait on, and on stop
// aborts the runs under way without recording anything half-done: the next start resumes them.
import type { FlowDeps } from './flow-steps.js';
import { Stopping, Superseded } from './flow-steps.js';
import { ACTIVE_STATUSES } from '../shared/incidents.js';
import { escalateIncident } from './incident-close.js';
import { handleIncident } from './incident-flow.js';
import type { IncidentQueue } from '../shared/incidents.js';
import { DatabaseBusy, isBusy } from '../store/busy.js';

export interface RunnerOptions {
  /** How often the approvals of parked incidents are checked (default 2 s). */
  approvalPollMs?: number;
}

export type RunnerDeps = Omit<FlowDeps, 'wake'> & {
  /** Cancels the incident's pending approvals (audited): approving one later is refused. */
  cancelApprovals?(incidentId: string, reason: string): void;
};

/** How soon an incident is handled again after another process held the database's write lock. */
const BUSY_RETRY_MS = 2_000;

export class Runner implements IncidentQueue {
  /** Waiting incidents with their targets (an incident's target never changes). */
  private readonly queued: Array<{ id: string; target: string | null }> = [];
  /** Incident id -> its target, while it is handled. */
  private readonly running = new Map<string, { target: string | null; done: Promise<void> }>();
  /** Woken while it was handled: handled once more afterwards. */
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The abort of each run under way: closing its incident from outside stops it. */
  private readonly runs = new Map<string, AbortController>();
  private readonly controller = new AbortController();
  private readonly deps: FlowDeps & Pick<RunnerDeps, 'cancelApprovals'>;
  private readonly idleWaiters: Array<() => void> = [];
  private poller: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(deps: RunnerDeps, private readonly opts: RunnerOptions = {}) {
    this.deps = { ...deps, wake: (id) => this.wake(id) };
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

  /** Loads the active incidents (restart safety: each resumes from its audit and timeline) and starts polling approvals. */
  async start(): Promise<void> {
    const active = this.deps.incidents.list({ status: 'active' }).reverse();
    if (active.length > 0) this.deps.log.info({ incidents: active.length }, 'loop: resuming open incidents');
    for (const inc of active) this.wake(inc.id);
    this.poller = setInterval(() => this.tick(), this.opts.approvalPollMs ?? 2_000);
    this.poller.unref();
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
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queued.length = 0;
    this.controller.abort(new Stopping());
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
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
    const done = this.handle(id, AbortSignal.any([this.controller.signal, own.signal])).finally(() => {
      this.runs.delete(id);
      this.running.delete(id);
      if (this.again.delete(id) && !this.stopped) this.enqueue(id);
      this.pump();
    });
    this.running.set(id, { target, done });
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
