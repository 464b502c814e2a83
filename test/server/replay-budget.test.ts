// The byte budget all 2025-11-25 sessions' replay buffers share: the total stays within it, the
// oldest events of the least recently used sessions go first, and a client resuming with
// Last-Event-ID gets what followed a kept event or a clean refusal for an evicted one.
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { BoundedEventStore, ReplayBudget } from '../../src/server/sessions.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { INITIALIZE, request, useGateways } from '../support/http-gateway.js';

/** A result whose JSON is exactly `bytes` long. */
function message(id: number, bytes: number): JSONRPCMessage {
  const bare = JSON.stringify({ jsonrpc: '2.0', id, result: { pad: '' } }).length;
  return { jsonrpc: '2.0', id, result: { pad: 'x'.repeat(bytes - bare) } };
}

async function replayed(store: BoundedEventStore, after: string): Promise<{ stream: string; ids: number[] }> {
  const ids: number[] = [];
  const stream = await store.replayEventsAfter(after, { send: async (_id, m) => { ids.push((m as { id: number }).id); } });
  return { stream, ids };
}

describe('ReplayBudget', () => {
  it('keeps the total of many sessions within the budget, whatever they store', async () => {
    const budget = new ReplayBudget(10_000);
    const stores = Array.from({ length: 20 }, () => new BoundedEventStore(500, budget));
    for (let i = 0; i < 200; i += 1) {
      await stores[i % stores.length]!.storeEvent('s', message(i, 700 + (i % 7) * 100));
      expect(budget.usedBytes).toBeLessThanOrEqual(10_000);
    }
    expect(budget.usedBytes).toBeGreaterThan(10_000 - 1_300);
  });

  it('evicts the oldest events of the least recently used session first', async () => {
    const budget = new ReplayBudget(3_000);
    const [a, b, c] = [new BoundedEventStore(500, budget), new BoundedEventStore(500, budget), new BoundedEventStore(500, budget)];
    const a1 = await a.storeEvent('s', message(1, 500));
    const a2 = await a.storeEvent('s', message(2, 500));
    const b1 = await b.storeEvent('s', message(3, 500));
    const b2 = await b.storeEvent('s', message(4, 500));
    const c1 = await c.storeEvent('s', message(5, 500));
    // A client used a's session since: b is now the least recently used, then c, then a.
    budget.touch(a);
    const kept = async (): Promise<boolean[]> => Promise.all([[a, a1], [a, a2], [b, b1], [b, b2], [c, c1]].map(async ([s, id]) =>
      (await (s as BoundedEventStore).getStreamIdForEventId(id as string)) !== undefined));
    await c.storeEvent('s', message(6, 1_000));
    expect({ used: budget.usedBytes, kept: await kept() }).toEqual({ used: 3_000, kept: [true, true, false, true, true] });
    await c.storeEvent('s', message(7, 500));
    expect(await kept()).toEqual([true, true, false, false, true]);
    // b is empty: c is the least recently used now, though a stored its events first.
    await c.storeEvent('s', message(8, 500));
    expect(await kept()).toEqual([true, true, false, false, false]);
  });

  it('replays what followed a kept event, and refuses one that was evicted, without a gap', async () => {
    const budget = new ReplayBudget(2_000);
    const store = new BoundedEventStore(500, budget);
    const ids = [];
    for (let i = 1; i <= 6; i += 1) ids.push(await store.storeEvent(i % 2 ? 'a' : 'b', message(i, 500)));
    // 6 x 500 over 2,000: the two oldest went (ids 1 and 2).
    expect(await replayed(store, ids[0]!)).toEqual({ stream: '', ids: [] });
    expect(await store.getStreamIdForEventId(ids[1]!)).toBeUndefined();
    expect(await replayed(store, ids[2]!)).toEqual({ stream: 'a', ids: [5] });
    expect(await replayed(store, ids[3]!)).toEqual({ stream: 'b', ids: [6] });
  });

  it('keeps no message larger than the whole budget, and drops its session\'s older events so a replay cannot skip it', async () => {
    const budget = new ReplayBudget(2_000);
    const [mine, other] = [new BoundedEventStore(500, budget), new BoundedEventStore(500, budget)];
    const before = await mine.storeEvent('s', message(1, 500));
    const others = await other.storeEvent('s', message(2, 500));
    const huge = await mine.storeEvent('s', message(3, 5_000));
    const after = await mine.storeEvent('s', message(4, 500));
    expect(await mine.getStreamIdForEventId(before)).toBeUndefined();
    expect(await mine.getStreamIdForEventId(huge)).toBeUndefined();
    expect(await replayed(mine, after)).toEqual({ stream: 's', ids: [] });
    expect(await other.getStreamIdForEventId(others)).toBe('s');
    expect(budget.usedBytes).toBe(1_000);
  });

  it('frees what a closed session held', async () => {
    const budget = new ReplayBudget(10_000);
    const store = new BoundedEventStore(500, budget);
    await store.storeEvent('s', message(1, 800));
    await store.storeEvent('s', message(2, 800));
    store.clear();
    expect(budget.usedBytes).toBe(0);
  });

  it('still keeps at most its capacity of events per session, counted out of the budget', async () => {
    const budget = new ReplayBudget(1_000_000);
    const store = new BoundedEventStore(3, budget);
    for (let i = 1; i <= 5; i += 1) await store.storeEvent('s', message(i, 100));
    expect(budget.usedBytes).toBe(300);
  });
});

const gateway = useGateways();

/** A session's SSE answer to one request: the event ids in order, and the body. */
async function post(url: string, token: string, sessionId: string, body: unknown): Promise<{ ids: string[]; body: string }> {
  const res = await request(url, '/mcp', { body, token, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } });
  return { ids: [...res.body.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!), body: res.body };
}

async function resume(url: string, token: string, sessionId: string, lastEventId: string): Promise<{ status: number; text: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 2_000);
  const res = await fetch(new URL('/mcp', url), {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': lastEventId },
    signal: abort.signal,
  });
  let text = '';
  try {
    const reader = res.body!.getReader();
    while (res.status === 200 && !text.includes('structuredContent')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    if (res.status !== 200) text = await res.text();
  } catch { /* aborted: nothing more came */ } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return { status: res.status, text };
}

describe('the replay budget of warden serve', () => {
  it('evicts an idle session\'s events for a busy one, refusing its resume while the busy one resumes', async () => {
    const docker = new FakeDocker();
    docker.containers = Array.from({ length: 100 }, (_, i) => ({
      id: `c${i}`, name: `svc-${i}`, image: 'nginx', state: 'running', status: 'Up', exitCode: null, health: null, restartCount: 0, restartPolicy: 'no',
    }));
    // 51 KiB: three list_containers results of 100 containers (about 15 KB each as JSON), not four.
    const g = await gateway.custom({ adapters: fakeAdapters(docker), server: { sessionReplayMiB: 0.05 } });
    const open = async (name: string): Promise<{ token: string; id: string }> => {
      const token = g.token(name, 'operator');
      const id = (await request(g.url, '/mcp', { body: INITIALIZE, token })).headers.get('mcp-session-id')!;
      await request(g.url, '/mcp', { body: { jsonrpc: '2.0', method: 'notifications/initialized' }, token, headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } });
      return { token, id };
    };
    const call = (n: number) => ({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'list_containers', arguments: {} } });
    const idle = await open('idle');
    const [idlePriming] = (await post(g.url, idle.token, idle.id, call(2))).ids;
    const busy = await open('busy');
    let last: string[] = [];
    for (let n = 2; n < 8; n += 1) last = (await post(g.url, busy.token, busy.id, call(n))).ids;

    expect(g.daemon.gateway.mcp.sessions.replayBytesUsed).toBeLessThanOrEqual(0.05 * 1_048_576);
    const refused = await resume(g.url, idle.token, idle.id, idlePriming!);
    expect(refused.status).toBe(400);
    const resumed = await resume(g.url, busy.token, busy.id, last[0]!);
    expect(resumed.status).toBe(200);
    expect(resumed.text).toContain(`id: ${last[1]}`);
    expect(resumed.text).toContain('"name":"svc-99"');
  });

  it('gives back what a session held when it is closed', async () => {
    const g = await gateway({ sessionIdleMinutes: 0.001 });
    const token = g.token('alice', 'operator');
    await request(g.url, '/mcp', { body: INITIALIZE, token });
    expect(g.daemon.gateway.mcp.sessions.replayBytesUsed).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(await g.daemon.gateway.mcp.sessions.closeIdle()).toBe(1);
    expect(g.daemon.gateway.mcp.sessions.replayBytesUsed).toBe(0);
  });
});
