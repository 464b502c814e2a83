// warden's own monitors as `warden serve` runs them: each declared probe and host reading on its
// interval (spread over the first interval, never two at once for one monitor), their firings and
// clears handed to the loop's intake as alerts of source `warden`, and their states saved for
// `warden monitors status`. It only observes: acting is the loop's, through the gate.
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { NormalizedAlert } from '../../shared/alerts.js';
import type { MonitorStateRow, MonitorStateStore } from '../../store/monitor-states.js';
import type { InventoryReader } from '../../store/readers.js';
import { HostTask, type HostReader } from './host-task.js';
import { FINGERPRINT_PREFIX, planMonitors, probeId, subjectOf, type MonitorDef } from './monitor-plan.js';
import type { ProbeStatus } from './probe-state.js';
import { ProbeTask, type Probes } from './probe-task.js';

export interface MonitorDeps {
  inventory: Pick<InventoryReader, 'services' | 'hosts'>;
  probes: Probes;
  hostReader(host: string): HostReader;
  /** The loop's intake; called in order, one payload at a time. */
  onAlerts(alerts: NormalizedAlert[]): void;
  states?: Pick<MonitorStateStore, 'replace' | 'list'>;
  log: Logger;
  /** Who writes the saved states (hostname:pid). */
  owner: string;
  now?: () => number;
  /** How often the inventory is read again for added or removed monitors (default 60 s). */
  replanMs?: number;
  /** How often the states are saved while nothing changes (default 30 s). */
  saveMs?: number;
}

/** What the loop asks of the monitors: a service's probe state now, and (to verify a fix) the check that fired, read again. */
export interface MonitorCheck {
  recheck(fingerprint: string, signal?: AbortSignal): Promise<{ ok: boolean; reason: string } | undefined>;
  /** The probe of this service as the monitor sees it now; undefined when no monitor here probes it. */
  probeState(service: string): { status: ProbeStatus; everUp: boolean; detail: string } | undefined;
}

/** Runs are aligned to this grid: see schedule(). */
const GRID_MS = 1_000;
const GRID_SLACK_MS = 100;

/** Hard cap on one host reading, beyond each section's own timeout. */
const READ_TIMEOUT_MS = 30_000;

interface Slot {
  def: MonitorDef;
  key: string;
  task: ProbeTask | HostTask;
  timer?: NodeJS.Timeout;
  busy?: Promise<void>;
}

export class MonitorScheduler implements MonitorCheck {
  private readonly slots = new Map<string, Slot>();
  private readonly controller = new AbortController();
  private readonly now: () => number;
  private replanTimer?: NodeJS.Timeout;
  private saveTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly deps: MonitorDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Plans from the inventory and starts every monitor; returns how many run. */
  start(): number {
    this.replan();
    this.replanTimer = setInterval(() => this.replan(), this.deps.replanMs ?? 60_000);
    this.saveTimer = setInterval(() => this.save(), this.deps.saveMs ?? 30_000);
    this.replanTimer.unref();
    this.saveTimer.unref();
    return this.slots.size;
  }

  probeState(service: string): { status: ProbeStatus; everUp: boolean; detail: string } | undefined {
    const task = this.slots.get(probeId(service))?.task;
    if (!(task instanceof ProbeTask)) return undefined;
    return { status: task.memory.status, everUp: task.memory.everUp, detail: task.detail() };
  }

  /** The monitors' states now, as `warden monitors status` shows them. */
  states(): MonitorStateRow[] {
    return [...this.slots.values()].flatMap((s) => s.task.rows(this.deps.owner));
  }

  /** Adds monitors the inventory now declares, drops the ones it no longer does, restarts the changed ones. */
  replan(): void {
    if (this.stopped) return;
    let plan: MonitorDef[];
    try {
      plan = planMonitors(this.deps.inventory);
    } catch (err) {
      this.deps.log.error({ err: errorMessage(err) }, 'monitors: the inventory could not be read; the running monitors stay');
      return;
    }
    const wanted = new Map(plan.map((d) => [d.id, d]));
    for (const [id, slot] of this.slots) {
      const def = wanted.get(id);
      if (!def || JSON.stringify(def) !== slot.key) this.drop(id);
    }
    const added = plan.filter((def) => !this.slots.has(def.id));
    // The saved states are read only when a monitor (re)starts, not at every replan.
    const saved = added.length ? this.savedStates() : [];
    for (const def of added) {
      const task = def.kind === 'probe'
        ? new ProbeTask(def, this.now(), saved.filter((r) => r.subject === def.service && r.kind !== 'threshold'))
        : new HostTask(def, saved.filter((r) => r.subject === def.host && r.kind === 'threshold'));
      const slot: Slot = { def, key: JSON.stringify(def), task };
      this.slots.set(def.id, slot);
      // Spread over the first interval, so 200 monitors do not all probe in the same second.
      this.schedule(slot, Math.random() * Math.min(this.intervalOf(def), 10_000));
    }
  }

  private savedStates(): MonitorStateRow[] {
    try {
      return this.deps.states?.list() ?? [];
    } catch {
      return [];
    }
  }

  private intervalOf(def: MonitorDef): number {
    return def.settings.interval;
  }

  private drop(id: string): void {
    const slot = this.slots.get(id);
    if (slot?.timer) clearTimeout(slot.timer);
    this.slots.delete(id);
  }

  /**
   * Runs are due on a grid (whole seconds, or the interval when shorter), so the monitors due in the
   * same second run in one wake-up of the process: a wake-up costs about as much CPU as a probe,
   * and probes run back to back run on warm code (measured: about a third of the CPU of spread ones).
   */
  private schedule(slot: Slot, delayMs: number): void {
    if (this.stopped) return;
    const grid = Math.min(GRID_MS, this.intervalOf(slot.def));
    const now = Date.now();
    // A due time just past a grid point (a timer fires a few ms late) keeps that point, not the next.
    const aligned = Math.max(0, Math.ceil((now + delayMs - GRID_SLACK_MS) / grid) * grid - now);
    slot.timer = setTimeout(() => {
      if (this.slots.get(slot.def.id) !== slot) return;
      // A monotonic clock: a wall clock stepped back an hour would otherwise pause the monitor an hour.
      const started = performance.now();
      slot.busy = this.tick(slot).finally(() => {
        slot.busy = undefined;
        // Fixed rate from the start of this run; a slow run is followed at once, never overlapped.
        this.schedule(slot, Math.max(0, this.intervalOf(slot.def) - (performance.now() - started)));
      });
    }, aligned);
    slot.timer.unref();
  }

  private async tick(slot: Slot): Promise<void> {
    try {
      const alerts = await this.run(slot);
      if (alerts.length) {
        this.deps.onAlerts(alerts);
        this.save();
      }
    } catch (err) {
      if (this.stopped) return;
      this.deps.log.warn({ monitor: slot.def.id, err: errorMessage(err) }, 'monitor reading failed; trying again at the next interval');
    }
  }

  /** One run of one monitor: the alerts it raises. */
  private async run(slot: Slot): Promise<NormalizedAlert[]> {
    const signal = this.controller.signal;
    if (slot.task instanceof ProbeTask) {
      const result = await slot.task.probe(this.deps.probes, signal);
      return this.stopped ? [] : slot.task.observe(result, this.now());
    }
    const readings = await slot.task.read(this.deps.hostReader(slot.def.host), AbortSignal.any([signal, AbortSignal.timeout(READ_TIMEOUT_MS)]));
    if (this.stopped) return [];
    const alerts = slot.task.observe(readings, this.now());
    if (slot.task.unread.length) this.deps.log.warn({ monitor: slot.def.id, unread: slot.task.unread }, 'monitor: these levels cannot be read (a path that does not exist, no sensor): they can neither fire nor clear');
    return alerts;
  }

  /**
   * The check behind a monitor incident, read once more now (the probe, or the host's level against
   * its clear level). undefined when the fingerprint is no running monitor's.
   */
  async recheck(fingerprint: string, signal?: AbortSignal): Promise<{ ok: boolean; reason: string } | undefined> {
    const subject = subjectOf(fingerprint);
    if (!subject) return undefined;
    const id = fingerprint.slice(FINGERPRINT_PREFIX.length);
    const linked = AbortSignal.any([this.controller.signal, ...(signal ? [signal] : [])]);
    if (subject.kind === 'probe') {
      const slot = this.slots.get(id);
      if (!(slot?.task instanceof ProbeTask)) return undefined;
      const r = await slot.task.probe(this.deps.probes, linked);
      return r ? { ok: r.up, reason: `warden's probe: ${r.detail}` } : { ok: false, reason: "warden's probe: the container's health check is still starting" };
    }
    if (subject.kind !== 'threshold') return undefined;
    const slot = this.slots.get(`host:${subject.host}`);
    if (!(slot?.task instanceof HostTask)) return undefined;
    const readings = await slot.task.read(this.deps.hostReader(subject.host), AbortSignal.any([linked, AbortSignal.timeout(READ_TIMEOUT_MS)]));
    const reading = readings.find((r) => r.id === id);
    return reading ? HostTask.verdict(reading) : { ok: false, reason: `${id} is no longer read on ${subject.host}` };
  }

  /** Saves the states (all of them, one transaction); a busy or failing database costs a save, never a probe. */
  save(): void {
    if (!this.deps.states) return;
    try {
      this.deps.states.replace(this.states());
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err) }, 'monitor states could not be saved; trying again later');
    }
  }

  /** Stops every timer, waits for the runs under way (aborted), saves the last states. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.replanTimer);
    clearInterval(this.saveTimer);
    this.controller.abort();
    const busy: Promise<void>[] = [];
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.busy) busy.push(slot.busy);
    }
    await Promise.allSettled(busy);
    this.save();
  }
}
