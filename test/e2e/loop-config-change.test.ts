// The roadmap's flagship story end to end: an Uptime Kuma alert for a site answering 502, the
// scripted model reads nginx's error log and points the proxy at the live backend with
// nginx_set_upstream under an "auto with backup" policy rule; the change is verified, the loop
// verifies the site and resolves. And the bad fix: a wrong backend fails the change's check, the
// change rolls itself back, the site serves as before, and the incident is escalated.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { deadAddress, httpGet, startBackend, type Backend } from '../support/backends.js';
import { eventually, useLoopWorlds } from '../support/loop-world.js';
import type { ScriptedTurn } from '../support/messages-api.js';
import { startNginx, type Nginx } from '../support/nginx.js';

const worlds = useLoopWorlds('watchDockerEvents: false\n');
const cleanup: Array<Nginx | Backend> = [];
afterAll(async () => { await Promise.all(cleanup.map((x) => ('stop' in x ? x.stop() : x.close()))); });

const use = (name: string, input: Record<string, unknown>): ScriptedTurn => ({ content: [{ type: 'tool_use', name, input }] });
const say = (text: string): ScriptedTurn => ({ content: [{ type: 'text', text }] });

// The operator's grant of the roadmap's tier "auto-approve with backup": nginx_set_upstream may
// run without a human on this service, because it rolls back by itself when its check fails.
const AUTO_WITH_BACKUP = `rules:
  - name: site-auto-with-backup
    tool: nginx_set_upstream
    service: { name: site }
    decision: allow
`;

async function brokenSite(): Promise<Nginx> {
  const nginx = await startNginx();
  cleanup.push(nginx);
  nginx.writeConfig('location / { proxy_pass http://app; proxy_connect_timeout 2s; }', `  upstream app {\n    server ${await deadAddress()};\n  }`);
  await nginx.reload();
  return nginx;
}

async function backend(status: number, body: string): Promise<Backend> {
  const b = await startBackend(status, body);
  cleanup.push(b);
  return b;
}

const inventory = (n: Nginx, backends: Backend[]): Record<string, string> => ({
  'site.yaml': `services:
  - name: site
    host: local
    healthCheck: { http: "${n.url}", status: 200, keyword: "app ok" }
    nginx: { confPath: ${n.confPath}, prefix: ${n.prefix}, backends: [${backends.map((b) => b.address).join(', ')}] }
`,
});

const kumaDown = (n: Nginx): Record<string, unknown> => ({
  msg: '[site] [🔴 Down] 502 - Bad Gateway',
  heartbeat: { monitorID: 7, status: 0, msg: '502 - Bad Gateway', time: '2026-11-29 20:00:00.000' },
  monitor: { id: 7, name: 'site', type: 'http', url: n.url },
});

const bySite = (i: { service: string | null }) => i.service === 'site';

describe('the loop fixes configuration with a safety net', () => {
  it('an Uptime Kuma 502 -> the model reads the error log -> nginx_set_upstream -> verified 200 -> resolved, the change recorded', async () => {
    const nginx = await brokenSite();
    const good = await backend(200, 'app ok\n');
    const w = await worlds.world({
      policy: AUTO_WITH_BACKUP, inventory: inventory(nginx, [good]),
      script: [
        { ...use('nginx_error_log', { service: 'site', lines: 20 }), expect: { toolsInclude: ['nginx_error_log', 'nginx_set_upstream', 'rollback_change'] } },
        { ...use('nginx_set_upstream', { service: 'site', server: good.address, verifySeconds: 2 }), expect: { lastToolResult: { content: /connect\(\) failed \(111: Connection refused\) while connecting to upstream/, isError: false } } },
        { ...say('site proxied to a dead port; pointed it at the live backend and the check held.'), expect: { lastToolResult: { content: /verified: site: nginx proxy .*\ncheck: .*answered 200 with "app ok"; held for 2 s/, isError: false } } },
      ],
    });
    expect((await httpGet(nginx.url)).status).toBe(502);
    const posted = await w.postAlert('uptime-kuma', kumaDown(nginx));
    expect(posted.status).toBe(202);
    const inc = await w.incident(bySite, ['resolved', 'escalated'], 60_000);
    w.api!.assertDone();
    expect(inc.status, inc.resolution ?? '').toBe('resolved');
    expect(inc.resolution).toMatch(/nginx_set_upstream.*verified: GET .* answered 200 with "app ok"/);
    expect((await httpGet(nginx.url)).text).toBe('app ok\n');
    const [change] = w.rt.changes.list({ limit: 5 });
    expect(change).toMatchObject({ status: 'verified', principal: 'loop', incidentId: inc.id, service: 'site', summary: expect.stringMatching(`-> ${good.address}`) });
    const calls = w.rt.audit.forIncident(inc.id).filter((e) => e.tool === 'nginx_set_upstream');
    expect(calls.map((e) => `${e.phase}:${e.rule}`)).toEqual(['requested:site-auto-with-backup', 'completed:site-auto-with-backup']);
  });

  it('a wrong fix: the check fails, the change rolls itself back, the site serves as before, and the incident is escalated', async () => {
    const nginx = await brokenSite();
    const before = readFileSync(nginx.confPath, 'utf8');
    const wrong = await backend(500, 'not the app\n');
    const w = await worlds.world({
      policy: AUTO_WITH_BACKUP, inventory: inventory(nginx, [wrong]),
      script: [
        use('nginx_set_upstream', { service: 'site', server: wrong.address, verifySeconds: 2 }),
        { ...say('my change did not hold and was rolled back; a human should look.'), expect: { lastToolResult: { content: /ROLLED BACK automatically.*serves as before/s, isError: true } } },
      ],
    });
    await w.postAlert('uptime-kuma', kumaDown(nginx));
    const inc = await w.incident(bySite, ['resolved', 'escalated'], 60_000);
    w.api!.assertDone();
    expect(inc.status).toBe('escalated');
    expect(readFileSync(nginx.confPath, 'utf8')).toBe(before);
    expect((await httpGet(nginx.url)).status).toBe(502);
    expect(w.rt.changes.list({ limit: 5 })).toEqual([expect.objectContaining({ status: 'rolled_back', incidentId: inc.id })]);
    await eventually('the escalation webhook', () => w.hooks.received.some((n) => n.event === 'escalation' && n.incident === inc.id));
  });
});
