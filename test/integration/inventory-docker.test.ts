// The inventory against a real dockerd: describe_service's live state through the guard, and
// `warden inventory discover` finding the containers the example inventory does not know.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Runtime } from '../../src/server/runtime.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { createContainer, dockerFor } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { exampleInventory } from '../support/inventory.js';
import { freePort } from '../support/ports.js';
import { tempDir, waitFor } from '../support/processes.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

let dockerd: Dockerd;
/** The example inventory, its GPU worker pointed at a closed loopback port: a host that is down. */
let inventoryDir: string;

beforeAll(async () => {
  dockerd = await startDockerd();
  for (const name of ['lb', 'web-1']) await createContainer(dockerd, name);
  await createContainer(dockerd, 'web-2', { cmd: ['sh', '-c', 'exit 1'] });
  await createContainer(dockerd, 'db', { healthcheck: { test: ['CMD', 'true'], intervalMs: 200, retries: 1 } });
  await createContainer(dockerd, 'stray');
  await createContainer(dockerd, 'old-job', { cmd: ['true'] });
  const docker = dockerFor(dockerd);
  await waitFor('db healthy and web-2 exited', async () => {
    const [db, web2] = await Promise.all([docker.getContainer('db').inspect(), docker.getContainer('web-2').inspect()]);
    return db.State.Health?.Status === 'healthy' && web2.State.Status === 'exited';
  });
  inventoryDir = exampleInventory({ address: '127.0.0.1', port: await freePort(), user: 'root', keyPath: join(tempDir('keys'), 'absent') });
});

afterAll(async () => {
  await dockerd?.stop();
});

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function client(opts: { dockerHost?: string; inventory?: string | Record<string, string> } = {}) {
  const rt = testRuntime({ dockerHost: opts.dockerHost ?? dockerd.dockerHost, inventory: opts.inventory ?? inventoryDir });
  const linked = await linkClient(rt);
  open.push(rt, linked);
  return linked.client;
}

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;

describe('describe_service on a real dockerd', () => {
  it('the db: inventory entry, who depends on it, and its live healthy state', async () => {
    const r = await (await client()).callTool({ name: 'describe_service', arguments: { name: 'db' } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      name: 'db', host: 'local', container: 'db', owner: 'data-team', tier: 'critical', labels: { app: 'shop', role: 'database' },
      dependsOn: [], dependents: ['web-1', 'web-2'], healthCheck: { container: true }, runbooks: ['disk-usage'],
      live: { state: 'running', running: true, health: 'healthy', exitCode: 0, oomKilled: false, restartCount: 0 }, note: null,
    });
    expect(text(r)).toMatch(/^db \(critical, owner data-team\) on local\/db: running \(healthy\) since \d{4}-/);
    expect(text(r)).toMatch(/^depends on 0, needed by 2, 1 runbook$/m);
  });

  it('a stopped service: its exit code, and what it needs', async () => {
    const r = await (await client()).callTool({ name: 'describe_service', arguments: { name: 'web-2' } });
    expect(r.structuredContent).toMatchObject({ dependsOn: ['db'], dependents: ['lb'], live: { state: 'exited', running: false, exitCode: 1 } });
    expect(text(r)).toMatch(/^web-2 \(standard, owner web-team\) on local\/web-2: exited, exit 1$/m);
  });

  it('a service on a host that is down: the inventory part, live null and why', async () => {
    const r = await (await client()).callTool({ name: 'describe_service', arguments: { name: 'trainer' } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ name: 'trainer', host: 'gpu-worker', owner: 'ml-team', tier: 'batch', live: null, note: expect.stringMatching(/^live state unavailable: /) });
  });

  it('when Docker itself is unreachable the inventory part still comes back', async () => {
    const c = await client({ dockerHost: `unix://${join(tempDir('no-docker'), 'docker.sock')}` });
    const r = await c.callTool({ name: 'describe_service', arguments: { name: 'db' } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ name: 'db', tier: 'critical', live: null, note: expect.stringMatching(/Docker on host local is unreachable/) });
    expect(text(r)).toMatch(/live state unknown: live state unavailable: Docker on host local is unreachable/);
  });

  it('a service whose container does not exist says so in the note', async () => {
    const c = await client({ inventory: { 's.yaml': 'services:\n  - { name: ghost, host: local, container: ghost }\n' } });
    const r = await c.callTool({ name: 'describe_service', arguments: { name: 'ghost' } });
    expect(r.structuredContent).toMatchObject({ live: null, note: expect.stringMatching(/no container "ghost" on host local/) });
  });
});

describe('warden inventory discover on a real dockerd', () => {
  it('records the containers the inventory does not know, reports a host that is down, and keeps first_seen', () => {
    const env = { ...dataDirEnv(tempDir('discover')), DOCKER_HOST: dockerd.dockerHost };
    expect(warden(['inventory', 'load', inventoryDir], env).status).toBe(0);
    const r = warden(['inventory', 'discover', '--timeout', '5'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^local: 6 containers, 2 not in the inventory$/m);
    expect(r.stdout).toMatch(/^ {2}old-job +exited +warden-busybox:test.* first seen /m);
    expect(r.stdout).toMatch(/^ {2}stray +running /m);
    // A partial failure exits 0 and names the endpoint tried; --strict makes it exit 1.
    expect(r.stdout).toMatch(/^gpu-worker: unreachable at ssh root@127\.0\.0\.1:\d+, socket \/var\/run\/docker\.sock: /m);
    const strict = warden(['inventory', 'discover', '--strict', '--timeout', '5'], env);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/discover: 1 of 2 hosts failed \(--strict\): gpu-worker at ssh root@127\.0\.0\.1:\d+/);

    const first = JSON.parse(warden(['inventory', 'list', '--json'], env).stdout).discovered as Array<{ host: string; name: string; firstSeen: string; lastSeen: string }>;
    expect(first.map((d) => `${d.host}/${d.name}`)).toEqual(['local/old-job', 'local/stray']);
    const again = JSON.parse(warden(['inventory', 'discover', '--json', '--timeout', '5'], env).stdout) as { hosts: Array<{ host: string; ok: boolean; unknown: Array<{ name: string; firstSeen: string; lastSeen: string }> }> };
    const local = again.hosts.find((h) => h.host === 'local')!;
    expect(local.ok).toBe(true);
    expect(local.unknown.map((d) => d.name)).toEqual(['old-job', 'stray']);
    expect(local.unknown[0]!.firstSeen).toBe(first[0]!.firstSeen);
    expect(local.unknown[0]!.lastSeen >= first[0]!.lastSeen).toBe(true);
    expect(again.hosts.find((h) => h.host === 'gpu-worker')).toMatchObject({ ok: false, error: expect.any(String) });
  });
});
