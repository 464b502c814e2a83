// Verification through a real MCP client on warden's real server (reads audited as the loop), over a
// scriptable fake Docker: a container must stay running (and healthy) for the whole settle window
// without a restart, and an HTTP health check must answer 2xx.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyTarget } from '../../src/loop/verify.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { ScriptedDocker } from '../support/runner.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';
import type { Runtime } from '../../src/server/runtime.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(): Promise<{ docker: ScriptedDocker; linked: Linked; rt: Runtime }> {
  const docker = new ScriptedDocker();
  const rt = testRuntime({ adapters: fakeAdapters(docker) });
  const linked = await linkClient(rt, { principal: 'loop', role: 'operator', transport: 'loop', incidentId: 'inc_v' });
  cleanup.push(async () => { await linked.close(); await rt.close(); });
  return { docker, linked, rt };
}

async function httpServer(status: number): Promise<string> {
  const server = createServer((_req, res) => res.writeHead(status).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
}

const opts = { settleSeconds: 0.4, pollMs: 50 };

describe('verifyTarget', () => {
  it('passes a container running with the same StartedAt for the whole window; every read is audited as the loop', async () => {
    const { linked, rt } = await setup();
    const v = await verifyTarget(linked.client, { host: 'local', container: 'web-1' }, opts);
    expect(v).toMatchObject({ ok: true, reason: expect.stringMatching(/^running for 0.4s without a restart \(StartedAt .* unchanged\)$/) });
    const reads = rt.audit.list();
    expect(reads.length).toBeGreaterThanOrEqual(4);
    for (const e of reads) expect(e).toMatchObject({ tool: 'inspect_container', principal: 'loop', incidentId: 'inc_v' });
  });

  it('fails when the container restarts during the window', async () => {
    const { docker, linked } = await setup();
    setTimeout(() => docker.set('web-1', { startedAt: '2026-11-23T00:00:09Z' }), 150);
    expect(await verifyTarget(linked.client, { host: 'local', container: 'web-1' }, opts)).toMatchObject({ ok: false, reason: expect.stringMatching(/restarted during the settle window/) });
  });

  it('fails at once on an exit, naming the code and OOMKilled, and returns the view for the runbooks', async () => {
    const { docker, linked } = await setup();
    docker.set('web-1', { status: 'exited', running: false, exitCode: 137, oomKilled: true });
    const v = await verifyTarget(linked.client, { host: 'local', container: 'web-1' }, opts);
    expect(v).toMatchObject({ ok: false, reason: 'it exited with code 137 (OOMKilled)', view: { oomKilled: true, exitCode: 137 } });
  });

  it('waits through a starting health check, then needs healthy for the whole window', async () => {
    const { docker, linked } = await setup();
    docker.set('web-1', { health: { status: 'starting', failingStreak: 0, log: [] } });
    setTimeout(() => docker.set('web-1', { health: { status: 'healthy', failingStreak: 0, log: [] } }), 200);
    const began = Date.now();
    expect(await verifyTarget(linked.client, { host: 'local', container: 'web-1' }, opts)).toMatchObject({ ok: true, reason: expect.stringMatching(/^running and healthy for 0.4s/) });
    expect(Date.now() - began).toBeGreaterThanOrEqual(550);
  });

  it('fails an unhealthy container', async () => {
    const { docker, linked } = await setup();
    docker.set('web-1', { health: { status: 'unhealthy', failingStreak: 3, log: [] } });
    expect(await verifyTarget(linked.client, { host: 'local', container: 'web-1' }, opts)).toMatchObject({ ok: false, reason: 'its health check fails (unhealthy)' });
  });

  it('adds the HTTP health check: 2xx passes, anything else fails after its tries', async () => {
    const { linked } = await setup();
    const up = await httpServer(200);
    expect(await verifyTarget(linked.client, { host: 'local', container: 'web-1', health: { url: up } }, opts))
      .toMatchObject({ ok: true, reason: expect.stringMatching(new RegExp(`unchanged\\); GET ${up} answered 200$`)) });
    const down = await httpServer(503);
    expect(await verifyTarget(linked.client, { host: 'local', container: null, health: { url: down } }, { ...opts, httpTries: 2 }))
      .toEqual({ ok: false, reason: `GET ${down} answered 503, expected 2xx (2 tries)`, view: undefined });
  });

  it('holds the HTTP check to the status and keyword the inventory names: a 200 without the keyword fails', async () => {
    const { linked } = await setup();
    const up = await httpServer(200);
    expect(await verifyTarget(linked.client, { host: 'local', container: null, health: { url: up, keyword: 'no such text' } }, { ...opts, httpTries: 1 }))
      .toMatchObject({ ok: false, reason: expect.stringMatching(/answered 200 without "no such text"/) });
    const teapot = await httpServer(418);
    expect(await verifyTarget(linked.client, { host: 'local', container: null, health: { url: teapot, status: 418 } }, { ...opts, httpTries: 1 }))
      .toMatchObject({ ok: true });
  });
});
