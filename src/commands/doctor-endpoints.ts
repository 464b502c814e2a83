// `warden doctor`'s checks of what warden reaches over the network: each Docker endpoint (a ping
// through the same adapters the tools use), each SSH login, the Messages API and each webhook (a TCP
// connect only: a check never sends a notification or a model request).
import { existsSync } from 'node:fs';
import type { DockerEndpoint, HostSpec } from '../adapters/hosts.js';
import { createAdapters } from '../adapters/index.js';
import { probeTcp } from '../adapters/probes.js';
import { checkSshLogin } from '../adapters/ssh-check.js';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { fail, ok, origin, warn, type HealthCheck } from './health-report.js';

/** config.ts's endpoint when DOCKER_HOST is unset: a machine may run warden without Docker. */
const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** A check by name, run later under doctor's deadline. */
export interface PendingCheck {
  name: string;
  run: () => Promise<HealthCheck>;
}

function describeEndpoint(e: DockerEndpoint): string {
  return e.kind === 'ssh' ? `${e.socketPath} over SSH` : e.url;
}

/**
 * A ping per host with a Docker endpoint. SSH logins get the doctor's timeout so no connection
 * outlives it; `close` ends them.
 */
export function dockerChecks(hosts: readonly HostSpec[], timeoutMs: number, log: Logger): { checks: PendingCheck[]; close: () => Promise<void> } {
  const bounded = hosts.map((h) => (h.ssh ? { ...h, ssh: { ...h.ssh, connectTimeoutMs: timeoutMs } } : h));
  const adapters = createAdapters(bounded, log);
  const checks = bounded.filter((h) => h.docker).map((h): PendingCheck => {
    const endpoint = h.docker!;
    const name = `docker ${h.name}`;
    return {
      name,
      run: async () => {
        const where = describeEndpoint(endpoint);
        if (endpoint.kind === 'url' && endpoint.url === `unix://${DEFAULT_DOCKER_SOCKET}` && !existsSync(DEFAULT_DOCKER_SOCKET)) {
          return warn(name, `no Docker at ${where}: set DOCKER_HOST, or the host's docker in the inventory, where it listens elsewhere`);
        }
        const t0 = Date.now();
        try {
          await adapters.docker(h.name).ping();
          return ok(name, `${where} answered in ${Date.now() - t0} ms`);
        } catch (err) {
          return fail(name, `${where}: ${errorMessage(err)}`);
        }
      },
    };
  });
  return { checks, close: () => adapters.close() };
}

export function sshChecks(hosts: readonly HostSpec[], timeoutMs: number, log: Logger): PendingCheck[] {
  return hosts.filter((h) => h.ssh).map((h) => ({
    name: `ssh ${h.name}`,
    run: async () => {
      const r = await checkSshLogin(h.name, h.ssh!, { timeoutMs, log });
      return { name: `ssh ${h.name}`, level: r.level, detail: r.detail };
    },
  }));
}

/** host:port of a URL, as probeTcp takes it. */
function hostPortOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`;
  } catch {
    return undefined;
  }
}

function reachable(name: string, url: string, timeoutMs: number, what: string): PendingCheck {
  return {
    name,
    run: async () => {
      const at = hostPortOf(url);
      if (!at) return fail(name, `${origin(url)} is not a URL`);
      const r = await probeTcp(at, { timeoutMs });
      return r.up ? ok(name, `${origin(url)} accepts connections (${r.latencyMs} ms)${what}`) : fail(name, r.detail);
    },
  };
}

/** The Messages API: a key (without one the deterministic runbooks act alone) and a reachable base URL. */
export function modelCheck(config: Config, timeoutMs: number): PendingCheck {
  const name = 'model';
  if (!config.loop.enabled) return { name, run: async () => ok(name, 'the loop is off (loop.enabled: false): the Messages API is not used') };
  if (!config.secrets.anthropicApiKey) {
    return { name, run: async () => warn(name, `no API key in ${config.loop.apiKeyEnv}: the deterministic runbooks act alone`) };
  }
  return reachable(name, config.secrets.anthropicBaseURL ?? 'https://api.anthropic.com', timeoutMs, `; key in ${config.loop.apiKeyEnv}`);
}

/** Each webhook's and the heartbeat's host:port, by TCP: nothing is sent. */
export function webhookChecks(config: Config, timeoutMs: number): PendingCheck[] {
  const hooks = config.notify.webhooks.map((h, i) => reachable(`webhook ${i}`, h.url, timeoutMs, `; ${h.format}`));
  const none: PendingCheck[] = hooks.length ? [] : [{ name: 'webhooks', run: async () => warn('webhooks', 'none configured: escalations and approval requests reach nobody') }];
  const beat = config.loop.heartbeat ? [reachable('heartbeat url', config.loop.heartbeat.url, timeoutMs, '')] : [];
  return [...hooks, ...none, ...beat];
}
