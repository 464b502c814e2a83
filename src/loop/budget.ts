// What one agent run may spend: turns, tokens, wall time, and the day's model cost across every
// run. Checked before each model request, so a spent budget never costs one more call.
import type { LoopConfig } from './config.js';
import type { IncidentLog } from '../shared/incidents.js';

export type Budgets = LoopConfig['budgets'];

export interface Spent {
  turns: number;
  inputTokens: number;
  outputTokens: number;
}

/** Midnight UTC of the day `now` falls in: the daily cost budget resets there. */
export function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

/** Estimated USD for one response, from the configured per-million-token prices. */
export function estimateCostUsd(budgets: Budgets, inputTokens: number, outputTokens: number): number {
  return (inputTokens * budgets.inputUsdPerMTok + outputTokens * budgets.outputUsdPerMTok) / 1_000_000;
}

export class Budget {
  readonly deadlineMs: number;

  constructor(
    private readonly budgets: Budgets,
    private readonly log: Pick<IncidentLog, 'costSince'>,
    private readonly now: () => number = Date.now,
  ) {
    this.deadlineMs = now() + budgets.wallSeconds * 1000;
  }

  remainingMs(): number {
    return Math.max(0, this.deadlineMs - this.now());
  }

  /** Why no further request may be made, or undefined while every budget has room. */
  exhausted(spent: Spent): string | undefined {
    const b = this.budgets;
    if (spent.turns >= b.turns) return `turn budget spent (${spent.turns} of ${b.turns} turns)`;
    const tokens = spent.inputTokens + spent.outputTokens;
    if (tokens >= b.tokens) return `token budget spent (${tokens} of ${b.tokens} tokens)`;
    if (this.remainingMs() <= 0) return `wall-time budget spent (${b.wallSeconds} s)`;
    const today = this.log.costSince(startOfUtcDay(new Date(this.now())));
    if (today >= b.dailyUsd) return `daily cost budget spent (about $${today.toFixed(2)} of $${b.dailyUsd.toFixed(2)} today, UTC)`;
    return undefined;
  }
}
