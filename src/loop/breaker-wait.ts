// An incident on a host whose Docker endpoint or SSH connection has its circuit breaker open waits
// for the breaker's trial instead of hammering a host that is down: a note says why, once per
// opening, and the runner looks again when the trial is due. A host down for longer than
// BREAKER_WAIT_LIMIT_MS is a human's: the incident is escalated with the breaker's evidence.
import type { BreakerBoard, BreakerView } from '../adapters/breakers.js';
import type { Incident, IncidentLog } from '../shared/incidents.js';

/** How long an incident waits on one host's breakers before a human is told. */
export const BREAKER_WAIT_LIMIT_MS = 15 * 60_000;
const BREAKER_EVENT = 'breakerWait';

export type BreakerWait =
  | { wait: true; retryAfterMs: number }
  | { escalate: string };

/** The host's open breaker, if any: Docker first (what most incidents need), then SSH. */
function blockedOn(breakers: BreakerBoard, host: string, now: number): BreakerView | undefined {
  for (const name of [`docker:${host}`, `ssh:${host}`]) {
    const b = breakers.find(name);
    if (b?.blocked(now)) return b.view();
  }
  return undefined;
}

/** Undefined when the incident may be worked on now. */
export function breakerWait(incidents: IncidentLog, breakers: BreakerBoard | undefined, inc: Incident, now = Date.now()): BreakerWait | undefined {
  if (!breakers || !inc.host) return undefined;
  const open = blockedOn(breakers, inc.host, now);
  if (!open) return undefined;
  // Repeats of its alert arrive while it waits: the wait goes on until the loop did something else.
  const last = incidents.timeline(inc.id).findLast((e) => e.kind !== 'alert');
  const previous = (last?.data as { [BREAKER_EVENT]?: { name: string; since: string; waitingSince: string } } | null | undefined)?.[BREAKER_EVENT];
  const waitingSince = previous?.waitingSince ?? new Date(now).toISOString();
  const why = `${open.name} is failing (${open.failures} failures in a row${open.lastError ? `: ${open.lastError}` : ''})`;
  if (now - Date.parse(waitingSince) > BREAKER_WAIT_LIMIT_MS) {
    return { escalate: `${why}; its incidents waited since ${waitingSince} for the host to come back, and it has not` };
  }
  if (previous?.name !== open.name || previous.since !== open.since) {
    const until = open.state === 'half_open' ? 'one trial call is testing it now' : `its circuit breaker is open until ${open.retryAt ?? '?'}`;
    incidents.addEvent(inc.id, 'note', `waiting: ${why}; ${until}, so the loop does not hammer the host and looks again then`, {
      [BREAKER_EVENT]: { name: open.name, since: open.since, waitingSince },
    });
  }
  // While another call is the trial, look again soon: its outcome decides within its bound. Incidents
  // woken together at retryAt are spread over a second, so one of them is the trial, not all at once.
  if (open.state === 'half_open') return { wait: true, retryAfterMs: 2_000 };
  const retryAt = open.retryAt ? Date.parse(open.retryAt) : now + 60_000;
  return { wait: true, retryAfterMs: Math.max(1_000, retryAt - now + 250 + Math.floor(Math.random() * 1_000)) };
}
