// tools/list per caller: each sees only what it may ever call, the guard still refuses and audits
// a call of anything else, and a policy reload changes the listing and tells long-lived clients.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Caller } from '../../src/policy/call.js';
import { createMcpServer } from '../../src/server/mcp-server.js';
import type { Runtime } from '../../src/server/runtime.js';
import { REQUIRES_USER_INTERACTION } from '../../src/server/tool-list.js';
import { CATALOG, OPT_IN } from '../../src/tools/catalog.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { listingFor } from '../../src/server/caller-listing.js';
import { INITIALIZE, connectHttp, request, useGateways, type ClientMode } from '../support/http-gateway.js';
import { testRuntime } from '../support/warden.js';

const gateway = useGateways();
const READ_TOOLS = CATALOG.filter((t) => t.risk === 'read' || t.resolvesRisk).map((t) => t.name);
const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** A client on the stdio server path (serveStdio, in memory), told of policy changes as `warden stdio` is. */
async function stdioClient(rt: Runtime, caller: Omit<Caller, 'human'>, mode: ClientMode = '2025-11-25') {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => createMcpServer(rt.guard, () => ({ ...caller }), { elicitApprovals: false, policyChanges: rt.policy }), { transport: serverSide });
  let changes = 0;
  // As a client that keeps its tool list current does: it re-lists when told (2026-07-28: on its listen subscription).
  const listChanged = { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => { changes += 1; } } };
  const client = new Client({ name: 'warden-test', version: '1' }, { listChanged, ...(mode === '2026-07-28' ? { versionNegotiation: { mode: 'auto' as const } } : {}) });
  await client.connect(clientSide);
  open.push(async () => { await client.close(); await handle.close(); });
  const close = async () => { await client.close(); await handle.close(); };
  return { client, close, changes: () => changes, names: async () => (await client.listTools()).tools.map((t) => t.name) };
}

function runtime(policy?: string): Runtime {
  const rt = testRuntime({ adapters: fakeAdapters(), ...(policy === undefined ? {} : { policy }) });
  open.push(() => rt.close());
  return rt;
}

describe('tools/list over HTTP', () => {
  it.each<ClientMode>(['2025-11-25', '2026-07-28'])('lists only read tools to a readonly token (%s)', async (mode) => {
    const g = await gateway();
    const c = await connectHttp(g.url, g.token('viewer', 'readonly'), mode);
    const tools = (await c.client.listTools()).tools;
    await c.close();
    expect(tools.map((t) => t.name)).toEqual(READ_TOOLS);
    expect(tools.some((t) => t._meta?.[REQUIRES_USER_INTERACTION])).toBe(false);
  });

  it.each<ClientMode>(['2025-11-25', '2026-07-28'])('lists the write tools to an operator, held ones marked for user interaction (%s)', async (mode) => {
    const g = await gateway();
    const c = await connectHttp(g.url, g.token('ops', 'operator'), mode);
    const tools = (await c.client.listTools()).tools;
    await c.close();
    expect(tools.map((t) => t.name)).toEqual(CATALOG.filter((t) => !OPT_IN.has(t.name)).map((t) => t.name));
    const marked = tools.filter((t) => t._meta?.[REQUIRES_USER_INTERACTION] === true).map((t) => t.name);
    expect(marked).toContain('stop_container');
    expect(marked).not.toContain('restart_container');
    expect(marked).not.toContain('list_containers');
  });

  it('tells a 2025-11-25 session of a policy reload, and lists afresh', async () => {
    const g = await gateway.custom({ adapters: fakeAdapters(), policy: '{}' });
    let changes = 0;
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', g.url), { requestInit: { headers: { Authorization: `Bearer ${g.token('ops', 'operator')}` } } });
    const client = new Client({ name: 'warden-test', version: '1' }, { listChanged: { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => { changes += 1; } } } });
    await client.connect(transport);
    open.push(async () => { await transport.terminateSession().catch(() => undefined); await client.close(); });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('stop_container');
    const before = g.rt.policy.current().hash;
    writeFileSync(g.rt.config.policyPath!, 'rules: [{ principal: ops, tool: stop_container, decision: deny }]\n');
    await vi.waitFor(() => expect(g.rt.policy.current().hash).not.toBe(before), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(changes).toBe(1), { timeout: 5_000, interval: 20 });
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('stop_container');
  });

  it('refuses and audits a readonly token calling a write it was not shown', async () => {
    const g = await gateway();
    const c = await connectHttp(g.url, g.token('viewer', 'readonly'));
    const r = await c.client.callTool({ name: 'stop_container', arguments: { container: 'web-1' } });
    await c.close();
    expect(r.isError).toBe(true);
    expect(r._meta?.['warden/failure']).toMatchObject({ kind: 'denied', rule: 'role:readonly' });
    const entry = g.rt.audit.list().find((e) => e.tool === 'stop_container');
    expect(entry).toMatchObject({ principal: 'viewer', phase: 'denied', rule: 'role:readonly' });
  });
});

describe('tools/list over stdio', () => {
  const POLICY = 'rules: [{ name: no-stops-for-local, principal: local, tool: stop_container, decision: deny }]\n';

  it("follows the policy for the configured principal and no one else's", async () => {
    const rt = runtime(POLICY);
    const local = await stdioClient(rt, { principal: 'local', role: 'operator', transport: 'stdio' });
    const other = await stdioClient(rt, { principal: 'other', role: 'operator', transport: 'stdio' });
    expect(await local.names()).not.toContain('stop_container');
    expect(await local.names()).toContain('start_container');
    expect(await other.names()).toContain('stop_container');
  });

  it('refuses and audits a call of a tool it did not list, by the rule that hid it', async () => {
    const rt = runtime(POLICY);
    const local = await stdioClient(rt, { principal: 'local', role: 'operator', transport: 'stdio' });
    const r = await local.client.callTool({ name: 'stop_container', arguments: { container: 'web-1' } });
    expect(r._meta?.['warden/failure']).toMatchObject({ kind: 'denied', rule: 'no-stops-for-local' });
    expect(rt.audit.list().filter((e) => e.tool === 'stop_container')).toEqual([
      expect.objectContaining({ principal: 'local', transport: 'stdio', phase: 'denied', rule: 'no-stops-for-local' }),
    ]);
  });

  it.each<ClientMode>(['2025-11-25', '2026-07-28'])('changes after a policy reload, and says so with tools/list_changed (%s)', async (mode) => {
    const rt = runtime('{}');
    const local = await stdioClient(rt, { principal: 'local', role: 'operator', transport: 'stdio' }, mode);
    expect(await local.names()).toContain('stop_container');
    const before = rt.policy.current().hash;
    writeFileSync(rt.config.policyPath!, POLICY);
    await vi.waitFor(() => expect(rt.policy.current().hash).not.toBe(before), { timeout: 10_000, interval: 50 });
    expect(await local.names()).not.toContain('stop_container');
    await vi.waitFor(() => expect(local.changes()).toBe(1), { timeout: 5_000, interval: 20 });
  });

  it('advertises tools.listChanged only where it is told of reloads', async () => {
    const rt = runtime();
    const local = await stdioClient(rt, { principal: 'local', role: 'operator', transport: 'stdio' });
    expect(local.client.getServerCapabilities()?.tools).toEqual({ listChanged: true });
  });
});

describe('tools/list_changed listeners: one per live long-lived server, none for a server nobody keeps', () => {
  it('keeps none for a 2025-11-25 initialize the transport refused', async () => {
    const g = await gateway.custom({ adapters: fakeAdapters(), policy: '{}' });
    const token = g.token('viewer', 'readonly');
    const before = g.rt.policy.changeListenerCount;
    for (let i = 0; i < 20; i += 1) {
      // Accept without text/event-stream: 406. Two initializes in one batch: 400.
      expect((await request(g.url, '/mcp', { token, body: INITIALIZE, headers: { accept: 'application/json' } })).status).toBe(406);
      expect((await request(g.url, '/mcp', { token, body: [INITIALIZE, { ...INITIALIZE, id: 2 }] })).status).toBe(400);
    }
    expect(g.rt.policy.changeListenerCount).toBe(before);
    expect(g.daemon.gateway.mcp.sessions.size).toBe(0);
  });

  it('keeps one per session, and drops it when the client deletes the session', async () => {
    const g = await gateway.custom({ adapters: fakeAdapters(), policy: '{}' });
    const before = g.rt.policy.changeListenerCount;
    const c = await connectHttp(g.url, g.token('ops', 'operator'));
    expect(g.rt.policy.changeListenerCount).toBe(before + 1);
    await c.close();
    await vi.waitFor(() => expect(g.rt.policy.changeListenerCount).toBe(before), { timeout: 5_000, interval: 20 });
  });

  it('drops the listener of a session closed to make room for its token, or for being idle', async () => {
    const g = await gateway.custom({ adapters: fakeAdapters(), policy: '{}', daemon: { maxSessionsPerToken: 1 } });
    const before = g.rt.policy.changeListenerCount;
    const token = g.token('ops', 'operator');
    for (let i = 0; i < 3; i += 1) expect((await request(g.url, '/mcp', { token, body: INITIALIZE })).status).toBe(200);
    expect(g.rt.policy.changeListenerCount).toBe(before + 1);
    expect(await g.daemon.gateway.mcp.sessions.closeIdle(Date.now() + 24 * 3_600_000)).toBe(1);
    expect(g.rt.policy.changeListenerCount).toBe(before);
  });

  it('keeps none for 2026-07-28 requests, each served by a server of its own', async () => {
    const g = await gateway.custom({ adapters: fakeAdapters(), policy: '{}' });
    const before = g.rt.policy.changeListenerCount;
    const c = await connectHttp(g.url, g.token('ops', 'operator'), '2026-07-28');
    for (let i = 0; i < 5; i += 1) await c.client.listTools();
    expect(g.rt.policy.changeListenerCount).toBe(before);
    await c.close();
  });

  it('drops the listener of a closed stdio connection', async () => {
    const rt = runtime('{}');
    const c = await stdioClient(rt, { principal: 'local', role: 'operator', transport: 'stdio' });
    expect(rt.policy.changeListenerCount).toBe(1);
    await c.close();
    expect(rt.policy.changeListenerCount).toBe(0);
  });
});

describe('listing across reloads, callers and policies', () => {
  const ALICE = { principal: 'alice', role: 'operator' as const, transport: 'stdio' as const };

  it('keeps the listing, and says nothing, when the policy file is replaced by a broken one', async () => {
    const rt = runtime('rules: [{ principal: alice, tool: stop_container, decision: deny }]\n');
    const c = await stdioClient(rt, ALICE);
    const before = await c.names();
    expect(before).not.toContain('stop_container');
    expect(before).toContain('start_container');
    writeFileSync(rt.config.policyPath!, 'rules: [{ principal: alice, tool: no_such_tool_x, decision: allow }\n');
    await vi.waitFor(() => expect(rt.policy.lastError()).toBeDefined(), { timeout: 10_000, interval: 50 });
    expect(await c.names()).toEqual(before);
    expect(c.changes()).toBe(0);
  });

  it('never serves one principal the listing of another, past the cache bound', () => {
    const rt = runtime('rules: [{ principal: "p-1*", tool: stop_container, decision: deny }]\n');
    const has = (principal: string) => listingFor(rt.guard, { principal, role: 'operator' }).some((t) => t.name === 'stop_container');
    for (let i = 0; i < 600; i += 1) expect(has(`p-${i}`)).toBe(!`p-${i}`.startsWith('p-1'));
    expect(has('p-1')).toBe(false);
    expect(has('p-2')).toBe(true);
  });

  it('marks a read tool held for approval in a dry-run policy, as the gate holds it (reads are not dry-run)', async () => {
    const rt = runtime('dryRun: true\nrules: [{ name: ask-list, tool: list_containers, decision: approve }]\n');
    const c = await stdioClient(rt, ALICE);
    const r = await c.client.callTool({ name: 'list_containers', arguments: {} });
    expect(r._meta?.['warden/failure']).toMatchObject({ kind: 'approval_required', rule: 'ask-list' });
    const listed = (await c.client.listTools()).tools;
    expect(listed.find((t) => t.name === 'list_containers')?._meta?.[REQUIRES_USER_INTERACTION]).toBe(true);
    // A write is dry-run instead: it runs as a plan at once, so nothing marks it.
    expect(listed.find((t) => t.name === 'stop_container')?._meta?.[REQUIRES_USER_INTERACTION]).toBeUndefined();
  });

  it('marks a tool a max-0 approve limit holds, and hides one a max-0 deny limit refuses, as the gate decides them', async () => {
    const rt = runtime('limits: [{ name: always-ask, tool: restart_container, max: 0, then: approve }, { name: never, tool: start_container, max: 0 }]\n');
    const c = await stdioClient(rt, ALICE);
    const held = await c.client.callTool({ name: 'restart_container', arguments: { container: 'web-1' } });
    expect(held._meta?.['warden/failure']).toMatchObject({ kind: 'approval_required', rule: 'always-ask' });
    const refused = await c.client.callTool({ name: 'start_container', arguments: { container: 'web-1' } });
    expect(refused._meta?.['warden/failure']).toMatchObject({ kind: 'denied', rule: 'never' });
    const listed = (await c.client.listTools()).tools;
    expect(listed.find((t) => t.name === 'restart_container')?._meta?.[REQUIRES_USER_INTERACTION]).toBe(true);
    expect(listed.map((t) => t.name)).not.toContain('start_container');
  });
});
