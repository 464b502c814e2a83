// MCP sessions of 2025-11-25 clients over real HTTP, in-process with a fake Docker adapter: bound to
// their token, closed when idle, and resumable after a broken SSE stream from a bounded replay buffer.
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { BoundedEventStore } from '../../src/server/sessions.js';
import { connectHttp, INITIALIZE, request, useGateways } from '../support/http-gateway.js';

const gateway = useGateways();

/** Reads an SSE response until `until` shows up (or 5 s pass), then drops the connection. */
async function readStream(res: Response, until: string, abort: AbortController): Promise<string> {
  const reader = res.body!.getReader();
  const timer = setTimeout(() => abort.abort(), 5_000);
  let text = '';
  try {
    while (!text.includes(until)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } catch { /* aborted */ } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return text;
}

describe('2025-11-25 sessions', () => {
  it('binds a session to the token that opened it: another token gets 404 on it', async () => {
    const g = await gateway();
    const alice = await connectHttp(g.url, g.token('alice', 'operator'));
    try {
      const sessionId = alice.transport.sessionId!;
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      const listing = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
      const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
      const mallory = await request(g.url, '/mcp', { body: listing, token: g.token('mallory', 'operator'), headers });
      expect(mallory.status).toBe(404);
      expect((await alice.client.listTools()).tools.length).toBeGreaterThan(0);
    } finally {
      await alice.close();
    }
  });

  it('closes sessions left idle longer than server.sessionIdleMinutes', async () => {
    const g = await gateway({ sessionIdleMinutes: 0.001 });
    const c = await connectHttp(g.url, g.token('alice', 'operator'));
    expect(g.daemon.gateway.mcp.sessions.size).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(await g.daemon.gateway.mcp.sessions.closeIdle()).toBe(1);
    expect(g.daemon.gateway.mcp.sessions.size).toBe(0);
    await c.client.close();
  });

  it('keeps at most maxSessionsPerToken sessions per token, closing the least recently used', async () => {
    const g = await gateway.custom({ daemon: { maxSessionsPerToken: 2, maxSessions: 3 } });
    const alice = g.token('alice', 'operator');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await request(g.url, '/mcp', { body: INITIALIZE, token: alice })).headers.get('mcp-session-id')!);
    const ping = (id: string, token: string) => request(g.url, '/mcp', {
      body: { jsonrpc: '2.0', id: 9, method: 'ping' }, token, headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
    });
    expect((await ping(ids[0]!, alice)).status).toBe(404);
    expect((await ping(ids[2]!, alice)).status).toBe(200);
    const bob = g.token('bob', 'operator');
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: bob })).status).toBe(200);
    const full = await request(g.url, '/mcp', { body: INITIALIZE, token: g.token('carol', 'operator') });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('30');
  });

  it('closes no session of a token for an initialize that was refused: only a session that exists displaces one', async () => {
    const g = await gateway.custom({ daemon: { maxSessionsPerToken: 1 } });
    const alice = g.token('alice', 'operator');
    const id = (await request(g.url, '/mcp', { body: INITIALIZE, token: alice })).headers.get('mcp-session-id')!;
    for (let i = 0; i < 3; i += 1) expect((await request(g.url, '/mcp', { body: INITIALIZE, token: alice, headers: { accept: 'application/json' } })).status).toBe(406);
    const ping = await request(g.url, '/mcp', { body: { jsonrpc: '2.0', id: 9, method: 'ping' }, token: alice, headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } });
    expect(ping.status).toBe(200);
    expect(g.daemon.gateway.mcp.sessions.size).toBe(1);
  });

  it('replays a tool result on a new stream from Last-Event-ID, as a client whose stream broke resumes', async () => {
    const g = await gateway();
    const token = g.token('alice', 'operator');
    const init = await request(g.url, '/mcp', { body: INITIALIZE, token });
    const headers = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    expect((await request(g.url, '/mcp', { body: { jsonrpc: '2.0', method: 'notifications/initialized' }, token, headers })).status).toBe(202);
    const call = await request(g.url, '/mcp', { body: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_containers', arguments: {} } }, token, headers });
    // The stream opens with a priming event; the result follows it. Resume from the priming event.
    const [priming, result] = [...call.body.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!);
    expect(call.body).toContain('"structuredContent"');
    const abort = new AbortController();
    const res = await fetch(new URL('/mcp', g.url), {
      headers: { ...headers, authorization: `Bearer ${token}`, accept: 'text/event-stream', 'last-event-id': priming! },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const replayed = await readStream(res, 'structuredContent', abort);
    expect(replayed).toContain(`id: ${result}`);
    expect(replayed).toContain('"name":"web-1"');
  });
});

describe('BoundedEventStore', () => {
  const msg = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: {} });

  it('replays the events of one stream after an id, and forgets the oldest beyond its capacity', async () => {
    const store = new BoundedEventStore(3);
    const a1 = await store.storeEvent('a', msg(1));
    await store.storeEvent('b', msg(2));
    await store.storeEvent('a', msg(3));
    const sent: unknown[] = [];
    expect(await store.replayEventsAfter(a1, { send: async (_id, m) => { sent.push((m as { id: number }).id); } })).toBe('a');
    expect(sent).toEqual([3]);
    await store.storeEvent('a', msg(4));
    expect(await store.getStreamIdForEventId(a1)).toBeUndefined();
    expect(await store.replayEventsAfter(a1, { send: async () => undefined })).toBe('');
  });
});
