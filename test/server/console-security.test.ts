// The operator console's security promises beyond sign-in (docs/console.md): live streams end with
// their session, one token cannot push others out, viewers are held to their principal's rate,
// every console response carries the headers, refusals are audited, and the TLS cookie is __Host-.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import { revokeToken } from '../../src/server/auth.js';
import { TokenStore } from '../../src/store/tokens.js';
import { ConsoleSessions, MAX_SESSIONS_PER_TOKEN, SessionsFull } from '../../src/server/console/console-sessions.js';
import { consoleClient, signIn } from '../support/console-client.js';
import { useGateways } from '../support/http-gateway.js';
import { selfSignedCert } from '../support/tls.js';

const gateway = useGateways();

/** Opens /console/events with a session cookie; `next()` resolves with the next chunk, or null when the stream ended (or `ms` passed: 'timeout'). */
async function openStream(url: string, cookie: string) {
  const ac = new AbortController();
  const res = await fetch(new URL('/console/events', url), { headers: { cookie: `warden_session=${cookie}`, accept: 'text/event-stream' }, signal: ac.signal });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let pending: ReturnType<typeof reader.read> | undefined;
  return {
    status: res.status,
    async next(ms: number): Promise<string | null | 'timeout'> {
      pending ??= reader.read();
      let t: NodeJS.Timeout | undefined;
      const r = await Promise.race([pending, new Promise<'timeout'>((res) => { t = setTimeout(() => res('timeout'), ms); })]).finally(() => clearTimeout(t));
      if (r === 'timeout') return r;
      pending = undefined;
      return r.done ? null : dec.decode(r.value);
    },
    /** Everything until the stream ends or `ms` pass. */
    async collect(ms: number): Promise<{ text: string; ended: boolean }> {
      const end = Date.now() + ms;
      let text = '';
      for (;;) {
        const left = end - Date.now();
        if (left <= 0) return { text, ended: false };
        const chunk = await this.next(left);
        if (chunk === null) return { text, ended: true };
        if (chunk === 'timeout') return { text, ended: false };
        text += chunk;
      }
    },
    close: () => ac.abort(),
  };
}

describe('console sessions vs the live stream', () => {
  it('a revoked token\'s open live stream is ended, not fed with changes', async () => {
    const g = await gateway();
    const tokens = new TokenStore(g.rt.db);
    const { client } = await signIn(g.url, g.token('bob', 'readonly'));
    const stream = await openStream(g.url, client.cookie()!);
    expect(stream.status).toBe(200);
    expect(await stream.next(3_000)).toMatch(/event: hello/);
    // Revoking writes an audit entry (tokens.revoke): the poller sees it within a second.
    revokeToken({ tokens, audit: g.rt.audit }, { principal: 'bob' }, 'test');
    expect((await client.get('/console/incidents')).status).toBe(303); // pages: session over
    const after = await stream.collect(3_500);
    stream.close();
    // The session is over, so its stream must be too: closed at the next look, never fed another change.
    expect(after.text).not.toContain('event: changed');
    expect(after.ended).toBe(true);
  });

  it('signing out ends the session\'s open live streams', async () => {
    const g = await gateway();
    const { client } = await signIn(g.url, g.token('carol', 'operator'));
    await client.get('/console/incidents');
    const stream = await openStream(g.url, client.cookie()!);
    expect(await stream.next(3_000)).toMatch(/event: hello/);
    expect((await client.post('/console/logout', {})).status).toBe(303); // audited: console.logout
    const after = await stream.collect(3_500);
    stream.close();
    expect(after.text).not.toContain('event: changed');
    expect(after.ended).toBe(true);
  });
});

describe('console session cap', () => {
  it('one principal signing in over and over pushes out only its own oldest sessions, never an admin\'s', async () => {
    const g = await gateway({ rateLimit: { perMinute: 1_000_000, burst: 1_000_000 } });
    const admin = await signIn(g.url, g.token('ada', 'admin'));
    expect((await admin.client.get('/console/admin')).status).toBe(200);
    const mallory = g.token('mallory', 'readonly');
    const first = await signIn(g.url, mallory);
    for (let i = 0; i < MAX_SESSIONS_PER_TOKEN + 4; i++) expect((await signIn(g.url, mallory)).res.status).toBe(303);
    expect((await admin.client.get('/console/admin')).status).toBe(200);
    expect((await first.client.get('/console/incidents')).status).toBe(303);
  });

  it('when every slot is taken by live sessions, a new session is refused (SessionsFull: sign-in answers it 429), none is evicted', () => {
    const tokens = { byId: (id: number) => ({ id, name: `p${id}`, role: 'readonly', createdAt: '2026-01-01T00:00:00Z', expiresAt: null, revokedAt: null, lastUsedAt: null }) };
    const sessions = new ConsoleSessions(tokens as never, 3_600_000);
    const made = Array.from({ length: 1_000 }, (_, i) => sessions.create({ id: i, name: `p${i}`, role: 'readonly' }));
    expect(() => sessions.create({ id: 5_000, name: 'late', role: 'admin' })).toThrow(SessionsFull);
    expect(made.every((s) => sessions.alive(s.id))).toBe(true);
  });
});

describe('console and the gateway rate limit', () => {
  it('a signed-in viewer is held to its principal\'s rate, as its bearer token is', async () => {
    const g = await gateway({ rateLimit: { perMinute: 60, burst: 5 } });
    const token = g.token('rita', 'readonly');
    // Bearer: past the burst, 429.
    const bearer: number[] = [];
    for (let i = 0; i < 10; i++) bearer.push((await fetch(new URL('/metrics', g.url), { headers: { authorization: `Bearer ${token}` } })).status);
    expect(bearer).toContain(429);
    // The same principal through the console: never limited.
    const { client } = await signIn(g.url, token);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await client.get('/console/audit')).status);
    for (let i = 0; i < 10; i++) statuses.push((await client.post('/console/audit/verify', {})).status);
    expect(statuses).toContain(429);
  });
});

describe('console response headers', () => {
  it('the / and /console redirects carry the console\'s CSP, no-store and framing headers too', async () => {
    const g = await gateway();
    for (const path of ['/', '/console']) {
      const res = await fetch(new URL(path, g.url), { redirect: 'manual' });
      expect(res.status, path).toBe(302);
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
  });
});

describe('console refusals are audited', () => {
  it('a POST to a console action with no session is refused and audited (http.auth, target /console)', async () => {
    const g = await gateway();
    const anon = consoleClient(g.url);
    const res = await anon.post('/console/admin/killswitch/on', { reason: 'x', _csrf: 'guess' });
    expect(res.status).toBe(401);
    expect(g.rt.killSwitch.isOn()).toBe(false);
    // http.ts: "A 401, 403, 429 ... on any route but /healthz is audited".
    const refusals = g.rt.audit.list({ limit: 50 }).filter((e) => e.tool === 'http.auth' && e.target === '/console');
    expect(refusals.length).toBeGreaterThan(0);
  });
});

function tlsRequest(url: string, ca: Buffer, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => { body += b.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('console under server.tls', () => {
  it('sets __Host-warden_session (Secure, Path=/, no Domain) and a Secure sign-in cookie, and the session works', async () => {
    const tls = selfSignedCert();
    const g = await gateway({ tls });
    const ca = readFileSync(tls.certPath);
    const form = await tlsRequest(`${g.url}/console/login`, ca);
    const loginCookie = (form.headers['set-cookie'] as string[]).find((l) => l.startsWith('warden_login='))!;
    expect(loginCookie).toMatch(/;\s*Secure/i);
    const nonce = /name="_login" value="([^"]+)"/.exec(form.body)![1]!;
    const res = await tlsRequest(`${g.url}/console/login`, ca, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `warden_login=${nonce}`, origin: g.url, 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ _login: nonce, token: g.token('tess', 'operator'), next: '/console/admin' }).toString(),
    });
    expect(res.status).toBe(303);
    const set = (res.headers['set-cookie'] as string[]).find((l) => l.startsWith('__Host-warden_session='))!;
    expect(set).toBeDefined();
    expect(set).toMatch(/;\s*Secure/i);
    expect(set).toMatch(/;\s*Path=\//);
    expect(set).toMatch(/HttpOnly/);
    expect(set).not.toMatch(/Domain=/i);
    const id = /^__Host-warden_session=([^;]+)/.exec(set)![1]!;
    const page = await tlsRequest(`${g.url}/console/admin`, ca, { headers: { cookie: `__Host-warden_session=${id}`, accept: 'text/html' } });
    expect(page.status).toBe(200);
    // The plain name is not honoured under TLS (a sibling origin could have set it).
    const plain = await tlsRequest(`${g.url}/console/admin`, ca, { headers: { cookie: `warden_session=${id}`, accept: 'text/html' } });
    expect(plain.status).toBe(303);
  });
});

describe('every console change needs the session\'s CSRF token', () => {
  // Every POST route the console mounts (grep app.post in src/server/console): refused without the
  // token, with a wrong one, and cross-site, for an admin who could otherwise make each change.
  const ROUTES = [
    '/console/admin/killswitch/on', '/console/admin/killswitch/off', '/console/admin/loop/pause', '/console/admin/loop/resume',
    '/console/admin/tokens/1/revoke', '/console/approvals/apr_x/decide', '/console/audit/verify', '/console/incidents/inc_x/validate', '/console/logout',
  ];
  it('refuses each without the token, with a wrong one and from another site; nothing changes', async () => {
    const g = await gateway();
    const { client } = await signIn(g.url, g.token('ada', 'admin'));
    await client.get('/console/admin');
    const before = g.rt.audit.list({ limit: 1_000 }).filter((e) => e.tool !== 'http.auth').length;
    for (const route of ROUTES) {
      const form = { reason: 'x', verdict: 'approved', note: 'x' };
      expect((await client.post(route, { ...form, _csrf: '' })).status, route).toBe(403);
      expect((await client.post(route, { ...form, _csrf: 'A'.repeat(43) })).status, route).toBe(403);
      expect((await client.post(route, form, { 'sec-fetch-site': 'cross-site' })).status, route).toBe(403);
    }
    expect(g.rt.killSwitch.isOn()).toBe(false);
    expect(g.rt.safeMode.isOn()).toBe(false);
    expect(g.rt.audit.list({ limit: 1_000 }).filter((e) => e.tool !== 'http.auth')).toHaveLength(before);
    expect((await client.get('/console/admin')).status).toBe(200);
  });

  it('answers a form over 64 KiB with 413, and decides nothing', async () => {
    const g = await gateway();
    const { client } = await signIn(g.url, g.token('ada', 'admin'));
    await client.get('/console/admin');
    const res = await client.post('/console/admin/killswitch/on', { reason: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(413);
    expect(g.rt.killSwitch.isOn()).toBe(false);
  });

  it('holds sign-in attempts from one address to the rate, refused 429 and audited', async () => {
    const g = await gateway({ rateLimit: { perMinute: 60, burst: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn(g.url, 'wdn_notarealtoken')).res.status);
    expect(statuses).toContain(429);
    expect(g.rt.audit.list({ limit: 100 }).some((e) => e.tool === 'http.auth' && e.target === '/console' && /too many sign-in attempts/.test(e.result ?? ''))).toBe(true);
  });

  it('shows no decision outcome a ?decided= query claims, and answers an unknown approval\'s fragment 404', async () => {
    const g = await gateway();
    const { client } = await signIn(g.url, g.token('ada', 'operator'));
    const a = g.rt.approvals.create({ principal: 'bob', tool: 'restart_container', target: 'local/web', args: '{"container":"web"}', argsHash: 'h', risk: 'low', rule: 'r', reason: 'held', ttlMs: 600_000 });
    const page = await client.get(`/console/approvals/${a.id}?decided=approved`);
    expect(page.status).toBe(200);
    expect(page.body).not.toMatch(/Approved by you/);
    expect((await client.get('/console/approvals/apr_nope/fragment')).status).toBe(404);
  });
});
