// The autonomous loop's shared vocabulary: incidents, their timeline, and the narrow interfaces
// the loop's parts talk through (intake -> queue -> runner -> agent or fallback -> verify).
import type { NormalizedAlert } from './alerts.js';
import type { IncidentEvent, IncidentStatus } from './incident-machine.js';

// The statuses live with the state machine that moves between them.
export { ACTIVE_STATUSES, INCIDENT_STATUSES, type IncidentStatus } from './incident-machine.js';

export interface Incident {
  id: string;
  fingerprint: string;
  status: IncidentStatus;
  source: string;
  severity: string;
  title: string;
  summary: string;
  /** `host/container` when known; null when the alert named nothing the inventory knows. */
  target: string | null;
  host: string | null;
  container: string | null;
  service: string | null;
  openedAt: string;
  updatedAt: string;
  closedAt: string | null;
  resolution: string | null;
  alertCount: number;
  /** The root-cause incident this one waits on. */
  parentId: string | null;
  /** The approval id a held call waits on. */
  waitingOn: string | null;
  /** How many times the loop has acted on it (restarts, reloads). */
  attempts: number;
  /** Times it re-opened within the cooldown window (flapping). */
  flaps: number;
  /** A person's confirmation of the resolution (all three set, or all null); absent outside the store. */
  validatedBy?: string | null;
  validatedAt?: string | null;
  validatedNote?: string | null;
}

export const TIMELINE_KINDS = ['alert', 'status', 'model', 'tool', 'verify', 'escalation', 'note'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineEvent {
  id: number;
  incidentId: string;
  time: string;
  kind: TimelineKind;
  summary: string;
  data: unknown;
}

export interface ModelCall {
  incidentId: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  costUsd: number;
  /** ok | error:<status or code> */
  outcome: string;
  /** Which level of model answered: 1 the first-level model (loop.firstLevel), 2 Claude (the default). */
  level?: 1 | 2;
}

export type IncidentPatch = Partial<Pick<Incident, 'resolution' | 'parentId' | 'waitingOn' | 'attempts' | 'flaps' | 'severity'>>;

/** What the loop's parts need of the store. src/store/incidents.ts implements it on SQLite. */
export interface IncidentLog {
  get(id: string): Incident | undefined;
  list(opts?: { status?: IncidentStatus | 'active'; limit?: number }): Incident[];
  timeline(id: string): TimelineEvent[];
  /** The active incident with this fingerprint, or for this target, if any. */
  findActive(by: { fingerprint?: string; target?: string }): Incident | undefined;
  /**
   * The most recently closed incident for this fingerprint or, when known, this canonical target
   * (flapping, cooldown, OOM history): the same failure seen by Docker's events and by a monitor
   * has two fingerprints and one target.
   */
  lastClosed(by: { fingerprint: string; target?: string | null }): Incident | undefined;
  create(alert: NormalizedAlert, where: { target: string | null; host: string | null; container: string | null; service: string | null }): Incident;
  /** One alert more for an incident: count, last time, timeline. */
  addAlert(id: string, alert: NormalizedAlert): void;
  /** Fields other than status; a status changes only through `transition`. */
  update(id: string, patch: IncidentPatch, event?: { kind: TimelineKind; summary: string; data?: unknown }): Incident;
  /**
   * The one writer of status: applies `event` (incident-machine.ts) with `patch`, and records the
   * transition on the timeline with `summary` as its reason. Throws InvalidTransition, writing
   * nothing, when the event may not happen in the incident's status.
   */
  transition(id: string, event: IncidentEvent, summary: string, patch?: IncidentPatch, opts?: { kind?: TimelineKind; data?: unknown }): Incident;
  addEvent(id: string, kind: TimelineKind, summary: string, data?: unknown): void;
  recordModelCall(call: ModelCall): void;
  /** Estimated model spend since `since`, for the daily budget. */
  costSince(since: Date): number;
  /** Every payload posted to /alerts, accepted or not: nothing is lost. */
  recordPayload(entry: { source: string; outcome: 'accepted' | 'ignored' | 'rejected'; reason?: string; body: string; incidentIds?: string[] }): void;
  /** Runs `fn` in one IMMEDIATE transaction: it fails before writing anything, or commits all of it. */
  atomically<T>(fn: () => T): T;
}

/** Where intake hands work to the runner. */
export interface IncidentQueue {
  /** The incident needs (re)consideration: new, reopened, its approval decided, its parent closed. */
  wake(incidentId: string): void;
  /** The incident was closed while work may be under way: stop it, cancel what has not run. */
  closedElsewhere(incidentId: string, reason: string): void;
  /** The incident now waits on a dependency: the run under way stops at its next step. */
  parked(incidentId: string, reason: string): void;
}
