// Refused requests on every route but /healthz are audited, over real HTTP on loopback: who
// (the token's principal when known), which route and status, from where; a flood becomes two
// entries; and the token itself is in no row and nowhere in the database file.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { dbPath } from '../../src/store/db.js';
import { TokenStore } from '../../src/store/tokens.js';
import { connectHttp, INITIALIZE, request, useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();

const refusals = (g: TestGateway) => g.rt.audit.list().filter((e) => e.tool === 'http.auth');
const argsOf = (e: { args: string }) => JSON.parse(e.args) as Record<string, unknown>;
const unknownToken = (): string => `wdn_${randomBytes(32).toString('base64url')}`;

/** node:http, because fetch will not send a Host header of our choosing. */
function withHost(url: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('401, 403 and 429 on every route but /healthz are audited', () => {
  it('audits a request without a token and one with an unknown token as anonymous 401s, and an expired token under its principal', async () => {
    const g = await gateway();
    expect((await request(g.url, '/mcp', { body: INITIALIZE })).status).toBe(401);
    expect((await request(g.url, '/approvals', { token: unknownToken() })).status).toBe(401);
    const expired = g.token('old', 'operator', 1);
    await new Promise((r) => setTimeout(r, 5));
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: expired })).status).toBe(401);
    const entries = refusals(g);
    expect(entries.map((e) => [e.principal, e.target, argsOf(e).status, e.result])).toEqual([
      ['anonymous', '/mcp', 401, expect.stringMatching(/^missing bearer token/)],
      ['anonymous', '/approvals', 401, 'unknown token'],
      ['old', '/mcp', 401, 'token expired'],
    ]);
    expect(entries[0]).toMatchObject({ transport: 'http', phase: 'denied', errorKind: 'denied', decision: 'deny' });
    expect(argsOf(entries[0]!)).toEqual({ route: '/mcp', method: 'POST', status: 401, remote: '127.0.0.1' });
  });

  it('audits a role that may not use the route as a 403 under the token principal', async () => {
    const g = await gateway();
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: g.token('grafana', 'alerts') })).status).toBe(403);
    expect((await request(g.url, '/approvals', { token: g.token('viewer', 'readonly') })).status).toBe(403);
    expect(refusals(g).map((e) => [e.principal, e.target, argsOf(e).status, e.result])).toEqual([
      ['grafana', '/mcp', 403, 'role alerts may not use /mcp'],
      ['viewer', '/approvals', 403, 'role readonly may not use /approvals'],
    ]);
  });

  it('audits refusals on the alert intake and /metrics too: a wrong token on /alerts, a role that may not read /metrics', async () => {
    const g = await gateway();
    expect((await request(g.url, '/alerts/generic', { body: { summary: 'x' }, token: unknownToken() })).status).toBe(401);
    expect((await request(g.url, '/metrics', { token: g.token('grafana', 'alerts') })).status).toBe(403);
    expect(refusals(g).map((e) => [e.principal, e.target, argsOf(e).status])).toEqual([
      ['anonymous', '/alerts/generic', 401],
      ['grafana', '/metrics', 403],
    ]);
  });

  it('audits a principal over its rate limit (429), grouped like any refusal', async () => {
    const g = await gateway({ rateLimit: { perMinute: 1, burst: 1 } });
    const token = g.token('busy', 'operator');
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await request(g.url, '/approvals', { token })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(3);
    expect(refusals(g).filter((e) => argsOf(e).status === 429).map((e) => [e.principal, e.target])).toEqual([['busy', '/approvals']]);
  });

  it('audits a foreign Host on /mcp, and not on /healthz', async () => {
    const g = await gateway();
    expect(await withHost(g.url, '/mcp', `evil.example:${g.daemon.port}`)).toBe(403);
    expect(await withHost(g.url, '/healthz', `evil.example:${g.daemon.port}`)).toBe(403);
    expect(refusals(g).map((e) => [e.principal, e.target, argsOf(e).method, e.result])).toEqual([
      ['anonymous', '/mcp', 'GET', expect.stringMatching(/^Invalid Host: evil\.example; /)],
    ]);
  });

  it('audits a readonly token deciding an approval once, and leaves a refusal by the decider to the decider', async () => {
    const g = await gateway.custom({ policy: 'rules: [{ tool: restart_container, decision: approve }]' });
    const operator = g.token('olivia', 'operator');
    const c = await connectHttp(g.url, operator, '2026-07-28');
    const held = await c.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    await c.close();
    const id = ((held as CallToolResult)._meta?.['warden/failure'] as { approvalId: string }).approvalId;
    const before = g.rt.audit.list().length;

    expect((await request(g.url, `/approvals/${id}/approve`, { token: g.token('viewer', 'readonly'), method: 'POST' })).status).toBe(403);
    // The token's own tokens.create entry, then the refusal: nothing from the decider, which never saw it.
    const added = g.rt.audit.list().slice(before);
    expect(added.map((e) => [e.tool, e.principal, e.target])).toEqual([['tokens.create', 'test', 'viewer'], ['http.auth', 'viewer', '/approvals/:id/approve']]);

    // Past the role check, the decider refuses and audits (own request): no http.auth entry besides.
    const mark = g.rt.audit.list().length;
    expect((await request(g.url, `/approvals/${id}/approve`, { token: operator, method: 'POST' })).status).toBe(403);
    expect(g.rt.audit.list().slice(mark).map((e) => [e.tool, e.principal, e.phase])).toEqual([['restart_container', 'olivia', 'denied']]);
    expect(g.rt.approvals.get(id)?.status).toBe('pending');
  });

  it('turns 50 requests with a wrong token from one address into two entries, and never stores the token', async () => {
    const g = await gateway();
    const wrong = unknownToken();
    const statuses = new Set<number>();
    for (let i = 0; i < 50; i += 1) statuses.add((await request(g.url, '/mcp', { body: INITIALIZE, token: wrong })).status);
    expect([...statuses]).toEqual([401]);
    expect(refusals(g)).toHaveLength(1);
    // A forbidden but valid token is not stored either.
    const alerts = g.token('grafana', 'alerts');
    expect((await request(g.url, '/mcp', { body: INITIALIZE, token: alerts })).status).toBe(403);

    await g.daemon.close();
    const entries = refusals(g);
    expect(entries).toHaveLength(3);
    const flood = entries.filter((e) => e.principal === 'anonymous');
    expect(flood.map((e) => e.result)).toEqual(['unknown token', expect.stringMatching(/^49 more refusals like this since \d{4}-.*Z; the last: unknown token$/)]);
    expect(argsOf(flood[1]!)).toMatchObject({ route: '/mcp', status: 401, remote: '127.0.0.1', count: 49 });

    for (const token of [wrong, alerts]) {
      const secret = token.slice(4);
      const rows = g.rt.db.prepare('SELECT * FROM audit').all();
      expect(JSON.stringify(rows)).not.toContain(secret);
      for (const file of [dbPath(g.rt.config.dataDir), `${dbPath(g.rt.config.dataDir)}-wal`]) {
        if (existsSync(file)) expect(readFileSync(file).includes(secret)).toBe(false);
      }
    }
    expect(new TokenStore(g.rt.db).ofPrincipal('grafana')).toHaveLength(1);
  });
});
