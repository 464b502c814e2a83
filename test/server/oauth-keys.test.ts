// The issuer's keys, against a key server of our own on loopback: rotation (a new kid is fetched,
// a retired one refused); neither unknown kids nor a failing or hanging key server can make warden
// hammer the issuer; discovery follows RFC 8414 as the MCP SDK does, refuses metadata naming
// another issuer or an http:// key set off loopback, and reads no answer past its cap; hostile
// answers (redirects, bodies that are not JSON or not a key set) are 503s, never followed or trusted.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { issuerKeys, metadataUrls } from '../../src/adapters/oauth-keys.js';
import { createOAuthVerifier } from '../../src/server/oauth.js';
import { OAuthConfig, resourceMetadataUrl } from '../../src/server/oauth-config.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });
});

/** A tiny authorization server: whatever `routes` answers (a number is a bare status; 'huge' streams 1 MiB; a function writes the response itself), counted per path. */
async function keyServer(routes: (path: string, base: string) => unknown): Promise<{ base: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  let base = '';
  const server = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    const body = routes(req.url!, base);
    if (body === 'hang') return;
    if (typeof body === 'function') return void (body as (res: ServerResponse) => void)(res);
    if (body === 'huge') {
      // Chunked, no content-length: the cap must hold while reading, not only on a declared length.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[{"pad":"');
      for (let i = 0; i < 64; i += 1) res.write('x'.repeat(16_384));
      return void res.end('"}]}');
    }
    if (body === undefined) res.writeHead(404).end();
    else if (typeof body === 'number') res.writeHead(body).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { base, hits };
}

async function signingKey(kid: string): Promise<{ kid: string; privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const RESOURCE = 'https://warden.example/mcp';
const config = (issuer: string, extra: Record<string, unknown> = {}): OAuthConfig =>
  OAuthConfig.parse({ issuer, resource: RESOURCE, roles: [{ scope: 'warden:operator', role: 'operator' }], ...extra });

function mint(issuer: string, key: { kid: string; privateKey: CryptoKey }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: issuer, aud: RESOURCE, sub: 'ops-bot', exp: now + 300, scope: 'warden:operator' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }).sign(key.privateKey);
}

describe('signing keys', () => {
  it('follows a rotation: the new kid passes once the set is refetched; the retired kid, gone from the refetched set, is refused', async () => {
    const [a, b] = [await signingKey('a'), await signingKey('b')];
    let published = [a.jwk];
    const srv = await keyServer((path) => (path === '/jwks' ? { keys: published } : undefined));
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    const verifier = createOAuthVerifier(cfg, issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 2_000, cooldownMs: 0 }));
    expect((await verifier.check(await mint(srv.base, a))).ok).toBe(true);
    published = [b.jwk];
    expect((await verifier.check(await mint(srv.base, b))).ok).toBe(true);
    expect(await verifier.check(await mint(srv.base, a))).toEqual({ ok: false, status: 401, reason: 'token signed with a key the issuer does not publish (kid unknown)' });
    // One fetch at first, one for the unknown b, one more for a (not in the cached set any more).
    expect(srv.hits.get('/jwks')).toBe(3);
  });

  it('fetches at most once per cooldown however many unknown kids arrive', async () => {
    const a = await signingKey('a');
    const srv = await keyServer((path) => (path === '/jwks' ? { keys: [a.jwk] } : undefined));
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    const verifier = createOAuthVerifier(cfg, issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 2_000 }));
    expect((await verifier.check(await mint(srv.base, a))).ok).toBe(true);
    const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => signingKey(`stranger-${i}`)));
    const results = await Promise.all(strangers.map(async (k) => verifier.check(await mint(srv.base, k))));
    expect(results.every((r) => !r.ok && r.status === 401)).toBe(true);
    expect(srv.hits.get('/jwks')).toBe(1);
  });

  it('discovers jwks_uri from the issuer\'s metadata (RFC 8414 first, OpenID after), and uses it', async () => {
    const a = await signingKey('a');
    const srv = await keyServer((path, base) => {
      if (path === '/.well-known/openid-configuration/tenant') return undefined;
      if (path === '/tenant/.well-known/openid-configuration') return { issuer: `${base}/tenant`, jwks_uri: `${base}/keys` };
      if (path === '/keys') return { keys: [a.jwk] };
      return undefined;
    });
    const issuer = `${srv.base}/tenant`;
    const verifier = createOAuthVerifier(config(issuer), issuerKeys({ issuer, timeoutMs: 2_000 }));
    expect((await verifier.check(await mint(issuer, a))).ok).toBe(true);
    expect([...srv.hits.keys()]).toEqual([
      '/.well-known/oauth-authorization-server/tenant', '/.well-known/openid-configuration/tenant', '/tenant/.well-known/openid-configuration', '/keys',
    ]);
  });

  it('refuses metadata that names another issuer, answering 503, and does not ask again for 10 s', async () => {
    const srv = await keyServer((path) => (path === '/.well-known/oauth-authorization-server' ? { issuer: 'https://evil.example', jwks_uri: 'https://evil.example/jwks' } : undefined));
    const keys = issuerKeys({ issuer: srv.base, timeoutMs: 2_000 });
    expect(await keys.warm()).toMatch(/names issuer "https:\/\/evil.example", not http:\/\/127.0.0.1/);
    const verifier = createOAuthVerifier(config(srv.base), keys);
    const a = await signingKey('a');
    expect(await verifier.check(await mint(srv.base, a))).toMatchObject({ ok: false, status: 503 });
    expect(srv.hits.get('/.well-known/oauth-authorization-server')).toBe(1);
  });

  it('gives up on metadata that never comes after the timeout, with 503', async () => {
    const srv = await keyServer(() => 'hang');
    const keys = issuerKeys({ issuer: srv.base, timeoutMs: 300 });
    const verifier = createOAuthVerifier(config(srv.base), keys);
    expect(await verifier.check(await mint(srv.base, await signingKey('a')))).toMatchObject({ ok: false, status: 503 });
  });

  it('builds the metadata URLs of RFC 8414 and RFC 9728', () => {
    expect(metadataUrls('https://as.example')).toEqual(['https://as.example/.well-known/oauth-authorization-server', 'https://as.example/.well-known/openid-configuration']);
    expect(resourceMetadataUrl('https://warden.example/mcp')).toBe('https://warden.example/.well-known/oauth-protected-resource/mcp');
    expect(resourceMetadataUrl('https://warden.example/')).toBe('https://warden.example/.well-known/oauth-protected-resource');
  });
});

describe('discovery', () => {
  it('refuses a discovered jwks_uri over plain http off loopback, as the config refuses the same URL as jwksUri', async () => {
    const srv = await keyServer((path, base) => (path === '/.well-known/oauth-authorization-server' ? { issuer: base, jwks_uri: 'http://keys.example/jwks' } : undefined));
    expect(await issuerKeys({ issuer: srv.base, timeoutMs: 1_000 }).warm()).toMatch(/jwks_uri http:\/\/keys.example\/jwks refused: expected an https:\/\/ URL/);
    expect(() => config('https://as.example', { jwksUri: 'http://keys.example/jwks' })).toThrow(/https/);
  });

  it.each([400, 401, 403, 405, 410])('falls through to the OpenID configuration when the RFC 8414 URL answers %i, as the MCP SDK does', async (status) => {
    const a = await signingKey('a');
    const srv = await keyServer((path, base) => {
      if (path === '/.well-known/oauth-authorization-server') return status;
      if (path === '/.well-known/openid-configuration') return { issuer: base, jwks_uri: `${base}/keys` };
      if (path === '/keys') return { keys: [a.jwk] };
      return undefined;
    });
    const verifier = createOAuthVerifier(config(srv.base), issuerKeys({ issuer: srv.base, timeoutMs: 1_000 }));
    expect(await verifier.check(await mint(srv.base, a))).toMatchObject({ ok: true });
  });

  it('stops at a 5xx from the RFC 8414 URL (the server is failing, not telling us to look elsewhere): 503', async () => {
    const srv = await keyServer((path, base) => (path === '/.well-known/oauth-authorization-server' ? 502 : { issuer: base, jwks_uri: `${base}/keys` }));
    const keys = issuerKeys({ issuer: srv.base, timeoutMs: 1_000 });
    expect(await keys.warm()).toMatch(/oauth-authorization-server answered 502/);
    expect(srv.hits.has('/.well-known/openid-configuration')).toBe(false);
  });

  it('reads no metadata past 256 KiB, even without a content-length', async () => {
    const srv = await keyServer((path) => (path === '/.well-known/oauth-authorization-server' ? 'huge' : undefined));
    expect(await issuerKeys({ issuer: srv.base, timeoutMs: 2_000 }).warm()).toMatch(/answer over 262144 bytes/);
  });
});

describe('a key server that fails', () => {
  it('does not fetch the key set once per request while it answers 500: one fetch, then 503 at once for 10 s', async () => {
    const srv = await keyServer((path) => (path === '/jwks' ? 500 : undefined));
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    const verifier = createOAuthVerifier(cfg, issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 1_000 }));
    const attacker = await signingKey('whatever');
    for (let i = 0; i < 20; i += 1) expect(await verifier.check(await mint(srv.base, attacker))).toMatchObject({ ok: false, status: 503 });
    expect(srv.hits.get('/jwks')).toBe(1);
  });

  it('shares one fetch of a hanging key set among the callers waiting on it', async () => {
    const srv = await keyServer((path) => (path === '/jwks' ? 'hang' : undefined));
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    const verifier = createOAuthVerifier(cfg, issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 400 }));
    const a = await signingKey('a');
    const tokens = await Promise.all(Array.from({ length: 20 }, () => mint(srv.base, a)));
    const results = await Promise.all(tokens.map((t) => verifier.check(t)));
    expect(results.every((r) => !r.ok && r.status === 503)).toBe(true);
    expect(srv.hits.get('/jwks')).toBe(1);
  });

  it('tries again once the back-off has passed, and recovers when the key server does', async () => {
    const a = await signingKey('a');
    let up = false;
    const srv = await keyServer((path) => (path === '/jwks' ? (up ? { keys: [a.jwk] } : 500) : undefined));
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    // The back-off's own clock, stepped by hand: however slow the machine, the second check is inside it and the third past it.
    let nowMs = 1_000_000;
    const verifier = createOAuthVerifier(cfg, issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 1_000, retryAfterMs: 10_000, now: () => nowMs }));
    expect(await verifier.check(await mint(srv.base, a))).toMatchObject({ status: 503 });
    up = true;
    nowMs += 9_999;
    expect(await verifier.check(await mint(srv.base, a))).toMatchObject({ status: 503 });
    nowMs += 1;
    expect(await verifier.check(await mint(srv.base, a))).toMatchObject({ ok: true });
    expect(srv.hits.get('/jwks')).toBe(2);
  });

  it('keeps verifying known keys from the cached set while unknown kids meet a failing key server', async () => {
    const a = await signingKey('a');
    let up = true;
    const srv = await keyServer((path) => (path === '/jwks' ? (up ? { keys: [a.jwk] } : 500) : undefined));
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    const verifier = createOAuthVerifier(cfg, issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 1_000, cooldownMs: 0 }));
    expect(await verifier.check(await mint(srv.base, a))).toMatchObject({ ok: true });
    up = false;
    for (let i = 0; i < 5; i += 1) expect(await verifier.check(await mint(srv.base, await signingKey(`stranger-${i}`)))).toMatchObject({ ok: false, status: 503 });
    expect(await verifier.check(await mint(srv.base, a))).toMatchObject({ ok: true });
    expect(srv.hits.get('/jwks')).toBe(2);
  });

  it('reads no key set past 256 KiB', async () => {
    const srv = await keyServer((path) => (path === '/jwks' ? 'huge' : undefined));
    expect(await issuerKeys({ issuer: srv.base, jwksUri: `${srv.base}/jwks`, timeoutMs: 2_000 }).warm()).toMatch(/answer over 262144 bytes/);
  });
});

/** A 302 to `to`, as a hostile or misconfigured issuer might answer. */
const redirectTo = (to: string) => (res: ServerResponse) => void res.writeHead(302, { location: to }).end();

describe('hostile answers from the issuer', () => {
  it('does not follow a redirect of the metadata: 503, saying so, and the target is never asked', async () => {
    const srv = await keyServer((path, base) => {
      if (path === '/.well-known/oauth-authorization-server') return redirectTo(`${base}/elsewhere`);
      if (path === '/elsewhere') return { issuer: base, jwks_uri: `${base}/keys` };
      return undefined;
    });
    const keys = issuerKeys({ issuer: srv.base, timeoutMs: 1_000 });
    expect(await keys.warm()).toMatch(/oauth-authorization-server answered 302 \(a redirect: not followed\)/);
    expect(await createOAuthVerifier(config(srv.base), keys).check(await mint(srv.base, await signingKey('a')))).toMatchObject({ ok: false, status: 503 });
    expect(srv.hits.has('/elsewhere')).toBe(false);
  });

  it('does not follow a redirect of the key set: 503, and the target is never asked', async () => {
    const a = await signingKey('a');
    const srv = await keyServer((path, base) => {
      if (path === '/jwks') return redirectTo(`${base}/moved`);
      if (path === '/moved') return { keys: [a.jwk] };
      return undefined;
    });
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    const keys = issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 1_000 });
    expect(await keys.warm()).toMatch(/\/jwks answered 302 \(a redirect: not followed\)/);
    expect(await createOAuthVerifier(cfg, keys).check(await mint(srv.base, a))).toMatchObject({ ok: false, status: 503 });
    expect(srv.hits.has('/moved')).toBe(false);
  });

  it('refuses metadata that is not JSON: 503', async () => {
    const srv = await keyServer((path) => (path === '/.well-known/oauth-authorization-server'
      ? (res: ServerResponse) => void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>sign in</html>')
      : undefined));
    const keys = issuerKeys({ issuer: srv.base, timeoutMs: 1_000 });
    expect(await keys.warm()).toMatch(/oauth-authorization-server: not JSON/);
    expect(await createOAuthVerifier(config(srv.base), keys).check(await mint(srv.base, await signingKey('a')))).toMatchObject({ ok: false, status: 503 });
  });

  it.each([
    ['keys not an array', { keys: { kty: 'EC' } }],
    ['keys holding a string', { keys: ['{"kty":"EC"}'] }],
    ['keys holding null', { keys: [null] }],
    ['keys holding an array', { keys: [[]] }],
    ['no keys at all', { jwks: [] }],
    ['an array instead of a set', [{ kty: 'EC' }]],
  ])('refuses a key set with %s: 503, and backs off from it', async (_, body) => {
    const srv = await keyServer((path) => (path === '/jwks' ? body : undefined));
    const cfg = config(srv.base, { jwksUri: `${srv.base}/jwks` });
    const keys = issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: 1_000 });
    expect(await keys.warm()).toMatch(/\/jwks: not a JSON Web Key Set/);
    expect(await createOAuthVerifier(cfg, keys).check(await mint(srv.base, await signingKey('a')))).toMatchObject({ ok: false, status: 503 });
    expect(srv.hits.get('/jwks')).toBe(1);
  });

  it('refuses an answer whose content-length is over the cap without waiting for its body', async () => {
    // The body never comes: only the declared length can end this before the timeout.
    const srv = await keyServer((path) => (path === '/jwks'
      ? (res: ServerResponse) => void res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) }).write('{"keys":[')
      : undefined));
    expect(await issuerKeys({ issuer: srv.base, jwksUri: `${srv.base}/jwks`, timeoutMs: 5_000 }).warm()).toMatch(/answer over 262144 bytes/);
  });

  it('refuses a discovered jwks_uri with a user and password, and does not write the password in its reason', async () => {
    const srv = await keyServer((path, base) => (path === '/.well-known/oauth-authorization-server'
      ? { issuer: base, jwks_uri: `${base.replace('://', '://keys:s3cret@')}/jwks` }
      : undefined));
    const reason = await issuerKeys({ issuer: srv.base, timeoutMs: 1_000 }).warm();
    expect(reason).toMatch(/jwks_uri http:\/\/127\.0\.0\.1:\d+\/jwks refused: no user or password in it/);
    expect(reason).not.toMatch(/s3cret/);
    expect(srv.hits.has('/jwks')).toBe(false);
  });

  it('quotes a foreign issuer named in the metadata at 200 characters at most', async () => {
    const srv = await keyServer((path) => (path === '/.well-known/oauth-authorization-server' ? { issuer: 'x'.repeat(100_000), jwks_uri: 'https://evil.example/jwks' } : undefined));
    const reason = await issuerKeys({ issuer: srv.base, timeoutMs: 1_000 }).warm();
    expect(reason).toMatch(/names issuer "x+, not http:\/\/127\.0\.0\.1/);
    expect(reason!.length).toBeLessThan(400);
  });
});
