// The worst inputs a readonly token can send, each in flight on one `warden serve` while /healthz
// is asked: /healthz answers first (the order is asserted, not a time), and each call ends with a
// clear answer by its deadline.
import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { fakeAdapters } from '../support/fake-docker.js';
import { connectHttp, request, useGateways } from '../support/http-gateway.js';

const gateways = useGateways();

const textOf = (r: CallToolResult): string => (r.content[0] as { text: string }).text;

describe('/healthz while the worst inputs run', () => {
  it('answers before an endless recursive CTE is stopped at its deadline', async () => {
    const g = await gateways.custom({ serving: true });
    const ro = await connectHttp(g.url, g.token('reader', 'readonly'));
    const order: string[] = [];
    const endless = ro.client.callTool({ name: 'query_inventory', arguments: { sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c' } })
      .then((r) => { order.push('query'); return r as CallToolResult; });
    // Asked once the statement is surely running: the call is admitted and its process started.
    await new Promise((r) => setTimeout(r, 300));
    const health = await request(g.url, '/healthz');
    order.push(`healthz ${health.status}`);
    const r = await endless;
    expect(order).toEqual(['healthz 200', 'query']);
    expect(textOf(r)).toMatch(/^\[invalid_input\] query stopped at its deadline of 2000 ms: it ran too long/);
    await ro.close();
  });

  it('greps with backtracking-shaped patterns in linear time, with /healthz answering', async () => {
    const adapters = fakeAdapters();
    adapters.fake.logLines = [{ stream: 'stdout', text: `${'a'.repeat(60_000)}!` }];
    const g = await gateways.custom({ adapters, serving: true });
    const ro = await connectHttp(g.url, g.token('reader', 'readonly'));
    for (const grep of ['(a+)+$', '((a)+)+$', 'a*a*a*b', '.*.*.*=b']) {
      const [call, health] = await Promise.all([
        ro.client.callTool({ name: 'container_logs', arguments: { container: 'db', grep, regex: true } }) as Promise<CallToolResult>,
        request(g.url, '/healthz'),
      ]);
      expect(health.status).toBe(200);
      expect(call.isError, textOf(call)).toBeFalsy();
      expect(call.structuredContent).toMatchObject({ lines: [] });
    }
    await ro.close();
  });
});
