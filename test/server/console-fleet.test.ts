// The console's Fleet page: the inventory's hosts and services beside what each host's Docker says
// now, recorded monitors and breakers, and active incidents; a host whose Docker fails or never
// answers shows "unreachable" and the page still comes back; it reads and never writes.
import { describe, expect, it } from 'vitest';
import type { ContainerSummary } from '../../src/adapters/docker-types.js';
import { ToolFailure } from '../../src/errors.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { MonitorStateStore } from '../../src/store/monitor-states.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { signIn } from '../support/console-client.js';
import { useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();

const XSS = '<script>alert(1)</script>';

const INVENTORY = {
  'hosts.yaml': `hosts:
  - name: local
    labels: { role: "${XSS.replaceAll('"', '\\"')}", gpu: true }
  - name: far
    address: 10.9.8.7
    docker: tcp://10.9.8.7:2376
  - name: slow
    address: 10.9.8.6
    docker: tcp://10.9.8.6:2376
`,
  'services.yaml': `services:
  - { name: web, host: local, container: web-1, tier: critical, healthCheck: { http: "http://user:pw@web.internal:8080/healthz?token=abc" } }
  - { name: db, host: local, container: db, healthCheck: { tcp: "db.internal:5432" } }
  - { name: gone, host: local, container: gone-1 }
  - { name: api, host: far, container: api-1 }
  - { name: batch, host: slow, container: batch-1 }
`,
};

/** A Docker that refuses (connection refused), and one that never answers. */
class RefusingDocker extends FakeDocker {
  override async listContainers(): Promise<ContainerSummary[]> {
    this.calls.push('list');
    throw new ToolFailure('unavailable', 'Docker on host far is unreachable (ECONNREFUSED) during list containers; retry later');
  }
}
class SilentDocker extends FakeDocker {
  override listContainers(): Promise<ContainerSummary[]> {
    this.calls.push('list');
    return new Promise(() => undefined);
  }
}

async function fleetGateway(): Promise<{ g: TestGateway; local: FakeDocker; far: FakeDocker; slow: FakeDocker }> {
  const local = new FakeDocker();
  local.containers.push({ id: 'ccc', name: `evil${XSS}`, image: 'x', state: 'running', status: `Up ${XSS}`, exitCode: null, health: null, restartCount: 0, restartPolicy: 'no' });
  const far = new RefusingDocker();
  const slow = new SilentDocker();
  const base = fakeAdapters(local);
  const byHost: Record<string, FakeDocker> = { local, far, slow };
  const adapters = {
    ...base,
    hosts: () => ['local', 'far', 'slow'],
    docker: (host: string) => {
      const d = byHost[host];
      if (!d) throw new ToolFailure('invalid_input', `unknown host "${host}"`);
      return d;
    },
  };
  const g = await gateway.custom({ adapters, inventory: INVENTORY });
  return { g, local, far, slow };
}

function rowOf(body: string, attr: 'data-host' | 'data-service', name: string): string {
  const m = new RegExp(`<tr ${attr}="${name}">([\\s\\S]*?)</tr>`).exec(body);
  if (!m) throw new Error(`no row ${attr}=${name}`);
  return m[1]!;
}

describe('console fleet', () => {
  it('shows hosts and services from the inventory with each container\'s state from Docker', async () => {
    const { g, local } = await fleetGateway();
    const { client } = await signIn(g.url, g.token('viewer', 'readonly'));
    const res = await client.get('/console/fleet');
    expect(res.status).toBe(200);
    const body = res.body;
    const localRow = rowOf(body, 'data-host', 'local');
    expect(localRow).toMatch(/<span class="badge badge-ok">ok<\/span> 3 containers, 2 running/);
    expect(localRow).toContain('gpu=true');
    expect(rowOf(body, 'data-host', 'far')).toContain('<td class="address">10.9.8.7</td>');
    expect(rowOf(body, 'data-host', 'far')).toContain('Docker <code>tcp://10.9.8.7:2376</code>');
    const web = rowOf(body, 'data-service', 'web');
    expect(web).toContain('<span class="badge badge-running">running</span>');
    expect(web).toContain('<td class="tier">critical</td>');
    expect(web).toContain('http http://web.internal:8080/healthz');
    expect(web).not.toMatch(/pw@|token=abc/);
    expect(rowOf(body, 'data-service', 'db')).toContain('<span class="badge badge-exited">exited</span>');
    expect(rowOf(body, 'data-service', 'db')).toContain('tcp db.internal:5432');
    expect(rowOf(body, 'data-service', 'gone')).toContain('absent');
    // Docker was only read.
    expect(local.calls.every((c) => c === 'list')).toBe(true);
  });

  it('shows an unreachable host as unreachable, one that never answers too, and still answers', async () => {
    const { g, far, slow } = await fleetGateway();
    const { client } = await signIn(g.url, g.token('viewer', 'readonly'));
    const res = await client.get('/console/fleet');
    expect(res.status).toBe(200);
    expect(rowOf(res.body, 'data-host', 'far')).toMatch(/<span class="badge badge-failed">unreachable<\/span> <span class="muted">Docker on host far is unreachable \(ECONNREFUSED\)/);
    expect(rowOf(res.body, 'data-host', 'slow')).toMatch(/unreachable<\/span> <span class="muted">no answer within 2 s/);
    expect(rowOf(res.body, 'data-service', 'api')).toContain('host unreachable');
    expect(rowOf(res.body, 'data-service', 'batch')).toContain('host unreachable');
    // The fragment asks again without waiting on the read still out, and never sends a second one.
    const again = await client.get('/console/fleet/live');
    expect(again.body.trimStart()).toMatch(/^<div id="fleet" hx-get="\/console\/fleet\/live"/);
    expect(rowOf(again.body, 'data-host', 'slow')).toMatch(/no answer for \d+ s/);
    expect(slow.calls).toEqual(['list']);
    expect(far.calls.length).toBeGreaterThan(0);
  });

  it('shows open breakers, recorded monitors and active incidents, all as text', async () => {
    const { g } = await fleetGateway();
    const since = new Date().toISOString();
    g.rt.healthStates.saveBreaker({ name: 'docker:far', state: 'open', since, failures: 5, lastError: XSS, retryAt: since, updatedBy: 'other:1' });
    new MonitorStateStore(g.rt.db).replace([{ id: 'probe:web', kind: 'probe', subject: 'web', state: 'down', since, checkedAt: since, value: null, detail: XSS, updatedBy: 'other:1' }]);
    const incidents = new IncidentStore(g.rt.db);
    const alert = { source: 'generic' as const, fingerprint: 'f1', status: 'firing' as const, severity: 'critical' as const, summary: `web down ${XSS}`, startsAt: since, labels: {}, annotations: {}, hints: {} };
    const inc = incidents.create(alert, { target: 'local/web-1', host: 'local', container: 'web-1', service: 'web' });
    const { client } = await signIn(g.url, g.token('viewer', 'readonly'));
    const body = (await client.get('/console/fleet')).body;
    expect(rowOf(body, 'data-host', 'far')).toMatch(/<span class="badge badge-open" title="&lt;script&gt;alert\(1\)&lt;\/script&gt;">docker:far open<\/span>/);
    const web = rowOf(body, 'data-service', 'web');
    expect(web).toContain('probe <span class="badge badge-down">down</span>');
    expect(web).toContain(`href="/console/incidents/${inc.id}"`);
    expect(web).toContain('web down &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(rowOf(body, 'data-host', 'local')).toContain('role=&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).not.toContain(XSS);
  });

  it('gives a readonly viewer both pages and no form but signing out', async () => {
    const { g } = await fleetGateway();
    const { client } = await signIn(g.url, g.token('reader', 'readonly'));
    const fleet = await client.get('/console/fleet');
    const audit = await client.get('/console/audit');
    expect([fleet.status, audit.status]).toEqual([200, 200]);
    expect(fleet.body.match(/<form [^>]*>/g)).toEqual(['<form id="logout" method="post" action="/console/logout">']);
    expect(fleet.body).toContain('<table id="fleet-services">');
    expect(audit.body).toContain('<table id="audit-entries">');
    // Only a POST changes anything, and the fleet page takes none.
    expect((await client.post('/console/fleet', {})).status).toBe(404);
  });
});
