// /healthz tells the truth: failing (503) when the audit cannot be written, as with a full disk,
// where every call is refused; degraded (200) while a circuit breaker is open or the loop is in safe
// mode; and never a breaker's name, a host or an error message, since it answers without a token.
import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { connectHttp, request, useGateways } from '../support/http-gateway.js';
import { eventually } from '../support/loop-world.js';

const gateways = useGateways();

describe('/healthz', () => {
  it('fails with 503 while the database is full and every call fails, and recovers when it has room again', async () => {
    const g = await gateways.custom({ serving: true });
    expect((await request(g.url, '/healthz')).status).toBe(200);
    const client = await connectHttp(g.url, g.token('ops', 'operator'));
    // A database that cannot grow any more: SQLite answers "database or disk is full" as on a full disk.
    const pages = (g.rt.db.pragma('page_count', { simple: true }) as number);
    g.rt.db.pragma(`max_page_count = ${pages}`);
    let full: CallToolResult | undefined;
    for (let i = 0; i < 5_000 && !full; i += 1) {
      const r = await client.client.callTool({ name: 'list_containers', arguments: {} }) as CallToolResult;
      if (r.isError) full = r;
    }
    expect(full, 'a call refused once the database is full').toBeDefined();
    expect((full!.content[0] as { text: string }).text).toMatch(/^\[unavailable\] list_containers on local\/\* ran, but warden cannot write its audit log \(the database or its disk is full\), so its result is withheld/);
    const failing = await request(g.url, '/healthz');
    expect(failing.status).toBe(503);
    expect(failing.json()).toMatchObject({ status: 'failing', db: 'ok', audit: 'unwritable' });
    expect(failing.body).not.toMatch(/full|SQLITE|\/tmp/);

    g.rt.db.pragma('max_page_count = 1073741823');
    const again = await client.client.callTool({ name: 'list_containers', arguments: {} }) as CallToolResult;
    expect(again.isError).toBeFalsy();
    await eventually('/healthz recovers', async () => (await request(g.url, '/healthz')).status === 200, 15_000);
    await client.close();
  });

  it('is degraded, not failing, while a breaker is open or the loop is in safe mode, and names neither', async () => {
    const g = await gateways.custom({ serving: true, config: 'breakers:\n  failures: 1\n  halfOpenSeconds: 600\n' });
    const ok = (await request(g.url, '/healthz')).json();
    expect(ok).toMatchObject({ breakersOpen: 0, safeMode: false });
    const secret = g.rt.breakers.get('docker:db-secret-host', 'docker', () => true);
    await expect(secret.run(() => Promise.reject(new Error('connect ECONNREFUSED 10.9.8.7:2375')))).rejects.toThrow();
    const open = await request(g.url, '/healthz');
    expect(open.status).toBe(200);
    expect(open.json()).toMatchObject({ status: 'degraded', breakersOpen: 1, safeMode: false });
    expect(open.body).not.toMatch(/db-secret-host|10\.9\.8\.7/);
    g.rt.safeMode.set(true, 'warden', 'test', null, () => undefined);
    expect((await request(g.url, '/healthz')).json()).toMatchObject({ status: 'degraded', safeMode: true });
  });
});
