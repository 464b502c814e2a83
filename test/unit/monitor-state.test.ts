// The monitors' state machines with an injected clock: retries before down, hysteresis, "for"
// durations and cooldowns, decided on readings and times alone (no timers, no flakiness).
import { describe, expect, it } from 'vitest';
import { initialProbe, observeProbe, type ProbeMemory } from '../../src/loop/monitors/probe-state.js';
import { initialThreshold, observeThreshold, type ThresholdMemory, type ThresholdRules } from '../../src/loop/monitors/threshold-state.js';

const S = 1_000;

/** Feeds results at the given times; returns the events in order as "t:event". */
function probeRun(results: Array<[number, boolean]>, rules = { retries: 3, cooldownMs: 0 }): { events: string[]; last: ProbeMemory } {
  let m = initialProbe(0);
  const events: string[] = [];
  for (const [t, up] of results) {
    const step = observeProbe(m, up, t * S, rules);
    m = step.memory;
    if (step.event) events.push(`${t}:${step.event}`);
  }
  return { events, last: m };
}

function thresholdRun(values: Array<[number, number | null]>, rules: ThresholdRules): { events: string[]; last: ThresholdMemory; held: string[] } {
  let m = initialThreshold(0);
  const events: string[] = [];
  const held: string[] = [];
  for (const [t, v] of values) {
    const step = observeThreshold(m, v, t * S, rules);
    m = step.memory;
    if (step.event) events.push(`${t}:${step.event}`);
    if (step.held) held.push(`${t}:${step.held}`);
  }
  return { events, last: m, held };
}

describe('a service probe', () => {
  it('goes down only at the third failure in a row (retries 3): detection within interval x retries', () => {
    const r = probeRun([[0, true], [10, false], [20, false], [30, false], [40, false]]);
    expect(r.events).toEqual(['30:down']);
    expect(r.last).toMatchObject({ status: 'down', failures: 4, since: 30 * S });
  });

  it('forgets failures after a success: two failures, a success, two failures is never down', () => {
    expect(probeRun([[0, false], [10, false], [20, true], [30, false], [40, false]]).events).toEqual([]);
  });

  it('reports up only after a down: a first success is no news', () => {
    expect(probeRun([[0, true], [10, true]]).events).toEqual([]);
    expect(probeRun([[0, false], [1, false], [2, false], [3, true]]).events).toEqual(['2:down', '3:up']);
  });

  it('down with retries 1 at the first failure', () => {
    expect(probeRun([[0, false]], { retries: 1, cooldownMs: 0 }).events).toEqual(['0:down']);
  });

  it('holds a new down within the cooldown after a recovery, and reports it once the cooldown has passed if it still fails', () => {
    const flapping: Array<[number, boolean]> = [[0, false], [10, true], [20, false], [30, false], [40, false], [50, false], [70, false]];
    const r = probeRun(flapping, { retries: 1, cooldownMs: 60 * S });
    expect(r.events).toEqual(['0:down', '10:up', '70:down']);
  });

  it('a flap that recovers inside the cooldown never fires again', () => {
    const r = probeRun([[0, false], [10, true], [20, false], [30, true], [40, false], [50, true]], { retries: 1, cooldownMs: 60 * S });
    expect(r.events).toEqual(['0:down', '10:up']);
  });
});

describe('a host threshold', () => {
  const disk: ThresholdRules = { fire: 90, clear: 85, forMs: 0, cooldownMs: 0 };

  it('fires at the fire level and clears only below the clear level (hysteresis)', () => {
    const r = thresholdRun([[0, 89.9], [1, 90], [2, 87], [3, 85], [4, 84.9], [5, 89]], disk);
    expect(r.events).toEqual(['1:fire', '4:clear']);
    expect(r.last.status).toBe('ok');
  });

  it('fires only after staying at or above the level for the whole "for" duration; a dip resets it', () => {
    const cpu: ThresholdRules = { fire: 90, clear: 80, forMs: 300 * S, cooldownMs: 0 };
    const r = thresholdRun([[0, 95], [120, 96], [240, 89], [250, 95], [500, 97], [550, 99]], cpu);
    expect(r.events).toEqual(['550:fire']);
    expect(r.held[0]).toMatch(/^0:at or above 90 since .*; fires after 300 s$/);
  });

  it('does not fire again within the cooldown after a clear; fires when the cooldown ends if still high', () => {
    const r = thresholdRun([[0, 95], [10, 50], [20, 95], [300, 95], [700, 95]], { ...disk, cooldownMs: 600 * S });
    expect(r.events).toEqual(['0:fire', '10:clear', '700:fire']);
  });

  it('ignores a missing reading: a sensor that vanished neither fires nor clears', () => {
    const r = thresholdRun([[0, 95], [1, null], [2, Number.NaN], [3, 50]], disk);
    expect(r.events).toEqual(['0:fire', '3:clear']);
  });

  it('a storm longer than any window fires once, not once per reading', () => {
    const readings: Array<[number, number]> = Array.from({ length: 1_000 }, (_, i) => [i * 10, 99]);
    expect(thresholdRun(readings, { ...disk, cooldownMs: 600 * S }).events).toEqual(['0:fire']);
  });
});
