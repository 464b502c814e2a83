// After a start, restart or recreate: wait, within a bound, until the container runs (and is healthy
// when it has a health check), and say plainly when it did not. Never waits past its bound.
import { z } from 'zod';
import type { ContainerState, DockerAdapter } from '../adapters/docker.js';
import { policyFacts, policyText } from './docker-start-checks.js';

export const DEFAULT_WAIT_S = 30;
export const MAX_WAIT_S = 120;
const POLL_MS = 250;
/** Without a health check, running must hold this long (same StartedAt) before it counts as settled. */
export const STABLE_MS = 1_000;
/** Docker's restart policy restarting it this many times during one wait is a crash loop: stop waiting. */
export const CRASH_LOOP_RESTARTS = 2;

export const WaitSeconds = z
  .number().int().min(0).max(MAX_WAIT_S).default(DEFAULT_WAIT_S)
  .describe('Seconds to wait for it to run (and be healthy).');

export const SettledFields = {
  host: z.string(),
  name: z.string(),
  id: z.string(),
  state: z.string(),
  running: z.boolean(),
  startedAt: z.string(),
  health: z.string().nullable(),
  restartCount: z.number().int(),
  exitCode: z.number().int(),
  settled: z.boolean().describe('running (and healthy) within waitSeconds'),
  reason: z.string().nullable().describe('why it did not settle'),
  waitedMs: z.number().int(),
};
export const SettledOutput = z.object(SettledFields);
export type Settled = z.infer<typeof SettledOutput>;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** What one wait saw: Docker's restarts since its first look, and the last look that was not up (a running one shows exit code 0). */
interface Seen {
  restarts: number;
  lastDown: ContainerState | null;
}

/** Why this state is final and not settled, or undefined while it may still settle. */
function failedBecause(s: ContainerState, seen: Seen): string | undefined {
  if (s.state === 'exited' || s.state === 'dead') {
    const policy = s.restartCount > 0 ? `, after Docker's restart policy restarted it ${s.restartCount} times (${policyText(s.restartPolicy)})` : '';
    return `it ${s.state === 'dead' ? 'is dead' : 'exited'} with code ${s.exitCode}${s.oomKilled ? ' (OOMKilled)' : ''}${policy}; container_logs and inspect_container show why`;
  }
  if (seen.restarts >= CRASH_LOOP_RESTARTS) {
    return `it is crash-looping: it died ${seen.restarts} times while warden waited and Docker's restart policy keeps restarting it ` +
      `(${policyFacts(s, seen.lastDown)}); container_logs and inspect_container show why`;
  }
  if (s.running && !s.restarting && s.health === 'unhealthy') return 'its health check is failing (unhealthy); inspect_container shows the probe output';
  return undefined;
}

function stillWaiting(s: ContainerState, seen: Seen, waitS: number): string {
  if (s.restarting) return `it was not running after ${waitS}s: Docker's restart policy is restarting it (${policyFacts(s)})`;
  if (seen.restarts > 0) {
    return `it did not stay up for ${waitS}s: Docker's restart policy restarted it ${seen.restarts} time${seen.restarts === 1 ? '' : 's'} while warden waited (${policyFacts(s, seen.lastDown)})`;
  }
  if (s.running && s.health === 'starting') return `its health check had not passed after ${waitS}s (still starting)`;
  return `it was not running after ${waitS}s (state ${s.state})`;
}

/**
 * Polls until the container settles, fails for good, or `waitS` passes. "Settled" means running and
 * healthy, or, without a health check, running with the same StartedAt for STABLE_MS: a container in a
 * crash loop that Docker keeps restarting must not pass for settled by being caught between crashes.
 * Docker reports Running true while it restarts a container (StartedAt unchanged through the back-off),
 * so "restarting" is never settled; restarting CRASH_LOOP_RESTARTS times during the wait ends it.
 * (A remote Docker whose clock is behind ours makes a fresh start look older by that skew.)
 */
export async function waitSettled(docker: DockerAdapter, host: string, ref: string, waitS: number, signal: AbortSignal): Promise<Settled> {
  const began = Date.now();
  const deadline = began + waitS * 1000;
  let stableSince: { at: number; startedAt: string } | undefined;
  let first: ContainerState | undefined;
  let lastDown: ContainerState | null = null;
  for (;;) {
    const s = await docker.containerState(ref);
    const now = Date.now();
    first ??= s;
    const up = s.running && !s.restarting;
    if (!up) lastDown = s;
    const seen: Seen = { restarts: s.restartCount - first.restartCount, lastDown };
    const out = (settled: boolean, reason: string | null): Settled => ({
      host, name: s.name, id: s.id, state: s.state, running: s.running, startedAt: s.startedAt, health: s.health,
      restartCount: s.restartCount, exitCode: s.exitCode, settled, reason, waitedMs: now - began,
    });
    const failed = failedBecause(s, seen);
    if (failed) return out(false, failed);
    if (up && s.health === 'healthy') return out(true, null);
    if (up && s.health === null) {
      if (stableSince?.startedAt !== s.startedAt) stableSince = { at: now, startedAt: s.startedAt };
      // Up long enough by Docker's StartedAt (a container that was already running), or seen up that long.
      const upMs = Math.max(now - stableSince.at, now - Date.parse(s.startedAt) || 0);
      if (upMs >= Math.min(STABLE_MS, waitS * 1000)) return out(true, null);
    } else {
      stableSince = undefined;
    }
    if (now >= deadline || signal.aborted) return out(false, stillWaiting(s, seen, waitS));
    await sleep(Math.max(0, Math.min(POLL_MS, deadline - now)), signal);
  }
}

export function summarizeSettled(verb: string, o: Settled): string {
  const health = o.health ? `, ${o.health}` : '';
  const head = `${o.host}/${o.name} ${verb}: ${o.state}${health} since ${o.startedAt}, restarts ${o.restartCount}`;
  return o.settled ? `${head}; settled after ${Math.round(o.waitedMs / 100) / 10}s` : `${head}; NOT settled: ${o.reason}`;
}
