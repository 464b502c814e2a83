// The plan of `warden chaos run` and the argv of inject_fault: pure, so checked by table.
import { describe, expect, it } from 'vitest';
import { faultsFor, planRounds, seeded, type Candidate } from '../../src/commands/chaos-plan.js';
import { FAULTS, exitArgv, oomArgv, type Fault } from '../../src/tools/chaos-fault.js';

const c = (name: string, memoryBytes = 0, hasHealthCheck = false): Candidate => ({ host: 'local', name, memoryBytes, hasHealthCheck });
const ALL = [...FAULTS] as Fault[];

describe('planRounds', () => {
  it('gives the same plan for the same seed, whatever order discovery found the containers in', () => {
    const cs = [c('a', 1), c('b', 0, true), c('c', 1, true)];
    const opts = { rounds: 5, maxConcurrent: 2, faults: ALL, seed: 42 };
    expect(planRounds(cs, opts)).toEqual(planRounds([...cs].reverse(), opts));
    expect(planRounds(cs, opts)).not.toEqual(planRounds(cs, { ...opts, seed: 43 }));
  });

  it('puts at most maxConcurrent faults in a round, never two into one container', () => {
    const plan = planRounds([c('a'), c('b'), c('c')], { rounds: 20, maxConcurrent: 2, faults: ALL, seed: 1 });
    expect(plan).toHaveLength(20);
    for (const round of plan) {
      expect(round).toHaveLength(2);
      expect(new Set(round.map((f) => f.container)).size).toBe(2);
    }
  });

  it('gives oom only to containers with a memory limit and unhealthy only to those with a health check', () => {
    const plan = planRounds([c('plain'), c('limited', 1 << 24), c('checked', 0, true)], { rounds: 50, maxConcurrent: 3, faults: ['oom', 'unhealthy'], seed: 9 }).flat();
    expect(plan.filter((f) => f.container === 'plain')).toEqual([]);
    expect(new Set(plan.filter((f) => f.container === 'limited').map((f) => f.fault))).toEqual(new Set(['oom']));
    expect(new Set(plan.filter((f) => f.container === 'checked').map((f) => f.fault))).toEqual(new Set(['unhealthy']));
  });

  it('plans nothing without candidates, and picks only among the faults asked for', () => {
    expect(planRounds([], { rounds: 3, maxConcurrent: 1, faults: ALL, seed: 1 })).toEqual([[], [], []]);
    expect(faultsFor(c('x', 1, true), ['kill', 'pause'])).toEqual(['kill', 'pause']);
  });

  it('draws numbers in [0, 1) from a seed, the same each time', () => {
    const a = seeded(7);
    const b = seeded(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('inject_fault argv', () => {
  it.each([
    [1, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1M', 'count=1']],
    [512, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=512M', 'count=1']],
  ])('oom of %i MiB is one dd, no shell', (mb, argv) => {
    expect(oomArgv(mb)).toEqual(argv);
  });

  it('exit signals PID 1 by name', () => {
    expect(exitArgv('TERM')).toEqual(['kill', '-s', 'TERM', '1']);
  });
});
