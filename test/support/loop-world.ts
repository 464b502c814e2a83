// The whole loop as `warden serve` runs it, in-process, for end-to-end tests: a runtime on a real
// dockerd, the scripted Messages API (or none: no API key), a real local HTTP receiver for the
// webhooks, the loop service (intake, Docker event watcher, runner) and the daemon with /alerts.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLoop, type LoopService } from '../../src/loop/loop-service.js';
import type { Incident } from '../../src/shared/incidents.js';
import { issueToken } from '../../src/server/auth.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import type { Runtime } from '../../src/server/runtime.js';
import { TokenStore } from '../../src/store/tokens.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { dockerFor } from './containers.js';
import { startDockerd, type Dockerd } from './dockerd.js';
import { request } from './http-gateway.js';
import { startMessagesApi, type MessagesApi, type ScriptedTurn } from './messages-api.js';
import { testRuntime } from './warden.js';

export interface Webhooks {
  url: string;
  /** Bodies received, in order (generic JSON format). */
  received: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<Webhooks> {
  const received: Array<Record<string, unknown>> = [];
  const server = createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      try { received.push(JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>); } catch { /* recorded nothing */ }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface LoopWorld {
  rt: Runtime;
  loop: LoopService;
  daemon: Daemon;
  /** undefined when the world runs without an API key. */
  api: MessagesApi | undefined;
  hooks: Webhooks;
  /** An alerts-role token for /alerts. */
  alertsToken: string;
  postAlert(format: string, body: unknown): Promise<{ status: number; json: () => Record<string, unknown> }>;
  /** Until an incident matching `where` reaches one of `statuses` (default: closed). */
  incident(where: (i: Incident) => boolean, statuses?: string[], timeoutMs?: number): Promise<Incident>;
  close(): Promise<void>;
}

export interface LoopWorldOptions {
  dockerd: Dockerd;
  /** The model's script; null: no API key at all (Claude unreachable). */
  script: ScriptedTurn[] | null;
  /** More `loop:` settings, one `key: value` a line (flow style for lists and maps). */
  loop?: string;
  policy?: string;
  inventory?: Record<string, string>;
  /** More top-level config YAML (e.g. `server:`). */
  config?: string;
}

export async function startLoopWorld(opts: LoopWorldOptions): Promise<LoopWorld> {
  const api = opts.script ? await startMessagesApi(opts.script) : undefined;
  const hooks = await startWebhookReceiver();
  // Test defaults, each overridable by a line of opts.loop with the same key.
  const keys = new Map<string, string>([
    ['settleSeconds', '1'], ['model', 'claude-test-model'], ['maxRetries', '0'], ['restoreFirstTiers', '[]'],
    ...(api ? [['baseURL', api.baseURL] as [string, string]] : []),
  ]);
  for (const m of (opts.loop ?? '').matchAll(/^\s*(\w+):\s*(.*)$/gm)) keys.set(m[1]!, m[2]!);
  const loopYaml = [...keys].map(([k, v]) => `  ${k}: ${v}`).join('\n');
  const rt = testRuntime({
    dockerHost: opts.dockerd.dockerHost, policy: opts.policy, inventory: opts.inventory,
    env: api ? { ANTHROPIC_API_KEY: 'test-key' } : {},
    config: `loop:\n${loopYaml}\nnotify:\n  webhooks: [{ url: "${hooks.url}", format: generic }]\n${opts.config ?? ''}`,
  });
  let loop: LoopService | undefined;
  let daemon: Daemon;
  try {
    loop = await startLoop(rt, { approvalPollMs: 200 });
    await loop.ready();
    daemon = await startDaemon(rt, { ...rt.config.server, host: '127.0.0.1', port: 0 }, { intake: loop.intake });
  } catch (err) {
    await loop?.stop();
    await rt.close();
    await api?.close();
    await hooks.close();
    throw err;
  }
  const alertsToken = issueToken({ tokens: new TokenStore(rt.db), audit: rt.audit }, { principal: 'alertmanager', role: 'alerts', by: 'test' }).token;
  const started = loop;
  return {
    rt, loop: started, daemon, api, hooks, alertsToken,
    postAlert: (format, body) => request(daemon.url, `/alerts/${format}`, { token: alertsToken, body }),
    async incident(where, statuses = ['resolved', 'escalated'], timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = started.incidents.list().find(where);
        if (found && statuses.includes(found.status)) return found;
        if (Date.now() > deadline) {
          const tl = found ? started.incidents.timeline(found.id).map((e) => `${e.time.slice(11, 23)} ${e.kind}: ${e.summary}`).join('\n') : '(no such incident)';
          throw new Error(`incident is ${found?.status ?? 'missing'}, not ${statuses.join('/')}; timeline:\n${tl}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await daemon.close();
      await started.stop();
      await rt.close();
      await api?.close();
      await hooks.close();
    },
  };
}

/** An Alertmanager v4 webhook payload with one firing alert naming a container. */
/**
 * One dockerd for a test file and loop worlds on it, each closed after its test with every
 * container it left removed. Call at the top level of an e2e file; `loopYaml` is prepended to
 * each world's loop config.
 */
export function useLoopWorlds(loopYaml = ''): { dockerd: () => Dockerd; world: (opts: Omit<LoopWorldOptions, 'dockerd'>) => Promise<LoopWorld> } {
  let dockerd: Dockerd | undefined;
  const open: LoopWorld[] = [];
  beforeAll(async () => { dockerd = await startDockerd(); });
  afterAll(async () => { await dockerd?.stop(); });
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
    const docker = dockerFor(dockerd!);
    for (const c of await docker.listContainers({ all: true })) await docker.getContainer(c.Id).remove({ force: true });
  });
  return {
    dockerd: () => dockerd!,
    async world(opts) {
      const w = await startLoopWorld({ dockerd: dockerd!, ...opts, loop: `${loopYaml}${opts.loop ?? ''}` });
      open.push(w);
      return w;
    },
  };
}

export function alertmanagerPayload(container: string, summary: string): Record<string, unknown> {
  return {
    version: '4', groupKey: `{}:{alertname="ContainerDown",container="${container}"}`, status: 'firing', receiver: 'warden',
    alerts: [{
      status: 'firing', labels: { alertname: 'ContainerDown', container, severity: 'critical' },
      annotations: { summary }, startsAt: new Date().toISOString(),
    }],
  };
}

/** Until `done` holds, polling; fails naming `what`. */
export async function eventually(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
