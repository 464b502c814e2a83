// Alerts in, incidents out: each normalised alert either joins the active incident for its
// fingerprint or target, or opens a new one (flapping and dependencies decided here), and only a
// new incident that needs work wakes the runner. Intake never acts on a target; it only records.
import type { Logger } from '../log.js';
import { whenFree } from '../store/busy.js';
import type { SilenceStore } from '../store/silences.js';
import type { InventoryReader } from '../store/readers.js';
import type { NormalizedAlert } from '../shared/alerts.js';
import type { LoopConfig } from './config.js';
import { dependencyIncident, dependentIncidents, dependentsOf, resolveWhere, type Where } from './correlate.js';
import type { Incident, IncidentLog, IncidentQueue, IncidentStatus } from '../shared/incidents.js';

export const RESOLVED_BEFORE_ACTING = 'resolved by the source before warden acted';
export const RESOLVED_WHILE_WORKING = 'resolved by the source while warden was working on it';
export const RESOLVED_UNSEEN = 'resolved by the source before its firing reached warden';

/** For a daemon whose loop is off: incidents are still recorded, nobody works on them. */
export const IDLE_QUEUE: IncidentQueue = { wake: () => undefined, closedElsewhere: () => undefined, parked: () => undefined };

/** How long alerts wait for another process's write lock before the sender is told to retry. */
const INGEST_WAIT_MS = 5_000;

/** Statuses where nobody has started work: safe for intake to change. */
const NOT_STARTED: readonly IncidentStatus[] = ['open', 'waiting_dependency'];

export class Intake {
  constructor(
    readonly store: IncidentLog,
    private readonly inventory: InventoryReader,
    private readonly queue: IncidentQueue,
    private readonly cfg: Pick<LoopConfig, 'cooldownMinutes' | 'flapLimit'>,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    /** Operators' silences: an alert one covers is recorded, never acted on. */
    private readonly silences?: Pick<SilenceStore, 'matching'>,
  ) {}

  /**
   * The incidents these alerts touched (opened, counted or closed), each once, in order. All of a
   * payload is recorded in one transaction, and the runner is woken only after it commits: a write
   * lock held by another process fails it before anything is written, so it can be tried again.
   */
  ingest(alerts: NormalizedAlert[]): { incidentIds: string[] } {
    const ids = this.store.atomically(() => {
      this.afterCommit = [];
      const touched: string[] = [];
      for (const alert of alerts) {
        const id = alert.status === 'firing' ? this.firing(alert) : this.resolved(alert);
        if (id !== undefined && !touched.includes(id)) touched.push(id);
      }
      return touched;
    });
    for (const tell of this.afterCommit.splice(0)) tell(this.queue);
    return { incidentIds: ids };
  }

  /** `ingest`, waiting from a timer while another process holds the write lock (DatabaseBusy past `waitMs`). */
  ingestWhenFree(alerts: NormalizedAlert[], waitMs = INGEST_WAIT_MS): Promise<{ incidentIds: string[] }> {
    return whenFree(() => this.ingest(alerts), { waitMs });
  }

  /** What the runner is told (wake, stop), in order, once the ingest's transaction has committed. */
  private afterCommit: Array<(queue: IncidentQueue) => void> = [];

  private active(alert: NormalizedAlert, where: Where): Incident | undefined {
    return this.store.findActive({ fingerprint: alert.fingerprint, ...(where.target ? { target: where.target } : {}) });
  }

  /** Repeats and storms only count: the incident is already known to the runner. */
  private firing(alert: NormalizedAlert): string {
    const where = resolveWhere(this.inventory, alert.hints);
    const active = this.active(alert, where);
    if (active) {
      this.store.addAlert(active.id, alert);
      return active.id;
    }
    // The last closed incident of this alert on this target: late repeats, quiet escalation and flaps all read it.
    const prev = this.store.lastClosed({ fingerprint: alert.fingerprint, target: where.target });
    const late = this.lateRepeat(alert, prev) ?? this.escalatedRecently(prev) ?? this.escalatedOccurrence(alert, prev);
    if (late) {
      this.store.addAlert(late.id, alert);
      return late.id;
    }
    const silence = this.silences?.matching({ target: where.target, service: where.service, labels: alert.labels }, this.now());
    if (silence) {
      const incident = this.store.create(alert, where);
      const why = `silenced by ${silence.id} (${silence.createdBy}: ${silence.reason}) until ${silence.endsAt}: recorded, not acted on`;
      this.store.transition(incident.id, 'resolve', why, { resolution: why });
      this.log.info({ incident: incident.id, silence: silence.id, target: where.target }, 'alert silenced');
      return incident.id;
    }
    const flaps = this.flapsOf(prev);
    const incident = this.store.create(alert, where);
    if (flaps >= this.cfg.flapLimit) {
      this.store.transition(incident.id, 'escalate', `flapping: ${flaps} re-openings within the cooldown of ${this.cfg.cooldownMinutes} minutes; not acting again`, {
        flaps, resolution: `flapping: ${flaps} re-openings within the cooldown`,
      }, { kind: 'escalation' });
      this.log.warn({ incident: incident.id, fingerprint: alert.fingerprint, flaps }, 'incident flapping: escalated');
      return incident.id;
    }
    if (flaps > 0) {
      this.store.update(incident.id, { flaps }, { kind: 'note', summary: `re-opened within the cooldown (${flaps} of ${this.cfg.flapLimit} before escalation)` });
    }
    const parent = dependencyIncident(this.store, this.inventory, where.service, incident.id);
    if (parent) {
      this.store.transition(incident.id, 'wait_dependency', `waiting on ${parent.id} (${parent.service ?? parent.target ?? parent.title}): a dependency is failing`, { parentId: parent.id });
    } else {
      this.afterCommit.push((q) => q.wake(incident.id));
    }
    this.adoptDependents(incident, where);
    this.log.info({ incident: incident.id, fingerprint: alert.fingerprint, target: where.target, parent: parent?.id }, 'incident opened');
    return incident.id;
  }

  /** Incidents of services that depend on this one now wait for it: it is the likelier root cause. */
  private adoptDependents(incident: Incident, where: Where): void {
    for (const dep of dependentIncidents(this.store, this.inventory, where.service, incident.id)) {
      if (dep.parentId === incident.id || dep.id === incident.parentId) continue;
      const why = `${where.service} (${incident.id}), which ${dep.service} depends on, is failing`;
      // Not acted yet (no action counted): it waits, whatever order the alerts came in. The run
      // under way, if any, stops at its next step, and the guard refuses its writes meanwhile.
      if (NOT_STARTED.includes(dep.status) || (dep.status === 'investigating' && dep.attempts === 0)) {
        this.store.transition(dep.id, 'wait_dependency', `waiting on ${incident.id}: ${why}`, { parentId: incident.id });
        // A run may be under way (or about to start): it stops at its next step.
        this.afterCommit.push((q) => q.parked(dep.id, `it waits on ${incident.id}`));
      } else {
        // Work under way (or held for approval) is the runner's to finish; record the likely cause only.
        this.store.update(dep.id, { parentId: incident.id }, { kind: 'note', summary: `likely caused by ${incident.id}: ${why}` });
      }
    }
  }

  /**
   * A storm outlasts the incident it opened: repeats of the same occurrence (a start time before
   * the incident closed, as Alertmanager repeats them) arriving within the cooldown are counted on
   * that incident, not opened anew. A new occurrence (started after the close) still re-opens, and
   * counts as a flap; after the cooldown a still-firing alert opens a new incident.
   */
  private lateRepeat(alert: NormalizedAlert, prev: Incident | undefined): Incident | undefined {
    if (!prev?.closedAt || !this.withinCooldown(prev)) return undefined;
    return Date.parse(alert.startsAt) <= Date.parse(prev.closedAt) ? prev : undefined;
  }

  /**
   * Quiet escalation: a target escalated within the cooldown is a human's now. Its new failures
   * are counted on that incident, not opened (and escalated) anew.
   */
  private escalatedRecently(prev: Incident | undefined): Incident | undefined {
    return prev?.status === 'escalated' && this.withinCooldown(prev) ? prev : undefined;
  }

  /**
   * warden's own monitors repeat a firing while it lasts, with the start of that occurrence: an
   * occurrence that started before an escalation closed is the one a human already has, however
   * long it lasts, not a new incident each cooldown (a GPU busy for days would open one, and wake
   * Claude, every quarter of an hour). A new occurrence (after a recovery) starts later and opens.
   */
  private escalatedOccurrence(alert: NormalizedAlert, prev: Incident | undefined): Incident | undefined {
    if (alert.source !== 'warden' || prev?.status !== 'escalated' || !prev.closedAt) return undefined;
    return Date.parse(alert.startsAt) <= Date.parse(prev.closedAt) ? prev : undefined;
  }

  private withinCooldown(closed: Incident): boolean {
    return closed.closedAt !== null && this.now().getTime() - Date.parse(closed.closedAt) <= this.cfg.cooldownMinutes * 60_000;
  }

  /**
   * A resolve for an occurrence warden has not seen firing: alerts arrive out of order (a retry,
   * two Alertmanager replicas, a restart in between). It is recorded as a closed incident, so the
   * firing that arrives late (started before this close) is counted on it as a late repeat and
   * never acted on. A resolve after an incident already closed within the cooldown changes nothing.
   */
  private resolvedUnseen(alert: NormalizedAlert, where: Where): string | undefined {
    const prev = this.store.lastClosed({ fingerprint: alert.fingerprint, target: where.target });
    if (prev && alert.source === 'warden' && prev.closedAt && Date.parse(alert.startsAt) <= Date.parse(prev.closedAt)) {
      // The recovery of an occurrence whose incident closed (escalated, or resolved by the loop): counted there.
      this.store.addAlert(prev.id, alert);
      return prev.id;
    }
    if (prev && this.withinCooldown(prev)) {
      this.log.debug({ fingerprint: alert.fingerprint, incident: prev.id }, 'resolved alert of an incident already closed');
      return undefined;
    }
    const incident = this.store.create(alert, where);
    this.store.transition(incident.id, 'resolve', RESOLVED_UNSEEN, { resolution: RESOLVED_UNSEEN });
    this.log.info({ incident: incident.id, fingerprint: alert.fingerprint }, 'resolved before its firing arrived: recorded, not acted on');
    return incident.id;
  }

  /** Re-openings in a row, each within the cooldown of the previous close; 0 when not flapping. */
  private flapsOf(prev: Incident | undefined): number {
    // A resolve seen before any firing is not an occurrence warden handled: no flap.
    if (!prev?.closedAt || prev.resolution === RESOLVED_UNSEEN) return 0;
    const sinceMs = this.now().getTime() - Date.parse(prev.closedAt);
    return sinceMs <= this.cfg.cooldownMinutes * 60_000 ? prev.flaps + 1 : 0;
  }

  private resolved(alert: NormalizedAlert): string | undefined {
    const where = resolveWhere(this.inventory, alert.hints);
    const active = this.active(alert, where);
    if (!active) return this.resolvedUnseen(alert, where);
    this.store.addAlert(active.id, alert);
    if (active.fingerprint !== alert.fingerprint) {
      this.store.addEvent(active.id, 'note', `${alert.source} reports resolved: ${alert.summary} (another alert, ${alert.fingerprint}, on the same target: this incident stays open)`);
      return active.id;
    }
    if (alert.source === 'warden' && active.status === 'verifying') {
      // warden's own monitor recovering after the loop acted is the fix working: the verification
      // under way (the same check, held for the settle window) decides, not one good probe.
      this.store.addEvent(active.id, 'note', `warden's monitor reports it recovered: ${alert.summary}; the verification under way decides`);
      return active.id;
    }
    // Resolved means stop: what has not run is cancelled (the run under way, its held calls).
    const resolution = NOT_STARTED.includes(active.status) ? RESOLVED_BEFORE_ACTING : `${RESOLVED_WHILE_WORKING} (it was ${active.status}); what had not run was cancelled`;
    this.store.transition(active.id, 'resolve', resolution, { resolution, waitingOn: null });
    this.afterCommit.push((q) => q.closedElsewhere(active.id, `${alert.source} reports it resolved`));
    // Closing wakes the incidents that waited on it (the runner's tick would, later).
    for (const dep of dependentsOf(this.store, active.id)) this.afterCommit.push((q) => q.wake(dep.id));
    return active.id;
  }
}
