// One incident's whole story for the console, gathered from where each part is kept: the incident's
// own events (alerts, status, model text, verification, escalation, notes), the model calls with
// their tokens and cost, the audit entries tagged with it (each tool call and its decision), and
// the configuration changes it made. Bounded: each source is read newest-first up to the cap, so a
// storm's incident costs the same page as a quiet one. Reads only; never writes.
import type { Incident, TimelineEvent } from '../../shared/incidents.js';
import type { Approval } from '../../store/approvals.js';
import type { AuditEntry } from '../../store/audit.js';
import type { ChangeRecord } from '../../store/changes.js';
import type { RecordedModelCall } from '../../store/incidents.js';
import type { ConsoleDeps } from './console-env.js';

/** Timeline entries shown at most: the newest ones. */
export const TIMELINE_CAP = 500;

export type TimelineEntry =
  | { kind: 'event'; time: string; event: TimelineEvent }
  | { kind: 'model-call'; time: string; call: RecordedModelCall }
  | { kind: 'audit'; time: string; entry: AuditEntry }
  | { kind: 'change'; time: string; change: ChangeRecord };

export interface IncidentStory {
  incident: Incident;
  /** Oldest first, at most TIMELINE_CAP. */
  entries: TimelineEntry[];
  /** Older entries exist that are not shown. */
  cut: boolean;
  models: { calls: number; inputTokens: number; outputTokens: number; costUsd: number };
  /** Requests of this incident still waiting for a human. */
  pending: Approval[];
  /** The newest escalation event, when it was handed to a human. */
  escalation: TimelineEvent | undefined;
}

/** The entry's data-kind: an incident event by its own kind, the others by their source. */
export function entryKind(e: TimelineEntry): string {
  return e.kind === 'event' ? e.event.kind : e.kind;
}

export function readStory(deps: ConsoleDeps, incident: Incident, cap = TIMELINE_CAP, now = new Date()): IncidentStory {
  const { rt, incidents } = deps;
  const id = incident.id;
  // One more than the cap from each source: whether anything older was left out.
  const events = incidents.timelineTail(id, cap + 1);
  const calls = incidents.modelCalls(id, cap + 1);
  const audit = rt.audit.forIncident(id, cap + 1);
  const changes = rt.changes.list({ incidentId: id, limit: cap + 1 });
  // At the same millisecond the incident's own event is the narrative of what the others did (a
  // model turn's text after its call, a tool's line after its audit entry): it goes last.
  const all: TimelineEntry[] = [
    ...calls.map((call): TimelineEntry => ({ kind: 'model-call', time: call.time, call })),
    ...audit.map((entry): TimelineEntry => ({ kind: 'audit', time: entry.time, entry })),
    ...changes.reverse().map((change): TimelineEntry => ({ kind: 'change', time: change.createdAt, change })),
    ...events.map((event): TimelineEntry => ({ kind: 'event', time: event.time, event })),
  ];
  // Stable: entries of one source at the same millisecond keep their written order.
  all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const entries = all.slice(-cap);
  return {
    incident,
    entries,
    cut: all.length > cap,
    models: incidents.modelTotals(id),
    pending: pendingApprovals(deps, incident, audit, now),
    escalation: [...events].reverse().find((e) => e.kind === 'escalation'),
  };
}

/**
 * The incident's held calls still pending: the one it waits on, and any other its audit entries
 * name (approvals have no index by incident; the audit's own does the finding).
 */
function pendingApprovals(deps: ConsoleDeps, incident: Incident, audit: AuditEntry[], now: Date): Approval[] {
  const ids = new Set<string>();
  if (incident.waitingOn) ids.add(incident.waitingOn);
  for (const e of audit) if (e.phase === 'pending' && e.approvalId) ids.add(e.approvalId);
  return [...ids]
    .map((a) => deps.rt.approvals.get(a, now))
    .filter((a): a is Approval => a !== undefined && a.status === 'pending');
}
