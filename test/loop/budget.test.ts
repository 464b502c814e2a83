import { describe, expect, it } from 'vitest';
import { Budget, estimateCostUsd, startOfUtcDay, type Budgets } from '../../src/loop/budget.js';

const BUDGETS: Budgets = { turns: 3, tokens: 1_000, wallSeconds: 60, dailyUsd: 2, inputUsdPerMTok: 3, outputUsdPerMTok: 15 };
const T0 = Date.parse('2026-11-23T23:59:00Z');

function budget(opts: { spentToday?: number; elapsedMs?: number } = {}) {
  const asked: Date[] = [];
  let now = T0;
  const b = new Budget(BUDGETS, { costSince: (since) => (asked.push(since), opts.spentToday ?? 0) }, () => now);
  now += opts.elapsedMs ?? 0;
  return { b, asked };
}

const spent = (turns: number, inputTokens = 0, outputTokens = 0) => ({ turns, inputTokens, outputTokens });

describe('budgets', () => {
  it('the day starts at midnight UTC', () => {
    expect(startOfUtcDay(new Date('2026-11-23T23:59:59+05:00')).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(startOfUtcDay(new Date('2026-11-23T00:30:00-02:00')).toISOString()).toBe('2026-11-23T00:00:00.000Z');
  });

  it('estimates cost from the per-million-token prices', () => {
    expect(estimateCostUsd(BUDGETS, 1_000_000, 100_000)).toBeCloseTo(3 + 1.5, 9);
  });

  it('has room while every budget has room, asking for the cost since midnight UTC', () => {
    const { b, asked } = budget({ spentToday: 1.99 });
    expect(b.exhausted(spent(2, 500, 499))).toBeUndefined();
    expect(asked).toEqual([new Date('2026-11-23T00:00:00Z')]);
  });

  it.each([
    ['turns', spent(3), {}, /turn budget spent \(3 of 3 turns\)/],
    ['tokens', spent(1, 600, 400), {}, /token budget spent \(1000 of 1000 tokens\)/],
    ['wall time', spent(1), { elapsedMs: 60_000 }, /wall-time budget spent \(60 s\)/],
    ['daily cost', spent(0), { spentToday: 2 }, /daily cost budget spent \(about \$2\.00 of \$2\.00 today, UTC\)/],
  ])('is spent on %s', (_what, s, opts, why) => {
    expect(budget(opts).b.exhausted(s)).toMatch(why);
  });
});
