// The gateway's front door, in-process over real HTTP on loopback with a fake Docker adapter:
// who gets in (tokens, roles, Host/Origin), how much (rate, body size), and which session.
import { describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { TokenStore } from '../../src/store/tokens.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { connectHttp, INITIALIZE, request, useGateways } from '../support/http-gateway.js';

const gateway = useGateways();

/** node:http, because fetch will not send a Host header of our choosing. */
function withHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/healthz', url), { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bearer tokens on /mcp', () => {
  it('answers 401 with a JSON reason without a token, with an unknown token and with a malformed one', async () => {
    const g = await gateway();
    const none = await request(g.url, '/mcp', { body: INITIALIZE });
    expect(none.status).toBe(401);
    expect(none.json()).toEqual({ error: 'unauthorized', reason: expect.stringMatching(/missing bearer token/) });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: `wdn_${'x'.repeat(43)}` })).json()).toMatchObject({ reason: 'unknown token' });
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: 'hunter2' })).status).toBe(401);
  });

  it('refuses an expired token and a revoked one with 401', async () => {
    const g = await gateway();
    const expired = g.token('old', 'operator', 1);
    await new Promise((r) => setTimeout(r, 5));
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: expired })).json()).toMatchObject({ error: 'unauthorized', reason: 'token expired' });
    const revoked = g.token('gone', 'operator');
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: revoked })).status).toBe(200);
    new TokenStore(g.rt.db).revokePrincipal('gone');
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: revoked })).json()).toMatchObject({ error: 'unauthorized', reason: 'token revoked' });
  });

  it('refuses the alerts role on /mcp with 403', async () => {
    const g = await gateway();
    const r = await request(g.url, '/mcp', { body: INITIALIZE, token: g.token('grafana', 'alerts') });
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ error: 'forbidden', reason: 'role alerts may not use /mcp' });
  });

  it('never stores or logs the token itself: only its hash is in the database', async () => {
    const g = await gateway();
    const token = g.token('alice', 'operator');
    const rows = g.rt.db.prepare('SELECT * FROM tokens').all() as Array<Record<string, unknown>>;
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
    expect(token).toMatch(/^wdn_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(g.rt.audit.list())).not.toContain(token.slice(4));
  });
});

describe('DNS-rebinding protection', () => {
  it('refuses a foreign Host with 403 and accepts localhost names', async () => {
    const g = await gateway();
    const port = g.daemon.port;
    expect(await withHost(g.url, `evil.example:${port}`)).toBe(403);
    expect(await withHost(g.url, `localhost:${port}`)).toBe(200);
    expect(await withHost(g.url, `127.0.0.1:${port}`)).toBe(200);
  });

  it('refuses a foreign Origin with 403, also before authentication', async () => {
    const g = await gateway();
    const r = await request(g.url, '/mcp', { body: INITIALIZE, token: g.token('alice', 'operator'), headers: { origin: 'https://evil.example' } });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ error: 'forbidden', reason: expect.stringMatching(/Origin/) });
    expect((await request(g.url, '/healthz', { headers: { origin: `http://localhost:${g.daemon.port}` } })).status).toBe(200);
  });

  it('accepts the names configured in server.allowedHosts instead', async () => {
    const g = await gateway({ allowedHosts: ['warden.internal'] });
    expect(await withHost(g.url, 'warden.internal')).toBe(200);
    expect(await withHost(g.url, `127.0.0.1:${g.daemon.port}`)).toBe(403);
  });
});

describe('limits', () => {
  it('answers 429 with Retry-After once a principal is over its rate, and not another principal', async () => {
    const g = await gateway({ rateLimit: { perMinute: 60, burst: 3 } });
    const alice = g.token('alice', 'operator');
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await request(g.url, '/mcp', { body: INITIALIZE, token: alice })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await request(g.url, '/mcp', { body: INITIALIZE, token: alice });
    expect(limited.json()).toMatchObject({ error: 'rate_limited' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: g.token('bob', 'operator') })).status).toBe(200);
  });

  it('answers 413 for a body over server.maxBodyBytes and 415 for a body that is not JSON', async () => {
    const g = await gateway({ maxBodyBytes: 1024 });
    const token = g.token('alice', 'operator');
    const big = { ...INITIALIZE, params: { ...INITIALIZE.params, padding: 'x'.repeat(2048) } };
    expect((await request(g.url, '/mcp', { body: big, token })).json()).toMatchObject({ error: 'payload_too_large' });
    expect((await request(g.url, '/mcp', { body: 'a=b', token, headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
  });

  it('answers 413 to a chunked body that grows past the limit, without reading it all', async () => {
    const g = await gateway({ maxBodyBytes: 1024 });
    const token = g.token('alice', 'operator');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(new URL('/mcp', g.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"pad":"${'x'.repeat(4096)}`);
      // The rest never comes: the answer must not wait for it.
    });
    expect(status).toBe(413);
  });
});

describe('/healthz and /metrics', () => {
  it('/healthz needs no token and reports the database and the local Docker endpoint', async () => {
    const g = await gateway();
    const r = await request(g.url, '/healthz');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ status: 'ok', db: 'ok', audit: 'ok', docker: { local: 'ok' }, breakersOpen: 0, safeMode: false });
  });

  it('/healthz says degraded (200) when Docker does not answer, and failing (503) when the database fails', async () => {
    class DeadDocker extends FakeDocker {
      override async ping(): Promise<void> {
        throw new Error('connect ENOENT /var/run/docker.sock');
      }
    }
    const g = await gateway.custom({ adapters: fakeAdapters(new DeadDocker()) });
    const degraded = await request(g.url, '/healthz');
    expect([degraded.status, degraded.json()]).toEqual([200, { status: 'degraded', db: 'ok', audit: 'ok', docker: { local: 'unreachable' }, breakersOpen: 0, safeMode: false }]);
    g.rt.db.close();
    const failing = await request(g.url, '/healthz');
    expect([failing.status, failing.json()]).toMatchObject([503, { status: 'failing', db: 'failed' }]);
  });

  it('/metrics needs a token of a role other than alerts, and counts calls by tool, decision and outcome', async () => {
    const g = await gateway();
    expect((await request(g.url, '/metrics')).status).toBe(401);
    expect((await request(g.url, '/metrics', { token: g.token('grafana', 'alerts') })).status).toBe(403);
    const viewer = g.token('viewer', 'readonly');
    const c = await connectHttp(g.url, viewer, '2026-07-28');
    await c.client.callTool({ name: 'list_containers', arguments: {} });
    await c.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    await c.close();
    const text = (await request(g.url, '/metrics', { token: viewer })).body;
    expect(text).toContain('warden_tool_calls_total{tool="list_containers",decision="allow",outcome="completed"} 1');
    expect(text).toContain('warden_tool_calls_total{tool="restart_container",decision="deny",outcome="denied"} 1');
    expect(text).toMatch(/warden_tool_call_duration_seconds_count\{tool="list_containers"\} 1/);
    expect(text).toContain('warden_approvals_pending 0');
    expect(text).toMatch(/warden_http_requests_total\{route="\/mcp",status="200"\} \d+/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('serves /metrics without a token when server.metricsPublic is set', async () => {
    const g = await gateway({ metricsPublic: true });
    expect((await request(g.url, '/metrics')).status).toBe(200);
  });
});
