// A host threshold's state over time, as a Prometheus rule with hysteresis: at or above `fire` it is
// pending, and fires once it stayed there for `for`; firing, it clears only below `clear`; after a
// clear it may not fire again within the cooldown. Pure: readings and the time in, the next state
// and at most one event out. A missing reading changes nothing.

export type ThresholdStatus = 'ok' | 'pending' | 'firing';

export interface ThresholdMemory {
  status: ThresholdStatus;
  /** When the status last changed (ms). */
  since: number;
  /** When the level first reached `fire` in the current run (ms). */
  pendingSince?: number;
  /** When it last cleared (ms): the cooldown counts from here. */
  clearedAt?: number;
}

export interface ThresholdRules {
  fire: number;
  clear: number;
  forMs: number;
  cooldownMs: number;
}

export type ThresholdEvent = 'fire' | 'clear';

export interface ThresholdStep {
  memory: ThresholdMemory;
  event?: ThresholdEvent;
  /** Why a level at or above `fire` has not fired yet ("for", cooldown). */
  held?: string;
}

export const initialThreshold = (now: number): ThresholdMemory => ({ status: 'ok', since: now });

const keep = (m: ThresholdMemory): Pick<ThresholdMemory, 'clearedAt'> => (m.clearedAt !== undefined ? { clearedAt: m.clearedAt } : {});

export function observeThreshold(m: ThresholdMemory, value: number | null, now: number, r: ThresholdRules): ThresholdStep {
  if (value === null || !Number.isFinite(value)) return { memory: m };
  if (m.status === 'firing') {
    if (value >= r.clear) return { memory: m };
    return { memory: { status: 'ok', since: now, clearedAt: now }, event: 'clear' };
  }
  if (value < r.fire) {
    return { memory: m.status === 'ok' ? m : { status: 'ok', since: now, ...keep(m) } };
  }
  const pendingSince = m.pendingSince ?? now;
  const pending: ThresholdMemory = { status: 'pending', since: m.status === 'pending' ? m.since : now, pendingSince, ...keep(m) };
  if (now - pendingSince < r.forMs) {
    return { memory: pending, held: `at or above ${r.fire} since ${new Date(pendingSince).toISOString()}; fires after ${Math.round(r.forMs / 1000)} s` };
  }
  const coolsAt = (m.clearedAt ?? -Infinity) + r.cooldownMs;
  if (now < coolsAt) return { memory: pending, held: `within the cooldown after its last clear (until ${new Date(coolsAt).toISOString()})` };
  return { memory: { status: 'firing', since: now, ...keep(m) }, event: 'fire' };
}
