// The issuer's keys and the server.oauth config, against a key server of our own on loopback:
// rotation (a new kid is fetched, a retired one refused), unknown kids cannot make warden hammer
// the issuer, discovery follows RFC 8414 and refuses metadata naming another issuer, and a config
// typo fails naming the field.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { issuerKeys, metadataUrls } from '../../src/adapters/oauth-keys.js';
import { ConfigFile, loadConfig } from '../../src/config.js';
import { createOAuthVerifier } from '../../src/server/oauth.js';
import { OAuthConfig, resourceMetadataUrl } from '../../src/server/oauth-config.js';
import { describeIssues } from '../../src/validation.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });
});

/** A tiny authorization server: whatever `routes` answers, counted per path. */
async function keyServer(routes: (path: string, base: string) => unknown): Promise<{ base: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  let base = '';
  const server = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    const body = routes(req.url!, base);
    if (body === 'hang') return;
    if (body === undefined) res.writeHead(404).end();
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

describe('server.oauth config', () => {
  const base = { issuer: 'https://as.example', resource: RESOURCE, roles: [{ scope: 'warden:operator', role: 'operator' }] };
  const issues = (oauth: unknown): string[] => {
    const parsed = ConfigFile.safeParse({ server: { oauth } });
    return parsed.success ? [] : describeIssues(parsed.error, '', ConfigFile);
  };

  it('takes the minimal config and fills the defaults', () => {
    expect(issues(base)).toEqual([]);
    expect(OAuthConfig.parse(base)).toMatchObject({ principalClaim: 'sub', clockSkewSeconds: 60, fetchTimeoutMs: 5_000 });
  });

  it('refuses a typo in the config file as warden starts, naming the field and the likely one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-oauth-config-'));
    try {
      writeFileSync(join(dir, 'warden.yaml'), 'server:\n  oauth:\n    issuer: https://as.example\n    resource: https://w.example/mcp\n    roles: [{ scope: a, role: operator }]\n    principalClaimm: email\n');
      expect(() => loadConfig({}, { WARDEN_CONFIG: join(dir, 'warden.yaml') }, dir)).toThrow(/unknown key "server.oauth.principalClaimm"; did you mean "principalClaim"\?/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ ...base, issuerr: 'x' }, /unknown key "server.oauth.issuerr"/],
    [{ ...base, roles: [{ scope: 'warden:operator', role: 'operator', claim: 'groups', value: 'sre' }] }, /server.oauth.roles\[0\]: give either scope, or claim and value/],
    [{ ...base, roles: [{ claim: 'groups', role: 'admin' }] }, /server.oauth.roles\[0\]: a claim rule needs both claim and value/],
    [{ ...base, roles: [{ scope: 'x', role: 'root' }] }, /server.oauth.roles\[0\].role/],
    [{ ...base, roles: [] }, /server.oauth.roles/],
    [{ ...base, algorithms: ['HS256'] }, /server.oauth.algorithms\[0\]/],
    [{ ...base, algorithms: ['none'] }, /server.oauth.algorithms\[0\]/],
    [{ ...base, issuer: 'http://as.example' }, /server.oauth.issuer: expected an https:\/\/ URL/],
    [{ ...base, resource: 'https://warden.example/mcp#x' }, /server.oauth.resource: no fragment/],
    [{ ...base, clockSkewSeconds: 3_600 }, /server.oauth.clockSkewSeconds/],
  ])('refuses %j, naming the field', (oauth, message) => {
    expect(issues(oauth).join('\n')).toMatch(message);
  });
});
