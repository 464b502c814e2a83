// A world for the console's browser tests: a real dockerd, `warden serve` as a real process with
// the loop on and a scripted model behind the real SDK, tokens made with the CLI, and an
// Alertmanager alert about a crashed container. The model reads the container's logs, quotes them,
// and asks to restart it; the policy holds that restart for a human, so the incident waits on a
// pending approval the console can show and decide. The alert's annotation and the container's
// log line both carry script an unescaped page would run.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Incident, TimelineEvent } from '../../src/shared/incidents.js';
import { CLI, readyUrl, warden } from './cli.js';
import { createContainer, dockerFor, waitUntil } from './containers.js';
import type { Dockerd } from './dockerd.js';
import { alertmanagerPayload } from './loop-world.js';
import { startMessagesApi, type MessagesApi, type ScriptedTurn } from './messages-api.js';
import { startProcess, tempDir, type Started } from './processes.js';

export const CONTAINER = 'console-web';
/** In the alert's annotations: an unescaped page would load a broken image and run its handler, and the script. */
export const ANNOTATION_XSS = '<img src=x onerror=alert(1)><script>alert(2)</script> annotation-xss';
/** The container's one log line, which the model quotes back. */
export const LOG_XSS = '<script>alert("log")</script><img src=/nope onerror=alert(4)> log-xss';

export type ConsoleRole = 'admin' | 'operator' | 'readonly' | 'alerts';
/** The principal each token is made for. */
export const PRINCIPALS: Record<ConsoleRole, string> = { admin: 'ada', operator: 'olivia', readonly: 'rita', alerts: 'alertmanager' };

export interface Approval { id: string; status: string; tool: string; target: string; principal: string; decidedBy?: string | null }
export interface AuditEntry { seq: number; principal: string; tool: string; target: string | null; phase: string; approvalId: string | null; incidentId: string | null; result: string | null }

export interface ConsoleWorld {
  /** `http://127.0.0.1:PORT` of `warden serve`. */
  url: string;
  /** A fresh token per role, made with `warden tokens create`. */
  tokens: Record<ConsoleRole, string>;
  /** What a CLI command needs to reach the same data dir, config and policy. */
  env: NodeJS.ProcessEnv;
  api: MessagesApi;
  serve: Started;
  /** The incident the alert opened, once it waits on the held restart. */
  parked: Incident;
  /** The pending approval it waits on. */
  approvalId: string;
  cli(args: string[]): unknown;
  incident(id: string): Incident & { timeline: TimelineEvent[] };
  approvals(): Approval[];
  audit(limit?: number): AuditEntry[];
  /** Until the incident is in one of `statuses`. */
  waitIncident(statuses: string[], timeoutMs?: number): Promise<Incident>;
  close(): Promise<void>;
}

const use = (text: string, name: string, input: Record<string, unknown>): ScriptedTurn =>
  ({ content: [{ type: 'text', text }, { type: 'tool_use', name, input }] });

export async function startConsoleWorld(dockerd: Dockerd): Promise<ConsoleWorld> {
  const dir = tempDir('console-world');
  const c = await createContainer(dockerd, CONTAINER, {
    // Exits 1 on its first run after printing the payload; after a restart it keeps running.
    cmd: ['sh', '-c', `if [ -f /crashed ]; then exec sleep 100000; fi; touch /crashed; echo '${LOG_XSS}'; exit 1`],
  });
  await waitUntil(c, 'exited', (i) => i.State.Status === 'exited');

  const api = await startMessagesApi([
    use('Reading the logs first.', 'container_logs', { container: CONTAINER }),
    {
      ...use(`The log says: ${LOG_XSS} It exited 1; restarting it.`, 'restart_container', { container: CONTAINER, timeoutSeconds: 1 }),
      expect: { lastToolResult: { content: /log-xss/, isError: false } },
    },
  ]);
  writeFileSync(join(dir, 'policy.yaml'),
    `rules:\n  - name: hold-web-restarts\n    tool: restart_container\n    target: local/${CONTAINER}\n    decision: approve\n`);
  writeFileSync(join(dir, 'warden.yaml'), [
    'loop:', '  settleSeconds: 1', '  model: claude-test-model', '  maxRetries: 0', '  restoreFirstTiers: []',
    '  watchDockerEvents: false', `  baseURL: ${api.baseURL}`, '',
  ].join('\n'));
  const env: NodeJS.ProcessEnv = {
    DOCKER_HOST: dockerd.dockerHost, WARDEN_DATA_DIR: join(dir, 'data'),
    WARDEN_CONFIG: join(dir, 'warden.yaml'), WARDEN_POLICY: join(dir, 'policy.yaml'),
  };
  const cli = (args: string[]): unknown => {
    const r = warden([...args, '--json'], env);
    if (r.status !== 0) throw new Error(`warden ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const tokens = Object.fromEntries((Object.keys(PRINCIPALS) as ConsoleRole[]).map((role) =>
    [role, (cli(['tokens', 'create', '--principal', PRINCIPALS[role], '--role', role, '--by', 'test']) as { token: string }).token],
  )) as Record<ConsoleRole, string>;

  const serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ANTHROPIC_API_KEY: 'test-key', ...env },
  });
  const close = async (): Promise<void> => {
    await serve.stop();
    await api.close();
    const docker = dockerFor(dockerd);
    for (const info of await docker.listContainers({ all: true })) await docker.getContainer(info.Id).remove({ force: true });
  };
  try {
    const url = await readyUrl(serve);
    const posted = await fetch(`${url}/alerts/alertmanager`, {
      method: 'POST', headers: { authorization: `Bearer ${tokens.alerts}`, 'content-type': 'application/json' },
      body: JSON.stringify(withAnnotation(alertmanagerPayload(CONTAINER, `${CONTAINER} is down`), ANNOTATION_XSS)),
    });
    if (posted.status !== 202) throw new Error(`POST /alerts/alertmanager answered ${posted.status}: ${await posted.text()}`);

    const incidents = (): Incident[] => cli(['incidents', 'list']) as Incident[];
    const waitIncident = async (statuses: string[], timeoutMs = 45_000): Promise<Incident> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = incidents().find((i) => i.container === CONTAINER);
        if (found && statuses.includes(found.status)) return found;
        if (Date.now() > deadline) {
          throw new Error(`incident is ${found?.status ?? 'missing'}, not ${statuses.join('/')}; model failures: ${api.failures.join('; ') || 'none'}\n${serve.output().slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const parked = await waitIncident(['waiting_approval']);
    if (!parked.waitingOn) throw new Error(`incident ${parked.id} waits on no approval`);
    return {
      url, tokens, env, api, serve, parked, approvalId: parked.waitingOn, cli, waitIncident, close,
      incident: (id) => cli(['incidents', 'show', id]) as Incident & { timeline: TimelineEvent[] },
      approvals: () => cli(['approvals', 'list', '--all']) as Approval[],
      audit: (limit = 500) => cli(['audit', 'list', '--limit', String(limit)]) as AuditEntry[],
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function withAnnotation(payload: Record<string, unknown>, text: string): Record<string, unknown> {
  const alerts = (payload.alerts as Array<{ annotations: Record<string, string> }>).map((a) => ({
    ...a, annotations: { ...a.annotations, description: text, summary: `${a.annotations.summary} ${text}` },
  }));
  return { ...payload, alerts };
}

// ---- pages from another origin ----------------------------------------------------------------

export interface StaticPage { body: string; status?: number; headers?: Record<string, string> }

export interface Pages {
  /** `http://127.0.0.1:PORT`: same site as a console on 127.0.0.1 (ports do not make a site), another origin. */
  url: string;
  /** `http://localhost:PORT`: another site altogether. */
  crossSiteUrl: string;
  /** Paths (with query) requested, in order. */
  hits(): string[];
  close(): Promise<void>;
}

/** Serves fixed HTML pages on loopback (an attacker's page, a page that calls alert()). */
export async function servePages(routes: Record<string, StaticPage | ((url: URL) => StaticPage)>): Promise<Pages> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes[url.pathname];
    const page = typeof route === 'function' ? route(url) : route;
    if (!page) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    res.writeHead(page.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...page.headers });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>test page</title></head><body>${page.body}</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    crossSiteUrl: `http://localhost:${port}`,
    hits: () => [...hits],
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** An HTML-attribute-safe string (for the attacker pages the tests write themselves). */
export function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
