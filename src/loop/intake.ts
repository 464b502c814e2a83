// Alerts in, incidents out: each normalised alert either joins the active incident for its
// fingerprint or target, or opens a new one (flapping and dependencies decided here), and only a
// new incident that needs work wakes the runner. Intake never acts on a target; it only records.
import type { Logger } from '../log.js';
import { whenFree } from '../store/busy.js';
import type { InventoryReader } from '../store/readers.js';
import type { NormalizedAlert } from '../shared/alerts.js';
import type { LoopConfig } from './config.js';
import { dependencyIncident, dependentIncidents, resolveWhere, type Where } from './correlate.js';
import type { Incident, IncidentLog, IncidentQueue, IncidentStatus } from '../shared/incidents.js';

export const RESOLVED_BEFORE_ACTING = 'resolved by the source before warden acted';

/** For a daemon whose loop is off: incidents are still recorded, nobody works on them. */
export const IDLE_QUEUE: IncidentQueue = { wake: () => undefined };

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
  ) {}

  /**
   * The incidents these alerts touched (opened, counted or closed), each once, in order. All of a
   * payload is recorded in one transaction, and the runner is woken only after it commits: a write
   * lock held by another process fails it before anything is written, so it can be tried again.
   */
  ingest(alerts: NormalizedAlert[]): { incidentIds: string[] } {
    const ids = this.store.atomically(() => {
      this.woken = [];
      const touched: string[] = [];
      for (const alert of alerts) {
        const id = alert.status === 'firing' ? this.firing(alert) : this.resolved(alert);
        if (id !== undefined && !touched.includes(id)) touched.push(id);
      }
      return touched;
    });
    for (const id of this.woken.splice(0)) this.queue.wake(id);
    return { incidentIds: ids };
  }

  /** `ingest`, waiting from a timer while another process holds the write lock (DatabaseBusy past `waitMs`). */
  ingestWhenFree(alerts: NormalizedAlert[], waitMs = INGEST_WAIT_MS): Promise<{ incidentIds: string[] }> {
    return whenFree(() => this.ingest(alerts), { waitMs });
  }

  /** Incidents to wake once the ingest's transaction has committed. */
  private woken: string[] = [];

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
    const late = this.lateRepeat(alert);
    if (late) {
      this.store.addAlert(late.id, alert);
      return late.id;
    }
    const flaps = this.flapsOf(alert.fingerprint);
    const incident = this.store.create(alert, where);
    if (flaps >= this.cfg.flapLimit) {
      this.store.update(incident.id, { status: 'escalated', flaps, resolution: `flapping: ${flaps} re-openings within the cooldown` }, {
        kind: 'escalation', summary: `flapping: ${flaps} re-openings within the cooldown of ${this.cfg.cooldownMinutes} minutes; not acting again`,
      });
      this.log.warn({ incident: incident.id, fingerprint: alert.fingerprint, flaps }, 'incident flapping: escalated');
      return incident.id;
    }
    if (flaps > 0) {
      this.store.update(incident.id, { flaps }, { kind: 'note', summary: `re-opened within the cooldown (${flaps} of ${this.cfg.flapLimit} before escalation)` });
    }
    const parent = dependencyIncident(this.store, this.inventory, where.service, incident.id);
    if (parent) {
      this.store.update(incident.id, { status: 'waiting_dependency', parentId: parent.id }, {
        kind: 'status', summary: `waiting on ${parent.id} (${parent.service ?? parent.target ?? parent.title}): a dependency is failing`,
      });
    } else {
      this.woken.push(incident.id);
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
      if (NOT_STARTED.includes(dep.status)) {
        this.store.update(dep.id, { status: 'waiting_dependency', parentId: incident.id }, { kind: 'status', summary: `waiting on ${incident.id}: ${why}` });
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
  private lateRepeat(alert: NormalizedAlert): Incident | undefined {
    const prev = this.store.lastClosed(alert.fingerprint);
    if (!prev?.closedAt) return undefined;
    const closedMs = Date.parse(prev.closedAt);
    const withinCooldown = this.now().getTime() - closedMs <= this.cfg.cooldownMinutes * 60_000;
    return withinCooldown && Date.parse(alert.startsAt) <= closedMs ? prev : undefined;
  }

  /** Re-openings in a row, each within the cooldown of the previous close; 0 when not flapping. */
  private flapsOf(fingerprint: string): number {
    const prev = this.store.lastClosed(fingerprint);
    if (!prev?.closedAt) return 0;
    const sinceMs = this.now().getTime() - Date.parse(prev.closedAt);
    return sinceMs <= this.cfg.cooldownMinutes * 60_000 ? prev.flaps + 1 : 0;
  }

  private resolved(alert: NormalizedAlert): string | undefined {
    const where = resolveWhere(this.inventory, alert.hints);
    const active = this.active(alert, where);
    if (!active) {
      this.log.debug({ fingerprint: alert.fingerprint }, 'resolved alert with no active incident');
      return undefined;
    }
    this.store.addAlert(active.id, alert);
    const own = active.fingerprint === alert.fingerprint;
    if (own && NOT_STARTED.includes(active.status)) {
      this.store.update(active.id, { status: 'resolved', resolution: RESOLVED_BEFORE_ACTING });
    } else {
      // Once warden has acted, only its own verification may close the incident.
      const why = own ? `the incident is ${active.status}; verification decides` : `another alert (${alert.fingerprint}) on the same target`;
      this.store.addEvent(active.id, 'note', `${alert.source} reports resolved: ${alert.summary} (${why})`);
    }
    return active.id;
  }
}
