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
import { CATALOG } from '../../src/tools/catalog.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { connectHttp, useGateways, type ClientMode } from '../support/http-gateway.js';
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
  return { client, changes: () => changes, names: async () => (await client.listTools()).tools.map((t) => t.name) };
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
    expect(tools.map((t) => t.name)).toEqual(CATALOG.filter((t) => t.name !== 'reboot_host').map((t) => t.name));
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
