// A W3C traceparent sent in a tools/call's _meta lands in that call's audit entries, over stdio and
// HTTP, in both protocol eras; anything not exactly a traceparent is dropped, and the chain holds.
import { afterEach, describe, expect, it } from 'vitest';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { createMcpServer } from '../../src/server/mcp-server.js';
import type { Runtime } from '../../src/server/runtime.js';
import { validTraceparent } from '../../src/server/trace-context.js';
import { storedRow } from '../../src/store/audit-archive.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { connectHttp, useGateways, type ClientMode } from '../support/http-gateway.js';
import { testRuntime } from '../support/warden.js';

const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const MODES: ClientMode[] = ['2025-11-25', '2026-07-28'];
const gateway = useGateways();
const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function stdio(mode: ClientMode): Promise<{ rt: Runtime; client: Client }> {
  const rt = testRuntime({ adapters: fakeAdapters() });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => createMcpServer(rt.guard, () => ({ principal: 'local', role: 'operator', transport: 'stdio' }), { elicitApprovals: false }), { transport: serverSide });
  const client = new Client({ name: 'warden-test', version: '1' }, mode === '2026-07-28' ? { versionNegotiation: { mode: 'auto' } } : {});
  await client.connect(clientSide);
  open.push(async () => { await client.close(); await handle.close(); await rt.close(); });
  return { rt, client };
}

const entriesOf = (rt: Runtime, tool: string) => rt.audit.list().filter((e) => e.tool === tool);

describe('traceparent in the audit', () => {
  it.each(MODES)('is recorded on a read and on each entry of a write over stdio (%s)', async (mode) => {
    const { rt, client } = await stdio(mode);
    await client.callTool({ name: 'list_containers', arguments: {}, _meta: { traceparent: TRACE } });
    await client.callTool({ name: 'restart_container', arguments: { container: 'web-1' }, _meta: { traceparent: TRACE } });
    await client.callTool({ name: 'list_containers', arguments: { all: true } });
    const [traced, untraced] = entriesOf(rt, 'list_containers');
    expect(traced).toMatchObject({ phase: 'completed', traceparent: TRACE });
    expect(untraced).not.toHaveProperty('traceparent');
    expect(entriesOf(rt, 'restart_container').map((e) => [e.phase, e.traceparent])).toEqual([['requested', TRACE], ['completed', TRACE]]);
    expect(rt.audit.verify()).toMatchObject({ ok: true });
  });

  it.each(MODES)('is recorded over HTTP (%s)', async (mode) => {
    const g = await gateway();
    const c = await connectHttp(g.url, g.token('ops', 'operator'), mode);
    await c.client.callTool({ name: 'list_containers', arguments: {}, _meta: { traceparent: TRACE } });
    await c.close();
    expect(entriesOf(g.rt, 'list_containers')).toEqual([expect.objectContaining({ principal: 'ops', transport: 'http', traceparent: TRACE })]);
    expect(g.rt.audit.verify()).toMatchObject({ ok: true });
  });

  it('is recorded on a refused call too (an unknown tool)', async () => {
    const { rt, client } = await stdio('2025-11-25');
    await client.callTool({ name: 'no_such_tool', arguments: {}, _meta: { traceparent: TRACE } });
    expect(entriesOf(rt, 'no_such_tool')).toEqual([expect.objectContaining({ phase: 'denied', traceparent: TRACE })]);
  });

  it.each<[string, unknown]>([
    ['upper-case hex', TRACE.toUpperCase()],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['version ff', `ff${TRACE.slice(2)}`],
    ['fields after the flags', `${TRACE}-0f`],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01'],
    ['spaces around it', ` ${TRACE} `],
    ['a newline after it', `${TRACE}\n`],
    ['a number', 42],
    ['an object', { traceparent: TRACE }],
    ['a megabyte', 'a'.repeat(1_000_000)],
  ])('is dropped when it is %s', async (_why, value) => {
    expect(validTraceparent(value)).toBeUndefined();
    const { rt, client } = await stdio('2025-11-25');
    const r = await client.callTool({ name: 'list_containers', arguments: {}, _meta: { traceparent: value } });
    expect(r.isError).toBeFalsy();
    expect(entriesOf(rt, 'list_containers')).toEqual([expect.not.objectContaining({ traceparent: expect.anything() })]);
  });
});

describe('archived rows', () => {
  const row = {
    seq: 1, time: '2026-01-01T00:00:00.000Z', call_id: 'c', principal: 'p', transport: 'stdio', tool: 't', target: null, args: '{}',
    args_hash: 'h', risk: null, decision: null, rule: null, approval_id: null, phase: 'completed', dry_run: 0, result: null,
    error_kind: null, duration_ms: null, incident_id: null, prev_hash: '0', hash: '1', target_id: null,
  };

  it('reads a segment written before the traceparent column, and one written after', () => {
    expect(storedRow(JSON.stringify(row))).toEqual(row);
    expect(storedRow(JSON.stringify({ ...row, traceparent: TRACE }))).toMatchObject({ traceparent: TRACE });
    expect(storedRow(JSON.stringify({ ...row, traceparent: null }))).toMatchObject({ traceparent: null });
  });

  it('still refuses a row with a column it does not know, or a traceparent of the wrong type', () => {
    expect(storedRow(JSON.stringify({ ...row, extra: 'x' }))).toBeNull();
    expect(storedRow(JSON.stringify({ ...row, traceparent: 5 }))).toBeNull();
    const { target_id: _gone, ...missing } = row;
    expect(storedRow(JSON.stringify({ ...missing, traceparent: TRACE }))).toBeNull();
  });
});
