// /healthz: whether warden can do its job. failing (503): the database cannot be read, or the
// audit cannot be written (every call would be refused). degraded (200): it works, but something
// needs a human (Docker unreachable, a circuit breaker open, the loop in safe mode, an invalid
// policy file on disk). Unauthenticated, so it says states and counts, never an error message,
// a host name or an address.
import { isBusy } from '../store/busy.js';
import { probeWrite } from '../store/health-states.js';
import type { Runtime } from './runtime.js';

export interface Health {
  status: 'ok' | 'degraded' | 'failing';
  /** Present while something needs a human but warden still works. */
  warnings?: string[];
  db: 'ok' | 'failed';
  audit: 'ok' | 'unwritable';
  docker: { local: 'ok' | 'unreachable' };
  /** How many circuit breakers are open or half-open (their names are in `warden status`). */
  breakersOpen: number;
  /** The loop's own writes are dry runs until a human runs `warden loop arm`. */
  safeMode: boolean;
}

const DOCKER_PING_MS = 2_000;
/** A probe polled every second must not become a second load on dockerd. */
const CACHE_MS = 1_000;
/** How often the write probe commits: often enough to see a full disk soon, rarely enough to cost nothing. */
const WRITE_PROBE_MS = 5_000;

export type HealthRuntime = Pick<Runtime, 'db' | 'adapters' | 'policy' | 'audit' | 'breakers' | 'safeMode'>;

export function createHealthCheck(rt: HealthRuntime): () => Promise<Health> {
  let cached: { atMs: number; docker: Health['docker']['local'] } | undefined;
  let probed: { atMs: number; ok: boolean } | undefined;

  // One ping at a time, whoever asks: a wedged dockerd must not collect a socket per /healthz request.
  let pinging: Promise<Health['docker']['local']> | undefined;

  async function ping(): Promise<Health['docker']['local']> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), DOCKER_PING_MS);
    });
    try {
      await Promise.race([rt.adapters.docker('local').ping(), timeout]);
      return 'ok';
    } catch {
      return 'unreachable';
    } finally {
      clearTimeout(timer);
    }
  }

  async function pingDocker(): Promise<Health['docker']['local']> {
    if (cached && Date.now() - cached.atMs < CACHE_MS) return cached.docker;
    pinging ??= ping().then((docker) => {
      cached = { atMs: Date.now(), docker };
      return docker;
    }).finally(() => { pinging = undefined; });
    return pinging;
  }

  /**
   * Whether a committed write works now; another process's lock says nothing, so the last answer
   * stands. A failed audit write since the last probe asks again at once: it may have been a blip.
   */
  function writable(): boolean {
    const failed = rt.audit.writeProblem();
    if (probed && Date.now() - probed.atMs < WRITE_PROBE_MS && (!failed || Date.parse(failed.at) < probed.atMs)) return probed.ok;
    try {
      probeWrite(rt.db);
      probed = { atMs: Date.now(), ok: true };
      rt.audit.writeRecovered();
    } catch (err) {
      // Another process holds the lock: that says nothing, and asking again at every request would
      // spend the busy timeout each time on the event loop. The last answer stands for a while.
      if (isBusy(err)) {
        probed = { atMs: Date.now(), ok: probed?.ok ?? true };
        return probed.ok;
      }
      probed = { atMs: Date.now(), ok: false };
    }
    return probed.ok;
  }

  return async () => {
    let db: Health['db'] = 'ok';
    try {
      rt.db.prepare('SELECT seq FROM audit ORDER BY seq DESC LIMIT 1').get();
    } catch {
      db = 'failed';
    }
    const audit: Health['audit'] = db === 'ok' && writable() && rt.audit.writeProblem() === undefined ? 'ok' : 'unwritable';
    const local = await pingDocker();
    const breakersOpen = rt.breakers.views().filter((b) => b.state !== 'closed').length;
    let safeMode = false;
    try {
      safeMode = rt.safeMode.isOn();
    } catch {
      // Already failing: the database cannot be read.
    }
    const warnings = [
      ...(rt.policy.lastError() !== undefined ? ['the policy file is invalid: the last good policy stays in force (see the log)'] : []),
      ...(breakersOpen > 0 ? [`${breakersOpen} circuit breaker(s) open: see warden status`] : []),
      ...(safeMode ? ["the loop is in safe mode: its writes are dry runs until a human runs warden loop arm"] : []),
    ];
    const status = db !== 'ok' || audit !== 'ok' ? 'failing' : local !== 'ok' || warnings.length ? 'degraded' : 'ok';
    return { status, db, audit, docker: { local }, breakersOpen, safeMode, ...(warnings.length ? { warnings } : {}) };
  };
}
