// /healthz: liveness, the database and the local Docker endpoint. Unauthenticated, so it says
// only ok / degraded / failing, never an error message or an address.
import type { Runtime } from './runtime.js';

export interface Health {
  status: 'ok' | 'degraded' | 'failing';
  /** Present while something needs a human but warden still works (an invalid policy file on disk). */
  warnings?: string[];
  db: 'ok' | 'failed';
  docker: { local: 'ok' | 'unreachable' };
}

const DOCKER_PING_MS = 2_000;
/** A probe polled every second must not become a second load on dockerd. */
const CACHE_MS = 1_000;

export function createHealthCheck(rt: Runtime): () => Promise<Health> {
  let cached: { atMs: number; docker: Health['docker']['local'] } | undefined;

  async function pingDocker(): Promise<Health['docker']['local']> {
    if (cached && Date.now() - cached.atMs < CACHE_MS) return cached.docker;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), DOCKER_PING_MS);
    });
    let docker: Health['docker']['local'];
    try {
      await Promise.race([rt.adapters.docker('local').ping(), timeout]);
      docker = 'ok';
    } catch {
      docker = 'unreachable';
    } finally {
      clearTimeout(timer);
    }
    cached = { atMs: Date.now(), docker };
    return docker;
  }

  return async () => {
    let db: Health['db'] = 'ok';
    try {
      rt.db.prepare('SELECT seq FROM audit ORDER BY seq DESC LIMIT 1').get();
    } catch {
      db = 'failed';
    }
    const local = await pingDocker();
    const warnings = rt.policy.lastError() !== undefined ? ['the policy file is invalid: the last good policy stays in force (see the log)'] : [];
    const status = db !== 'ok' ? 'failing' : local !== 'ok' || warnings.length ? 'degraded' : 'ok';
    return { status, db, docker: { local }, ...(warnings.length ? { warnings } : {}) };
  };
}
