// The dead man's switch: every interval, while the loop is healthy, a GET to the configured push URL
// (the push-monitor convention of Uptime Kuma and healthchecks.io); while it is not, nothing, so the
// monitor raises the alarm when warden is down or wedged. It never beats on a health it could not
// establish, and never logs more of the URL than its origin (the token lives in its path or query).
import { hostname } from 'node:os';
import { originOf, type PingOptions, type PingResult } from '../adapters/heartbeat-ping.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { whenFree } from '../store/busy.js';
import type { HealthStateStore } from '../store/health-states.js';

export interface LoopHealth {
  ok: boolean;
  /** One line each; empty when ok. */
  problems: string[];
}

export interface HeartbeatDeps {
  url: string;
  intervalMs: number;
  /** The loop's health (LoopService.health). */
  health(): LoopHealth;
  ping(url: string, opts: PingOptions): Promise<PingResult>;
  /**
   * The heartbeat's own row for `warden status`. Writing it before each ping is also the check that
   * the database accepts a write: a loop that cannot record anything is wedged, whatever else holds.
   */
  watches: Pick<HealthStateStore, 'saveWatch'>;
  log: Logger;
  now?: () => Date;
}

export type Beat = { sent: true; result: PingResult } | { sent: false; problems: string[] };

/** The longest a beat waits for the ping's answer, and for another process's write lock. */
const PING_TIMEOUT_MS = 10_000;
const WRITE_WAIT_MS = 5_000;

const OWNER = `${hostname()}:${process.pid}`;

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<unknown> | undefined;
  private readonly stopping = new AbortController();
  /** The last beat's verdict, so a withheld or failing heartbeat is logged once as a warning, not every interval. */
  private lastState: string | undefined;
  private readonly now: () => Date;

  constructor(private readonly deps: HeartbeatDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The first beat at once (a push monitor learns that warden is back), then one every interval after the previous ended. */
  start(): void {
    this.deps.log.info({ to: originOf(this.deps.url), intervalMs: this.deps.intervalMs }, 'heartbeat: started');
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.beating;
  }

  /** One beat: health, then the write check, then the ping. */
  async beat(): Promise<Beat> {
    const problems = [...this.safeHealth().problems];
    const at = this.now().toISOString();
    try {
      const detail = problems.length > 0 ? `withheld: ${problems.join('; ')}` : 'healthy: pinging';
      await whenFree(() => this.deps.watches.saveWatch({ name: 'heartbeat', at, ok: problems.length === 0, detail, updatedBy: OWNER }), {
        waitMs: Math.min(WRITE_WAIT_MS, this.deps.intervalMs / 2), signal: this.stopping.signal,
      });
    } catch (err) {
      problems.push(`the database accepts no write (${errorMessage(err).slice(0, 200)})`);
    }
    if (problems.length > 0) {
      this.note('withheld', 'heartbeat: withheld while the loop is unhealthy', { problems });
      return { sent: false, problems };
    }
    const result = await this.deps.ping(this.deps.url, { timeoutMs: Math.min(PING_TIMEOUT_MS, Math.max(1_000, this.deps.intervalMs)), signal: this.stopping.signal });
    // Cut short by stop(): not the receiver's failure, and not worth a row that says it failed.
    if (this.stopping.signal.aborted) return { sent: true, result };
    const detail = result.ok ? `sent: ${result.detail} in ${Math.round(result.latencyMs)} ms` : `the ping failed: ${result.detail}`;
    try {
      this.deps.watches.saveWatch({ name: 'heartbeat', at: this.now().toISOString(), ok: result.ok, detail, updatedBy: OWNER });
    } catch (err) {
      this.deps.log.debug({ err: errorMessage(err) }, 'heartbeat: could not record the ping');
    }
    this.note(result.ok ? 'sent' : 'failed', result.ok ? 'heartbeat: sent' : 'heartbeat: the ping failed', { detail: result.detail });
    return { sent: true, result };
  }

  private safeHealth(): LoopHealth {
    try {
      return this.deps.health();
    } catch (err) {
      return { ok: false, problems: [`the health check failed: ${errorMessage(err).slice(0, 200)}`] };
    }
  }

  /** A change of state is a warning (or, back to sending, info); the same state again is debug. */
  private note(state: 'sent' | 'withheld' | 'failed', message: string, fields: Record<string, unknown>): void {
    const changed = state !== this.lastState;
    this.lastState = state;
    const entry = { to: originOf(this.deps.url), ...fields };
    if (!changed) this.deps.log.debug(entry, message);
    else if (state === 'sent') this.deps.log.info(entry, message);
    else this.deps.log.warn(entry, message);
  }

  private schedule(delayMs: number): void {
    if (this.stopping.signal.aborted) return;
    this.timer = setTimeout(() => {
      const beat = this.beat().catch((err: unknown) => this.deps.log.error({ err: errorMessage(err) }, 'heartbeat: a beat failed'));
      this.beating = beat;
      void beat.finally(() => this.schedule(this.deps.intervalMs));
    }, delayMs);
    this.timer.unref();
  }
}
