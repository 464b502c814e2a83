// A service probe's state over time: pending until known, down after `retries` failed probes in a
// row, up again on the first success. Pure: results and the time in, the next state and at most one
// event out, so the schedule (and a test's clock) decides when, never this code.

export type ProbeStatus = 'pending' | 'up' | 'down';

export interface ProbeMemory {
  status: ProbeStatus;
  /** Failed probes in a row. */
  failures: number;
  /** When the status last changed (ms). */
  since: number;
  /** When it last recovered from down (ms): the cooldown counts from here. */
  recoveredAt?: number;
  /**
   * Whether it has ever passed since it started: a check that never did is more likely wrong (a
   * typo in the URL, a port warden cannot reach) than the service down, and no restart fixes that.
   */
  everUp: boolean;
}

export interface ProbeRules {
  retries: number;
  cooldownMs: number;
}

/** `down` fires an alert; `up` resolves it (only after a `down`: a first success is no news). */
export type ProbeEvent = 'down' | 'up';

export interface ProbeStep {
  memory: ProbeMemory;
  event?: ProbeEvent;
  /** Why a down was not reported yet (retries left, cooldown), for `monitors status`. */
  held?: string;
}

export const initialProbe = (now: number): ProbeMemory => ({ status: 'pending', failures: 0, since: now, everUp: false });

export function observeProbe(m: ProbeMemory, up: boolean, now: number, rules: ProbeRules): ProbeStep {
  if (up) {
    if (m.status === 'up') return { memory: { ...m, failures: 0 } };
    const wasDown = m.status === 'down';
    return {
      memory: { status: 'up', failures: 0, since: now, everUp: true, ...(wasDown ? { recoveredAt: now } : m.recoveredAt !== undefined ? { recoveredAt: m.recoveredAt } : {}) },
      ...(wasDown ? { event: 'up' as const } : {}),
    };
  }
  const failures = m.failures + 1;
  if (m.status === 'down') return { memory: { ...m, failures } };
  if (failures < rules.retries) {
    return { memory: { ...m, status: 'pending', failures, since: m.status === 'pending' ? m.since : now }, held: `${failures} of ${rules.retries} failed probes before down` };
  }
  const coolsAt = (m.recoveredAt ?? -Infinity) + rules.cooldownMs;
  if (now < coolsAt) {
    return { memory: { ...m, status: 'pending', failures, since: m.status === 'pending' ? m.since : now }, held: `failing, but within the cooldown after its last recovery (until ${new Date(coolsAt).toISOString()})` };
  }
  return { memory: { ...m, status: 'down', failures, since: now }, event: 'down' };
}
