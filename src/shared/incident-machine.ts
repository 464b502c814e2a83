// The incident state machine: every status an incident can have, the events that move it, and
// from where each event may come. The store applies it (IncidentStore.transition is the only
// writer of status); an event from a status it does not leave from is refused, never applied.
// resolved and escalated are terminal: later alerts attach to the incident, nothing re-opens it.
export const INCIDENT_STATUSES = [
  'open', // recorded, queued for the runner
  'investigating', // the agent or the fallback is working on it
  'waiting_approval', // a held call waits for a human (waitingOn = approval id)
  'waiting_dependency', // a dependency's incident is the root cause (parentId)
  'verifying', // an action ran; the loop checks the outcome
  'resolved', // verified healthy, or the source said resolved
  'escalated', // handed to a human with the timeline
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
export const ACTIVE_STATUSES: readonly IncidentStatus[] = ['open', 'investigating', 'waiting_approval', 'waiting_dependency', 'verifying'];

export const INCIDENT_EVENTS = {
  /** The runner (agent or runbooks) starts or continues working on it. */
  work: { from: ['open', 'investigating', 'verifying'], to: 'investigating' },
  /** An action ran, or the loop checks whether the target is healthy now. */
  verify: { from: ['open', 'investigating', 'verifying', 'waiting_approval', 'waiting_dependency'], to: 'verifying' },
  /** A call is held for a human's approval. */
  hold: { from: ['open', 'investigating', 'verifying'], to: 'waiting_approval' },
  /** A dependency's incident is the likelier root cause: wait for it before acting. */
  wait_dependency: { from: ['open', 'investigating', 'verifying', 'waiting_dependency'], to: 'waiting_dependency' },
  /** The dependency's incident closed and this target still fails: back in the queue. */
  dependency_closed: { from: ['waiting_dependency'], to: 'open' },
  /** Verified healthy, or the source said resolved: what has not run yet is cancelled. */
  resolve: { from: ['open', 'investigating', 'waiting_approval', 'waiting_dependency', 'verifying'], to: 'resolved' },
  /** Handed to a human. */
  escalate: { from: ['open', 'investigating', 'waiting_approval', 'waiting_dependency', 'verifying'], to: 'escalated' },
} as const satisfies Record<string, { from: readonly IncidentStatus[]; to: IncidentStatus }>;

export type IncidentEvent = keyof typeof INCIDENT_EVENTS;

export const TERMINAL_STATUSES: readonly IncidentStatus[] = ['resolved', 'escalated'];

/** An event that may not happen in the incident's status: refused, and nothing is written. */
export class InvalidTransition extends Error {
  constructor(readonly incidentId: string, readonly from: IncidentStatus, readonly event: IncidentEvent, why?: string) {
    super(`incident ${incidentId}: "${event}" cannot happen while it is ${from}${why ? `: ${why}` : ''}`);
    this.name = 'InvalidTransition';
  }
}

/** The status `event` leads to from `from`, or undefined when it may not happen there. */
export function nextStatus(from: IncidentStatus, event: IncidentEvent): IncidentStatus | undefined {
  const rule = INCIDENT_EVENTS[event];
  return (rule.from as readonly IncidentStatus[]).includes(from) ? rule.to : undefined;
}
