// Signing in to the operator console: a token becomes a session cookie (HttpOnly, SameSite=Strict),
// sign-ins and sign-outs are audited, refusals too; the session ends with its token; every page has
// a strict CSP; changes need the CSRF token and the same origin.
import { describe, expect, it } from 'vitest';
import { revokeToken } from '../../src/server/auth.js';
import { TokenStore } from '../../src/store/tokens.js';
import { consoleClient, signIn } from '../support/console-client.js';
import { useGateways } from '../support/http-gateway.js';

const gateway = useGateways();

describe('console sign-in', () => {
  it('exchanges an operator token for an HttpOnly, SameSite=Strict session cookie and audits it', async () => {
    const g = await gateway();
    const token = g.token('alice', 'operator');
    const { client, res } = await signIn(g.url, token);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/incidents');
    const set = res.headers.getSetCookie().find((l) => l.startsWith('warden_session='))!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Path=\//);
    expect(set).not.toContain(token);
    const page = await client.get('/console/incidents');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<span id="whoami">alice <span class="role">operator<\/span>/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]/);
    const entry = g.rt.audit.list({ limit: 50 }).find((e) => e.tool === 'console.login')!;
    expect(entry).toMatchObject({ principal: 'alice', phase: 'completed' });
    expect(JSON.stringify(entry)).not.toContain(token);
  });

  it('sends an unsigned visitor to the form and keeps where they were going, inside the console only', async () => {
    const g = await gateway();
    const client = consoleClient(g.url);
    const res = await client.get('/console/audit?tool=x');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/login?next=${encodeURIComponent('/console/audit?tool=x')}`);
    expect((await client.get('/')).headers.get('location')).toBe('/console/incidents');
    for (const next of ['https://evil.example/', '//evil.example/console/x', '/\\evil.example', '/console/../mcp', '/console/%2e%2e/mcp', '/console/login', 'javascript:alert(1)']) {
      const form = await client.get(`/console/login?next=${encodeURIComponent(next)}`);
      expect(form.body).toContain('name="next" value="/console/incidents"');
    }
    expect((await client.get('/console/events', { accept: 'text/event-stream' })).status).toBe(401);
  });

  it('refuses a bad token, an alerts token and a revoked one, each audited without the token', async () => {
    const g = await gateway();
    const alerts = g.token('am', 'alerts');
    expect((await signIn(g.url, 'wdn_notarealtoken')).res.status).toBe(401);
    expect((await signIn(g.url, alerts)).res.status).toBe(403);
    expect((await signIn(g.url, 'not even a token <script>')).res.status).toBe(401);
    const refusals = g.rt.audit.list({ limit: 50 }).filter((e) => e.tool === 'http.auth' && e.target === '/console');
    expect(refusals.map((e) => e.principal).sort()).toEqual(['am', 'anonymous']);
    expect(JSON.stringify(refusals)).not.toContain(alerts);
  });

  it('ends the session when its token is revoked, and on sign-out (audited)', async () => {
    const g = await gateway();
    const tokens = new TokenStore(g.rt.db);
    const { client } = await signIn(g.url, g.token('bob', 'readonly'));
    expect((await client.get('/console/incidents')).status).toBe(200);
    const other = await signIn(g.url, g.token('carol', 'admin'));
    await other.client.get('/console/incidents');
    expect((await other.client.post('/console/logout', {})).status).toBe(303);
    expect((await other.client.get('/console/incidents')).status).toBe(303);
    expect(g.rt.audit.list({ limit: 50 }).some((e) => e.tool === 'console.logout' && e.principal === 'carol')).toBe(true);
    revokeToken({ tokens, audit: g.rt.audit }, { principal: 'bob' }, 'test');
    expect((await client.get('/console/incidents')).status).toBe(303);
  });

  it('refuses a sign-out without the CSRF token or from another origin', async () => {
    const g = await gateway();
    const { client } = await signIn(g.url, g.token('dave', 'operator'));
    await client.get('/console/incidents');
    expect((await client.post('/console/logout', { _csrf: '' })).status).toBe(403);
    expect((await client.post('/console/logout', { _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await client.post('/console/logout', {}, { origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await client.post('/console/logout', {}, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await client.post('/console/logout', {}, { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await client.post('/console/logout', {}, { origin: 'null' })).status).toBe(403);
    expect((await client.get('/console/incidents')).status).toBe(200);
  });

  it('refuses a sign-in form posted from another site (login CSRF) and one without its pre-session cookie', async () => {
    const g = await gateway();
    const token = g.token('erin', 'operator');
    const bare = await fetch(new URL('/console/login', g.url), {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, _login: 'x' }).toString(),
    });
    expect(bare.status).toBe(403);
    expect(bare.headers.getSetCookie().some((l) => l.startsWith('warden_session='))).toBe(false);
  });

  it('serves its scripts and stylesheet itself, and nothing else by name', async () => {
    const g = await gateway();
    for (const name of ['htmx.min.js', 'sse.min.js', 'console.js', 'console.css', 'favicon.svg']) {
      const res = await fetch(new URL(`/console/assets/${name}`, g.url));
      expect(res.status, name).toBe(200);
      expect(res.headers.get('etag')).toMatch(/^"/);
    }
    for (const name of ['..%2Fpackage.json', 'constructor', '__proto__', 'toString', '%2e%2e%2fconsole.css']) {
      expect((await fetch(new URL(`/console/assets/${name}`, g.url))).status, name).toBe(404);
    }
  });

  it('can be switched off: server.console.enabled false leaves / and /console unanswered', async () => {
    const g = await gateway({ console: { enabled: false, sessionHours: 12 } });
    expect((await fetch(new URL('/console/login', g.url))).status).toBe(404);
  });
});
