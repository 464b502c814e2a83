// How an incident leaves the runner's hands: resolved (with what was done and how it was verified),
// escalated to a human (a notification with the compact timeline), or parked on an approval. Closing
// an incident wakes the incidents that waited on it.
import { approveCommand } from '../policy/approval-flow.js';
import { redactValue } from '../shared/redact.js';
import type { Logger } from '../log.js';
import type { HeldCall } from './agent.js';
import { dependentsOf } from './correlate.js';
import type { Notifier } from '../shared/notifier.js';
import type { IncidentLog, TimelineEvent } from '../shared/incidents.js';

export interface CloseDeps {
  incidents: IncidentLog;
  notifier: Notifier;
  log: Logger;
  wake(incidentId: string): void;
  /** Named in the approve and deny commands an escalation gives (see approveCommand). */
  dataDir?: string;
}

/** What a notification carries of the timeline: the newest events, one short line each. */
export const TIMELINE_LINES = 12;
const TIMELINE_CHARS = 1_500;

export function compactTimeline(events: readonly TimelineEvent[]): string {
  const lines = events.slice(-TIMELINE_LINES).map((e) => `${e.time.slice(11, 19)} ${e.kind}: ${e.summary.replace(/\s+/g, ' ').slice(0, 160)}`);
  const skipped = events.length - lines.length;
  let text = `${skipped > 0 ? `(${skipped} earlier events)\n` : ''}${lines.join('\n')}`;
  if (text.length > TIMELINE_CHARS) text = `...${text.slice(-TIMELINE_CHARS)}`;
  return text;
}

function wakeDependents(d: CloseDeps, id: string): void {
  for (const dep of dependentsOf(d.incidents, id)) d.wake(dep.id);
}

export function resolveIncident(d: CloseDeps, id: string, resolution: string): void {
  d.incidents.transition(id, 'resolve', resolution, { resolution, waitingOn: null });
  d.log.info({ incident: id, resolution }, 'incident resolved');
  wakeDependents(d, id);
}

export function escalateIncident(d: CloseDeps, id: string, reason: string, proposal?: string): void {
  const inc = d.incidents.transition(id, 'escalate', proposal ? `${reason}; proposal: ${proposal}` : reason, { resolution: `escalated: ${reason}`, waitingOn: null }, {
    kind: 'escalation', data: proposal ? { proposal } : undefined,
  });
  d.notifier.send({
    event: 'escalation',
    title: `warden: incident ${id} on ${inc.target ?? inc.host ?? 'an unknown target'} needs a human: ${reason}`.slice(0, 300),
    fields: {
      incident: id, target: inc.target, service: inc.service, severity: inc.severity, title: inc.title,
      reason, proposal, attempts: inc.attempts, alerts: inc.alertCount, timeline: compactTimeline(d.incidents.timeline(id)),
    },
  });
  d.log.warn({ incident: id, reason, proposal }, 'incident escalated');
  wakeDependents(d, id);
}

/**
 * The held call is kept in the timeline with its exact arguments, so the runner (or the next daemon
 * after a restart) re-runs exactly it once approved; the guard already announced approval.requested.
 */
export function parkOnApproval(d: CloseDeps, id: string, held: HeldCall, summary: string, by: 'agent' | 'runbook'): void {
  const inc = d.incidents.transition(id, 'hold', `waiting for approval ${held.approvalId}: ${held.tool} (${by})`, { waitingOn: held.approvalId }, {
    data: { heldCall: held, by },
  });
  d.notifier.send({
    event: 'escalation',
    title: `warden: incident ${id} on ${inc.target ?? 'an unknown target'} needs approval ${held.approvalId} for ${held.tool}`,
    fields: {
      incident: id, target: inc.target, approvalId: held.approvalId, tool: held.tool, args: JSON.stringify(redactValue(held.args)),
      summary: summary.slice(0, 1_000), approve: approveCommand(held.approvalId, d.dataDir), deny: approveCommand(held.approvalId, d.dataDir, 'deny'),
    },
  });
  d.log.info({ incident: id, approvalId: held.approvalId, tool: held.tool }, 'incident waits for approval');
}

/** The held call an incident waits on, from its timeline. */
export function heldCallOf(timeline: readonly TimelineEvent[], approvalId: string): HeldCall | undefined {
  for (let i = timeline.length - 1; i >= 0; i -= 1) {
    const held = (timeline[i]!.data as { heldCall?: HeldCall } | null | undefined)?.heldCall;
    if (held?.approvalId === approvalId) return held;
  }
  return undefined;
}
