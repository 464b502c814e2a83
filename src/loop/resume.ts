// Restart safety: what the loop already did on an incident, read from the audit (the one record a
// crash cannot lose) and the timeline. An action whose 'requested' entry exists may have run: it is
// verified, never repeated.
import type { AuditEntry } from '../store/audit.js';
import { isLoopPrincipal } from '../shared/roles.js';
import type { TimelineEvent } from '../shared/incidents.js';

export interface UnfinishedAction {
  callId: string;
  tool: string;
  target: string | null;
  /** interrupted: requested, no outcome recorded (it may or may not have run); unverified: it completed, nothing checked it since. */
  state: 'interrupted' | 'unverified';
  requestedAt: string;
}

const OUTCOMES = new Set(['completed', 'failed']);

/**
 * The loop's last write on this incident, when it still needs verification: its 'requested'
 * entry without an outcome, or its 'completed' entry with no verification in the timeline since.
 */
export function unfinishedAction(entries: readonly AuditEntry[], timeline: readonly TimelineEvent[]): UnfinishedAction | undefined {
  const writes = entries.filter((e) => isLoopPrincipal(e.principal) && e.risk !== null && e.risk !== 'read' && !e.dryRun);
  const last = writes.filter((e) => e.phase === 'requested').at(-1);
  if (!last) return undefined;
  const outcome = writes.find((e) => e.callId === last.callId && OUTCOMES.has(e.phase));
  const base = { callId: last.callId, tool: last.tool, target: last.target, requestedAt: last.time };
  if (!outcome) return { ...base, state: 'interrupted' };
  if (outcome.phase === 'failed') return undefined;
  const verified = timeline.some((e) => e.kind === 'verify' && e.time >= outcome.time);
  return verified ? undefined : { ...base, state: 'unverified' };
}
