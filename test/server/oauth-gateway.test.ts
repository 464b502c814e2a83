// /mcp as an OAuth resource server, end to end on loopback: a real authorization server
// (oidc-provider) issues JWT access tokens for warden's resource indicator, and the MCP SDK
// client gets one by itself (401 -> protected resource metadata -> AS metadata -> client_credentials)
// before it lists and calls tools. warden tokens keep working beside it.
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { connectHttp, INITIALIZE, request, useGateways } from '../support/http-gateway.js';
import { CLIENTS } from '../support/oauth-provider.js';
import { useOAuthWorlds, type OAuthWorld as World } from '../support/oauth-world.js';

const gateway = useGateways();
const { world, started } = useOAuthWorlds(gateway);

/** The v2 SDK client with nothing but client credentials: it finds the authorization server itself. */
async function connectOAuth(w: World, clientId: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport; close(): Promise<void> }> {
  const c = CLIENTS.find((x) => x.id === clientId)!;
  const authProvider = new ClientCredentialsProvider({ clientId: c.id, clientSecret: c.secret, expectedIssuer: w.as.issuer });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', w.g.url), { authProvider });
  const client = new Client({ name: 'warden-oauth-test', version: '1' });
  await client.connect(transport);
  return {
    client,
    transport,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

const TOOLS_LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

describe('OAuth on /mcp', () => {
  it('lets the SDK client find the issuer, get a token by client_credentials, list and call tools; the audit names the mapped principal', async () => {
    const w = await world();
    const c = await connectOAuth(w, 'ops-bot');
    const tools = await c.client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('list_containers');
    const result = await c.client.callTool({ name: 'list_containers', arguments: {} });
    expect(result.isError).toBeFalsy();
    await c.close();
    const calls = w.g.rt.audit.list().filter((e) => e.tool === 'list_containers');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((e) => e.principal === 'oauth:ops-bot' && e.transport === 'http')).toBe(true);
  });

  it('maps scopes and claims to roles: viewer (warden:read) is readonly and denied a restart; sre-bot (warden:read, groups sre) is admin and is not', async () => {
    const w = await world();
    for (const client of ['viewer', 'sre-bot']) {
      const c = await connectHttp(w.g.url, await w.as.token(client, w.resource, 'warden:read'));
      await c.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
      await c.close();
    }
    const decisions = w.g.rt.audit.list().filter((e) => e.tool === 'restart_container' && e.decision).map((e) => [e.principal, e.decision]);
    expect(decisions[0]).toEqual(['oauth:viewer', 'deny']);
    expect(decisions.filter(([p]) => p === 'oauth:sre-bot').every(([, d]) => d !== 'deny')).toBe(true);
    expect(decisions.some(([p]) => p === 'oauth:sre-bot')).toBe(true);
  });

  it('serves the protected resource metadata (RFC 9728) at the root and the path-suffixed well-known URL, without resource_signing_alg_values_supported', async () => {
    const w = await world();
    // No resource_signing_alg_values_supported: it names algs warden would sign its responses with, and it signs none.
    const expected = {
      resource: w.resource,
      authorization_servers: [w.as.issuer],
      scopes_supported: ['warden:read', 'warden:operator', 'warden:admin'],
      bearer_methods_supported: ['header'],
      resource_name: 'warden',
    };
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await request(w.g.url, path);
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/json']);
      expect(res.json()).toEqual(expected);
    }
  });

  it('serves the path-suffixed metadata only at the resource\'s own path (RFC 9728 3.3: a client drops a document for another resource)', async () => {
    const w = await world({ resourceOf: (port) => `http://127.0.0.1:${port}/ops/mcp` });
    const status = async (path: string) => (await request(w.g.url, path)).status;
    expect(await status('/.well-known/oauth-protected-resource/ops/mcp')).toBe(200);
    expect((await request(w.g.url, '/.well-known/oauth-protected-resource/ops/mcp')).json().resource).toBe(w.resource);
    for (const other of ['/mcp', '/ops/mcp/', '/OPS/mcp', '/ops', '/ops/mcp/x']) expect([other, await status(`/.well-known/oauth-protected-resource${other}`)]).toEqual([other, 404]);
  });

  it('refuses to start with a resource no client could send back (a trailing slash), naming server.oauth.resource', async () => {
    await expect(world({ resourceOf: (port) => `http://127.0.0.1:${port}/mcp/` })).rejects.toThrow(/server\.oauth\.resource: no trailing slash/);
  });

  it('has no metadata document when server.oauth is not set (404), and /mcp challenges as before', async () => {
    const g = await gateway();
    expect((await request(g.url, '/.well-known/oauth-protected-resource')).status).toBe(404);
    expect((await request(g.url, '/.well-known/oauth-protected-resource/mcp')).status).toBe(404);
    expect((await request(g.url, '/mcp', { body: INITIALIZE })).headers.get('www-authenticate')).toBe('Bearer realm="warden"');
  });

  it('answers /mcp without a token with 401 and a challenge naming the metadata URL and the scopes', async () => {
    const w = await world();
    const res = await request(w.g.url, '/mcp', { body: INITIALIZE });
    expect(res.status).toBe(401);
    const port = new URL(w.resource).port;
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer realm="warden", resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp", scope="warden:read warden:operator warden:admin"`,
    );
  });

  it('keeps warden tokens working beside OAuth, with their own refusals', async () => {
    const w = await world();
    const c = await connectHttp(w.g.url, w.g.token('cli', 'operator'));
    expect((await c.client.listTools()).tools.length).toBeGreaterThan(0);
    await c.close();
    const bad = await request(w.g.url, '/mcp', { body: INITIALIZE, token: `wdn_${'x'.repeat(43)}` });
    expect([bad.status, bad.json().reason]).toEqual([401, 'unknown token']);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer realm="warden", resource_metadata="[^"]+", error="invalid_token", error_description="unknown token"$/);
  });

  it('binds a 2025-11-25 session to its OAuth user: a refreshed token of the same user reaches it, another user\'s does not', async () => {
    const w = await world();
    const c = await connectOAuth(w, 'ops-bot');
    const sessionId = c.transport.sessionId!;
    const onSession = (token: string) => request(w.g.url, '/mcp', {
      token, body: TOOLS_LIST, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
    });
    expect((await onSession(await w.as.token('ops-bot', w.resource, 'warden:operator'))).status).toBe(200);
    expect((await onSession(await w.as.token('sre-bot', w.resource, 'warden:read'))).status).toBe(404);
    expect((await onSession(w.g.token('ops-bot', 'operator'))).status).toBe(404);
    await c.close();
  });

  it('limits an OAuth caller per principal: ops-bot over its burst gets 429, sre-bot does not', async () => {
    const w = await world({ server: { rateLimit: { perMinute: 1, burst: 2 } } });
    const ops = await w.as.token('ops-bot', w.resource, 'warden:operator');
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await request(w.g.url, '/mcp', { token: ops, body: INITIALIZE })).status);
    expect(statuses).toEqual([200, 200, 429]);
    const sre = await w.as.token('sre-bot', w.resource, 'warden:read');
    expect((await request(w.g.url, '/mcp', { token: sre, body: INITIALIZE })).status).toBe(200);
    const limited = w.g.rt.audit.list().filter((e) => e.tool === 'http.auth');
    expect(limited.map((e) => e.principal)).toEqual(['oauth:ops-bot']);
  });
});

describe('an issuer whose JWKS endpoint hangs', () => {
  it('answers the OAuth caller 503 once the fetch deadline passes, and answers warden tokens meanwhile', async () => {
    const hung: Server = createServer(() => { /* never answers */ });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    started.push({ close: () => new Promise<void>((r) => { hung.closeAllConnections(); hung.close(() => r()); }) });
    const jwksUri = `http://127.0.0.1:${(hung.address() as { port: number }).port}/jwks`;
    // Long enough that the fetch warden starts at start-up is still in flight when the OAuth call joins it, even on a loaded machine.
    const w = await world({ extra: [`jwksUri: ${jwksUri}`, 'fetchTimeoutMs: 3000'] });
    const token = await w.as.token('ops-bot', w.resource, 'warden:operator');
    const order: string[] = [];
    const oauthCall = request(w.g.url, '/mcp', { token, body: INITIALIZE }).then((r) => {
      order.push('oauth');
      return r;
    });
    const c = await connectHttp(w.g.url, w.g.token('cli', 'operator'));
    await c.client.listTools();
    order.push('warden token');
    await c.close();
    const res = await oauthCall;
    expect(order).toEqual(['warden token', 'oauth']);
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '5']);
    expect(res.json().reason).toMatch(/signing keys cannot be fetched/);
    // Audited like a 401: an outage, and who knocked during it, show in the audit; the token does not.
    const refused = w.g.rt.audit.list().filter((e) => e.tool === 'http.auth');
    expect(refused.map((e) => [e.principal, JSON.parse(e.args).status, e.result])).toEqual([['anonymous', 503, res.json().reason]]);
    expect(JSON.stringify(w.g.rt.audit.list())).not.toContain(token.split('.')[2]);
  });
});
