// warden serve end to end on a real dockerd: real HTTP on loopback, the SDK's Streamable HTTP
// clients (v2 in both protocol eras, and v1), bearer tokens and roles through the gate into the
// audit; approvals over HTTP; 16 clients at once; and a real `warden serve` process stopped by SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { CLI, warden, readyUrl } from '../support/cli.js';
import { startProcess, tempDir, waitFor } from '../support/processes.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer, dockerFor, startedAt } from '../support/containers.js';
import { connectHttp, connectHttpV1, request, startTestGateway, type ClientMode, type TestGateway } from '../support/http-gateway.js';

let dockerd: Dockerd;
let g: TestGateway;

const POLICY = 'rules:\n  - name: db-needs-a-human\n    target: "*/db"\n    decision: approve\nlimits: []\n';

beforeAll(async () => {
  dockerd = await startDockerd();
  for (const name of ['web', 'db', 'c0', 'c1', 'c2', 'c3']) await createContainer(dockerd, name);
  g = await startTestGateway({ dockerHost: dockerd.dockerHost, policy: POLICY, server: { rateLimit: { perMinute: 1_000_000, burst: 100_000 } } });
});

afterAll(async () => {
  await g?.close();
  await dockerd?.stop();
});

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;
const approvalIdOf = (r: unknown): string => ((r as CallToolResult)._meta?.['warden/failure'] as { approvalId: string }).approvalId;
const since = (seq: number) => g.rt.audit.list({ afterSeq: seq });
const head = (): number => g.rt.audit.list({ limit: 1 }).at(-1)?.seq ?? 0;

describe('an operator over HTTP', () => {
  it.each<[string, ClientMode | 'v1']>([
    ['the v2 client in its default mode (2025-11-25, a session)', '2025-11-25'],
    ['the v2 client negotiating 2026-07-28', '2026-07-28'],
    ['the v1 client', 'v1'],
  ])('lists containers and restarts one with %s', async (_what, mode) => {
    const web = dockerFor(dockerd).getContainer('web');
    const before = await startedAt(web);
    const mark = head();
    const token = g.token(`op-${mode}`, 'operator');
    const c = mode === 'v1' ? await connectHttpV1(g.url, token) : await connectHttp(g.url, token, mode);
    try {
      if (mode !== 'v1') expect((c as Awaited<ReturnType<typeof connectHttp>>).client.getNegotiatedProtocolVersion()).toBe(mode);
      const listed = await c.client.callTool({ name: 'list_containers', arguments: {} });
      const names = (listed.structuredContent as { containers: Array<{ name: string }> }).containers.map((x) => x.name);
      expect(names).toEqual(['c0', 'c1', 'c2', 'c3', 'db', 'web']);
      const restarted = await c.client.callTool({ name: 'restart_container', arguments: { container: 'web', timeoutSeconds: 1 } });
      expect(restarted.isError).toBeFalsy();
      expect(restarted.structuredContent).toMatchObject({ name: 'web', running: true });
    } finally {
      await c.close();
    }
    expect(await startedAt(web)).not.toBe(before);
    expect(since(mark).filter((e) => e.tool !== 'tokens.create').map((e) => [e.tool, e.phase, e.principal, e.transport])).toEqual([
      ['list_containers', 'completed', `op-${mode}`, 'http'],
      ['restart_container', 'requested', `op-${mode}`, 'http'],
      ['restart_container', 'completed', `op-${mode}`, 'http'],
    ]);
  });
});

describe('roles and tokens over HTTP', () => {
  it('refuses a readonly token a restart with a denied result, audited under its principal over http', async () => {
    const web = dockerFor(dockerd).getContainer('web');
    const before = await startedAt(web);
    const mark = head();
    const c = await connectHttp(g.url, g.token('viewer', 'readonly'));
    try {
      const r = await c.client.callTool({ name: 'restart_container', arguments: { container: 'web' } });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^\[denied\].*role:readonly/);
      expect((await c.client.callTool({ name: 'list_containers', arguments: {} })).isError).toBeFalsy();
    } finally {
      await c.close();
    }
    expect(await startedAt(web)).toBe(before);
    expect(since(mark).find((e) => e.tool === 'restart_container')).toMatchObject({
      phase: 'denied', decision: 'deny', rule: 'role:readonly', principal: 'viewer', transport: 'http', target: 'local/web',
    });
  });

  it('answers 401 to no token and a wrong one, 403 to the alerts role', async () => {
    expect((await request(g.url, '/mcp', { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } })).status).toBe(401);
    expect((await request(g.url, '/mcp', { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, token: 'wdn_wrongwrongwrongwrongwrongwrongwrong' })).status).toBe(401);
    await expect(connectHttp(g.url, 'wdn_wrongwrongwrongwrongwrongwrongwrong')).rejects.toThrow(/401|invalid_token|unauthorized/i);
    expect((await request(g.url, '/mcp', { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, token: g.token('am', 'alerts') })).status).toBe(403);
  });
});

describe('approvals over HTTP', () => {
  it('holds an operator restart, an admin approves it over HTTP, and the same call then runs once via approvalId', async () => {
    const db = dockerFor(dockerd).getContainer('db');
    const before = await startedAt(db);
    const admin = g.token('ada', 'admin');
    const c = await connectHttp(g.url, g.token('olivia', 'operator'), '2026-07-28');
    try {
      const args = { container: 'db', timeoutSeconds: 1 };
      const held = await c.client.callTool({ name: 'restart_container', arguments: args });
      expect(text(held)).toMatch(/^\[approval_required\].*db-needs-a-human/);
      const id = approvalIdOf(held);
      const pending = JSON.parse((await request(g.url, '/approvals', { token: admin })).body) as Array<{ id: string }>;
      expect(pending.map((a) => a.id)).toContain(id);

      const approved = await request(g.url, `/approvals/${id}/approve`, { token: admin, method: 'POST' });
      expect(approved.json()).toMatchObject({ id, status: 'approved', decidedBy: 'ada' });
      expect(g.rt.audit.list().at(-1)).toMatchObject({ phase: 'approved', principal: 'ada', transport: 'http', approvalId: id });
      expect(await startedAt(db)).toBe(before);

      const ran = await c.client.callTool({ name: 'restart_container', arguments: { ...args, approvalId: id } });
      expect(ran.isError).toBeFalsy();
      const after = await startedAt(db);
      expect(after).not.toBe(before);
      const reuse = await c.client.callTool({ name: 'restart_container', arguments: { ...args, approvalId: id } });
      expect(text(reuse)).toMatch(/already used/);
      expect(await startedAt(db)).toBe(after);
      const runs = g.rt.audit.list().filter((e) => e.approvalId === id && e.phase === 'completed');
      expect(runs).toMatchObject([{ principal: 'olivia', transport: 'http', tool: 'restart_container' }]);
    } finally {
      await c.close();
    }
  });
});

describe('16 clients at once', () => {
  it('serves every call without error, and every call is in the audit exactly once', async () => {
    const CLIENTS = 16;
    const CALLS = 25;
    const mark = head();
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => connectHttp(g.url, g.token(`load-${i}`, 'operator'), i % 2 ? '2026-07-28' : '2025-11-25')),
    );
    const failures: string[] = [];
    try {
      await Promise.all(clients.map(async (c, i) => {
        for (let n = 0; n < CALLS; n += 1) {
          // Four clients restart one of four containers once each, between the reads.
          const call = i < 4 && n === 12
            ? { name: 'restart_container', arguments: { container: `c${i}`, timeoutSeconds: 1 } }
            : n % 2 ? { name: 'search_incidents', arguments: { query: `exit ${n}` } } : { name: 'list_containers', arguments: {} };
          const r = await c.client.callTool(call);
          if (r.isError) failures.push(`${call.name}: ${text(r)}`);
        }
      }));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    expect(failures).toEqual([]);
    expect(g.rt.audit.verify()).toMatchObject({ ok: true });
    const calls = since(mark).filter((e) => e.principal.startsWith('load-'));
    // Each call once: a read's one entry, a write's 'requested' then its outcome.
    const completed = calls.filter((x) => x.phase === 'completed');
    expect(completed).toHaveLength(CLIENTS * CALLS);
    expect(new Set(completed.map((e) => e.callId)).size).toBe(CLIENTS * CALLS);
    const requested = calls.filter((x) => x.phase === 'requested');
    expect(requested.map((e) => e.tool)).toEqual(Array(4).fill('restart_container'));
    expect(calls).toHaveLength(CLIENTS * CALLS + 4);
    expect(calls.filter((e) => e.tool === 'restart_container' && e.phase === 'completed')).toHaveLength(4);
  });
});

describe('warden serve as a process', () => {
  it('on SIGTERM finishes the tool call under way, exits 0, and leaves the audit chain verifying', async () => {
    // PID 1 of a busybox container ignores SIGTERM, so this restart takes its whole 3 s grace period.
    await createContainer(dockerd, 'slow');
    const slow = dockerFor(dockerd).getContainer('slow');
    const before = await startedAt(slow);
    const dir = tempDir('serve');
    writeFileSync(join(dir, 'policy.yaml'), 'limits: []\n');
    const env = { DOCKER_HOST: dockerd.dockerHost, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_POLICY: join(dir, 'policy.yaml') };
    const made = warden(['tokens', 'create', '--principal', 'ops', '--role', 'operator', '--by', 'alice', '--json'], env);
    expect(made.status).toBe(0);
    const { token } = JSON.parse(made.stdout) as { token: string };

    // startProcess records the pid for global teardown, should this test fail half-way.
    const serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0', '--no-loop'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ...env },
    });
    const exited = new Promise<number | null>((resolve) => serve.child.once('exit', (code) => resolve(code)));
    const url = await readyUrl(serve);
    expect(serve.output()).toMatch(/"loop":"off \(--no-loop\)"/);

    const c = await connectHttp(url, token);
    const call = c.client.callTool({ name: 'restart_container', arguments: { container: 'slow', timeoutSeconds: 3 } });
    const audit = () => JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<Record<string, unknown>>;
    await waitFor('the requested entry', async () => audit().some((e) => e.target === 'local/slow' && e.phase === 'requested'));
    process.kill(serve.pid, 'SIGTERM');

    const result = await call;
    expect(result.isError).toBeFalsy();
    expect(await exited).toBe(0);
    await c.close().catch(() => undefined);
    expect(await startedAt(slow)).not.toBe(before);
    expect(serve.output()).toMatch(/"signal":"SIGTERM"[^\n]*shutting down/);
    expect(serve.output()).toMatch(/warden serve stopped/);
    expect(warden(['audit', 'verify'], env)).toMatchObject({ status: 0, stdout: 'ok: 3 entries\n' });
    expect(audit().map((e) => [e.tool, e.phase, e.principal, e.transport])).toEqual([
      ['tokens.create', 'completed', 'alice', 'cli'],
      ['restart_container', 'requested', 'ops', 'http'],
      ['restart_container', 'completed', 'ops', 'http'],
    ]);
  });
});
