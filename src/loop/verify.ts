// After a write action the loop checks the outcome itself, through the same MCP client (read tools,
// audited as the loop): the container stays running (and healthy, if it has a health check) for the
// whole settle window without a restart, and an HTTP health check, where the inventory names one,
// answers as it expects (its status, default 2xx, and its keyword).
import type { Client } from '@modelcontextprotocol/client';
import { httpCheckOf, probeExpecting, type HttpCheck } from '../adapters/http-probe.js';
import type { InventoryReader } from '../store/readers.js';
import type { ContainerView } from './fallback.js';
import { callLoopTool } from './loop-call.js';

export interface VerifyTarget {
  host: string;
  /** null for a target that is not a container (an nginx on the host): only the HTTP check applies. */
  container: string | null;
  /** The service's healthCheck.http from the inventory: GET must answer its status (default 2xx), with its keyword when it names one. */
  health?: HttpCheck | null;
}

export interface VerifyOptions {
  settleSeconds: number;
  /** How long a fresh container may take to first look healthy (health check starting) before the window opens. */
  startGraceMs?: number;
  pollMs?: number;
  httpTimeoutMs?: number;
  /** Tries of the HTTP check, a second apart, before it fails. */
  httpTries?: number;
  signal?: AbortSignal;
}

export interface Verification {
  ok: boolean;
  reason: string;
  /** The last inspect view, for the runbooks' next decision. */
  view?: ContainerView;
  /** The target could not be read at all (an open breaker, Docker not accepting connections): no verdict on the write. */
  unreadable?: true;
}

/** The runner's one shutdown signal is shared by every run: each sleep removes its listener again. */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** The HTTP health check the inventory gives the service at this target, if any. */
export function healthCheckFor(inventory: InventoryReader, where: { host: string | null; container: string | null; service: string | null }): HttpCheck | null {
  return httpCheckOf(inventory.serviceFor(where)?.healthCheck);
}

/** Why this view fails verification at once, or undefined while it may still pass. */
function failsNow(v: ContainerView): string | undefined {
  if (v.state === 'exited' || v.state === 'dead') return `it ${v.state === 'dead' ? 'is dead' : 'exited'} with code ${v.exitCode}${v.oomKilled ? ' (OOMKilled)' : ''}`;
  if (v.restarting) return `Docker is restarting it (restart count ${v.restartCount})`;
  if (v.state === 'paused') return 'it is paused';
  if (v.running && v.health?.status === 'unhealthy') return 'its health check fails (unhealthy)';
  return undefined;
}

async function verifyContainer(client: Client, host: string, container: string, opts: VerifyOptions): Promise<Verification> {
  const settleMs = opts.settleSeconds * 1000;
  const pollMs = opts.pollMs ?? Math.min(2_000, Math.max(200, settleMs / 8));
  const graceDeadline = Date.now() + (opts.startGraceMs ?? Math.max(30_000, settleMs * 2));
  let window: { since: number; startedAt: string | null; restartCount: number } | undefined;
  let view: ContainerView | undefined;
  let unreadable = 0;
  for (;;) {
    if (opts.signal?.aborted) return { ok: false, reason: 'verification was interrupted (shutting down)', view };
    const r = await callLoopTool(client, 'inspect_container', { host, container }, opts.signal);
    if (!r.ok || !r.output) {
      // Docker answering slowly once is no verdict; a container that is gone, or a refusal, is.
      if (r.kind === 'unavailable' && (unreadable += 1) < 3) { await sleep(pollMs, opts.signal); continue; }
      return { ok: false, reason: `cannot inspect it: ${r.text.slice(0, 300)}`, view, ...(r.notRun ? { unreadable: true as const } : {}) };
    }
    view = r.output as unknown as ContainerView;
    const failed = failsNow(view);
    if (failed) return { ok: false, reason: window ? `${failed} during the ${opts.settleSeconds}s settle window` : failed, view };
    const now = Date.now();
    const settledState = view.running && (view.health === null || view.health.status === 'healthy');
    if (window && (view.startedAt !== window.startedAt || view.restartCount !== window.restartCount)) {
      return { ok: false, reason: `it restarted during the settle window (StartedAt ${window.startedAt} -> ${view.startedAt})`, view };
    }
    if (!settledState) {
      if (window) return { ok: false, reason: `it stopped being running and healthy during the settle window (state ${view.state})`, view };
      if (now >= graceDeadline) return { ok: false, reason: `it never became ${view.health ? 'healthy' : 'running'} (state ${view.state}${view.health ? `, health ${view.health.status}` : ''})`, view };
    } else if (!window) {
      window = { since: now, startedAt: view.startedAt, restartCount: view.restartCount };
    }
    if (window && now - window.since >= settleMs) {
      return { ok: true, reason: `running${view.health ? ' and healthy' : ''} for ${opts.settleSeconds}s without a restart (StartedAt ${view.startedAt} unchanged)`, view };
    }
    await sleep(window ? Math.min(pollMs, Math.max(0, window.since + settleMs - now)) : pollMs, opts.signal);
  }
}

async function verifyHttp(probe: HttpCheck, opts: VerifyOptions): Promise<Verification> {
  const tries = opts.httpTries ?? 3;
  let last = '';
  for (let i = 0; i < tries; i += 1) {
    if (i > 0) await sleep(1_000, opts.signal);
    const res = await probeExpecting(probe.url, probe, opts.httpTimeoutMs ?? 5_000);
    if (res.passed) return { ok: true, reason: `GET ${res.detail}` };
    last = res.detail;
  }
  return { ok: false, reason: `GET ${last} (${tries} tries)` };
}

/** Verifies a target; `ok` only when every check that applies passed. Never throws. */
export async function verifyTarget(client: Client, target: VerifyTarget, opts: VerifyOptions): Promise<Verification> {
  let container: Verification | undefined;
  if (target.container) {
    container = await verifyContainer(client, target.host, target.container, opts);
    if (!container.ok) return container;
  }
  if (target.health) {
    const http = await verifyHttp(target.health, opts);
    return { ok: http.ok, reason: container ? `${container.reason}; ${http.reason}` : http.reason, view: container?.view };
  }
  return container ?? { ok: false, reason: 'nothing to verify: no container and no HTTP health check in the inventory' };
}
