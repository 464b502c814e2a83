// Circuit breakers on what warden depends on: the Messages API, each Docker endpoint, each SSH host,
// each webhook. After `failures` counted failures in a row a breaker opens and calls fail at once
// (BreakerOpen) instead of hammering a dependency that is down; after `halfOpenMs` one trial call goes
// through, bounded by `trialTimeoutMs`, and its outcome closes or re-opens it. Calls that arrive
// during the trial are refused at once, never queued behind it: a queued write could run after its
// caller gave up. cockatiel runs the state machine; this file names the breakers and reports them.
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { ToolFailure, errorMessage } from '../errors.js';
import { redactText } from '../shared/redact.js';

export type BreakerKind = 'model' | 'docker' | 'ssh' | 'webhook';
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerView {
  name: string;
  kind: BreakerKind;
  state: BreakerState;
  /** When it entered this state. */
  since: string;
  /** Counted failures since it last closed. */
  failures: number;
  lastError?: string;
  /** While open: when the next call becomes the trial. */
  retryAt?: string;
}

export interface BreakerSettings {
  /** Counted failures in a row that open it (default 5). */
  failures: number;
  /** How long it stays open before one trial call (default 60 s). */
  halfOpenMs: number;
  /** How long the trial call may take before it counts as a failure (default 30 s): a hung trial must not hold the breaker half-open. */
  trialTimeoutMs?: number;
}

export const BREAKER_DEFAULTS: BreakerSettings = { failures: 5, halfOpenMs: 60_000, trialTimeoutMs: 30_000 };

/** The trial call took longer than its bound: counted as a failure, whatever the call does later. */
class TrialTimeout extends Error {
  constructor(ms: number) {
    super(`the trial call did not answer within ${ms} ms`);
    this.name = 'TrialTimeout';
  }
}

/** The trial's caller gave up before the dependency answered: no verdict, so it counts as a failure and the breaker waits again. */
class TrialUnknown extends Error {
  constructor(readonly original: unknown) {
    super('the trial call was abandoned by its caller before the dependency answered');
    this.name = 'TrialUnknown';
  }
}

function bounded<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new TrialTimeout(ms)), ms); });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/** A call refused at once because its dependency's breaker is open. */
export class BreakerOpen extends Error {
  constructor(readonly view: BreakerView) {
    const until = view.state === 'half_open' ? 'one trial call is testing it now' : `its circuit breaker is open until ${view.retryAt ?? 'the next trial'}`;
    super(`${view.name} is failing (${view.failures} failures in a row${view.lastError ? `, last: ${view.lastError}` : ''}); ${until}`);
    this.name = 'BreakerOpen';
  }
}

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
};

export class Breaker {
  private readonly policy: CircuitBreakerPolicy;
  private since = new Date();
  private openedAtMs = 0;
  private failures = 0;
  private lastError: string | undefined;

  /** `counts(err)`: whether a failure says the dependency is down (a refusal by a healthy dependency does not). */
  constructor(readonly name: string, readonly kind: BreakerKind, private readonly settings: BreakerSettings, counts: (err: unknown) => boolean, private readonly changed: (view: BreakerView) => void) {
    this.policy = circuitBreaker(handleWhen((err) => err instanceof TrialTimeout || err instanceof TrialUnknown || counts(err)), { halfOpenAfter: settings.halfOpenMs, breaker: new ConsecutiveBreaker(settings.failures) });
    this.policy.onFailure(({ handled, reason }) => {
      if (!handled) return;
      this.failures += 1;
      this.lastError = redactText('error' in reason ? errorMessage(reason.error) : 'a failed result').slice(0, 200);
    });
    this.policy.onSuccess(() => {
      if (this.policy.state === CircuitState.Closed) this.failures = 0;
    });
    this.policy.onBreak(() => { this.openedAtMs = Date.now(); });
    this.policy.onReset(() => {
      this.failures = 0;
      this.lastError = undefined;
    });
    this.policy.onStateChange(() => {
      this.since = new Date();
      this.changed(this.view());
    });
  }

  /**
   * Runs `fn` through the breaker; BreakerOpen while it is open and not yet due, or while another call
   * is its trial. `inconclusive(err)`: a failure that says nothing of the dependency (its caller
   * abandoned it); as the trial's outcome it counts as a failure, since a cancel must never close a
   * breaker on a dependency that did not answer.
   */
  async run<T>(fn: () => Promise<T>, opts: { inconclusive?: (err: unknown) => boolean } = {}): Promise<T> {
    if (this.policy.state === CircuitState.HalfOpen) throw new BreakerOpen(this.view());
    // Open and due: this call is the trial. The breaker judges it within its bound (a hung trial must
    // not hold it half-open); the caller still waits for the call's own outcome, under its own
    // deadline, so a slow write is never reported failed while it goes on.
    const trial = this.policy.state === CircuitState.Open;
    const trialMs = this.settings.trialTimeoutMs ?? BREAKER_DEFAULTS.trialTimeoutMs!;
    let real: Promise<T> | undefined;
    const judged = (): Promise<T> => bounded((real = fn()), trialMs).catch((err: unknown) => {
      throw opts.inconclusive?.(err) ? new TrialUnknown(err) : err;
    });
    try {
      return await this.policy.execute(trial ? judged : fn);
    } catch (err) {
      if (err instanceof TrialTimeout && real) return await real;
      if (err instanceof TrialUnknown) throw err.original;
      if (err instanceof BrokenCircuitError) throw new BreakerOpen(this.view());
      throw err;
    }
  }

  /** True while a call would be refused at once: open and the trial not due yet, or a trial under way. */
  blocked(now = Date.now()): boolean {
    if (this.policy.state === CircuitState.HalfOpen) return true;
    return this.policy.state === CircuitState.Open && now < this.openedAtMs + this.settings.halfOpenMs;
  }

  view(): BreakerView {
    const state = STATE_NAMES[this.policy.state];
    return {
      name: this.name, kind: this.kind, state, since: this.since.toISOString(), failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(state === 'open' ? { retryAt: new Date(this.openedAtMs + this.settings.halfOpenMs).toISOString() } : {}),
    };
  }
}

/** Every breaker of one process, by name; the composition root persists their changes for `warden status`. */
export class BreakerBoard {
  private readonly breakers = new Map<string, Breaker>();
  private readonly listeners: Array<(view: BreakerView) => void> = [];

  constructor(readonly settings: BreakerSettings = BREAKER_DEFAULTS) {}

  /** The breaker named `name`, made on first use with `counts` deciding which failures count; `own` overrides the board's settings for it. */
  get(name: string, kind: BreakerKind, counts: (err: unknown) => boolean, own: Partial<BreakerSettings> = {}): Breaker {
    let b = this.breakers.get(name);
    if (!b) {
      b = new Breaker(name, kind, { ...this.settings, ...own }, counts, (view) => {
        for (const l of this.listeners) {
          try {
            l(view);
          } catch {
            // A listener (persisting, metrics) must never break the call the breaker wraps.
          }
        }
      });
      this.breakers.set(name, b);
    }
    return b;
  }

  find(name: string): Breaker | undefined {
    return this.breakers.get(name);
  }

  views(): BreakerView[] {
    return [...this.breakers.values()].map((b) => b.view()).sort((a, b) => a.name.localeCompare(b.name));
  }

  onChange(listener: (view: BreakerView) => void): void {
    this.listeners.push(listener);
  }
}

/** A host's SSH breaker: every failed connect counts (down, refused login, unknown host key), so a host is not dialled again and again. */
export const sshBreaker = (board: BreakerBoard, host: string): Breaker => board.get(`ssh:${host}`, 'ssh', (err) => err instanceof ToolFailure);

/** A BreakerOpen as the tool failure the model and the loop read. */
export function openAsFailure(err: unknown, what: string): unknown {
  return err instanceof BreakerOpen ? new ToolFailure('unavailable', `${what}: ${err.message}; retry later`, { notRun: true }) : err;
}
