// Tokens /mcp must refuse, each with the status and WWW-Authenticate challenge of RFC 6750 and the
// MCP authorization spec, audited like a refused warden token and never written down itself.
// Where the real authorization server would not issue the bad token, it is minted with its own key,
// after a control token minted the same way is shown to pass: each refusal is for the one thing changed.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { INITIALIZE, request, useGateways, type TestGateway } from '../support/http-gateway.js';
import { CLIENTS, startAuthServer } from '../support/oauth-provider.js';
import { OTHER_API, useOAuthWorlds, type OAuthWorld } from '../support/oauth-world.js';

const gateway = useGateways();
const oauth = useOAuthWorlds(gateway);
const started = oauth.started;

interface World extends OAuthWorld {
  /** A token signed with the authorization server's own key: by default one warden accepts. */
  mint(claims?: JWTPayload, header?: Record<string, unknown>, key?: CryptoKey): Promise<string>;
}

async function world(extra: string[] = []): Promise<World> {
  const { as, g, resource } = await oauth.world({ extra });
  const now = Math.floor(Date.now() / 1000);
  // Claims given override the control token's (SignJWT's setters would override them instead).
  const mint: World['mint'] = (claims = {}, header = {}, key = as.signingKey.privateKey) =>
    new SignJWT({ iss: as.issuer, aud: resource, sub: 'ops-bot', iat: now - 60, exp: now + 300, scope: 'warden:operator', ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: as.signingKey.kid, ...header })
      .sign(key);
  return { as, g, resource, mint };
}

const post = (g: TestGateway, token: string) => request(g.url, '/mcp', { token, body: INITIALIZE });
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** What a refusal must carry: the status, error code and description in the challenge, the metadata URL. */
async function expectRefused(w: World, token: string, status: 401 | 403, description: RegExp): Promise<void> {
  const res = await post(w.g, token);
  expect(res.status).toBe(status);
  const challenge = res.headers.get('www-authenticate') ?? '';
  const port = new URL(w.resource).port;
  expect(challenge).toContain(`resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`);
  expect(challenge).toContain(status === 401 ? 'error="invalid_token"' : 'error="insufficient_scope"');
  expect(challenge).toMatch(/error_description="[^"]+"/);
  expect(/error_description="([^"]+)"/.exec(challenge)![1]).toMatch(description);
  expect(res.json().reason).toMatch(description);
}

describe('refused OAuth tokens', () => {
  it('accepts the control token minted with the issuer\'s key, so each refusal below is for what it changes', async () => {
    const w = await world();
    expect((await post(w.g, await w.mint())).status).toBe(200);
  });

  it('refuses a token the issuer made for another resource (RFC 8707 audience): 401 invalid_token', async () => {
    const w = await world();
    await expectRefused(w, await w.as.token('ops-bot', OTHER_API, 'warden:operator'), 401, /not issued for .*\/mcp \(aud\)/);
  });

  it('refuses an expired token past the 60 s skew allowance, and takes one expired 30 s ago', async () => {
    const w = await world();
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(w, await w.mint({ exp: now - 120 }), 401, /^token expired$/);
    expect((await post(w.g, await w.mint({ exp: now - 30 }))).status).toBe(200);
  });

  it('refuses a token not valid yet (nbf beyond the skew)', async () => {
    const w = await world();
    await expectRefused(w, await w.mint({ nbf: Math.floor(Date.now() / 1000) + 600 }), 401, /not valid yet/);
  });

  it('refuses a token from another issuer: a real second authorization server, and our issuer\'s key with another iss', async () => {
    const w = await world();
    const other = await startAuthServer({ clients: CLIENTS, resources: { [w.resource]: {} } });
    started.push(other);
    await expectRefused(w, await other.token('ops-bot', w.resource, 'warden:operator'), 401, /kid unknown/);
    await expectRefused(w, await w.mint({ iss: other.issuer }), 401, /not issued by/);
  });

  it('refuses alg none and HS256 (one the real issuer signed with a shared secret) before any key is looked up', async () => {
    const w = await world();
    const payload = { iss: w.as.issuer, aud: w.resource, sub: 'ops-bot', scope: 'warden:operator', exp: Math.floor(Date.now() / 1000) + 300 };
    await expectRefused(w, `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload)}.`, 401, /alg not accepted/);
    await expectRefused(w, await w.as.token('hs-bot', w.resource, 'warden:operator'), 401, /alg not accepted/);
  });

  it('refuses a token with no mapped role with 403 insufficient_scope, the scopes to ask for, and audits it under its principal', async () => {
    const w = await world();
    const res = await post(w.g, await w.as.token('nobody', w.resource));
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="warden:read warden:operator warden:admin", error_description="oauth:nobody: no scope or claim/);
    const entry = w.g.rt.audit.list().find((e) => e.tool === 'http.auth')!;
    expect([entry.principal, entry.target, JSON.parse(entry.args).status]).toEqual(['oauth:nobody', '/mcp', 403]);
  });

  it('refuses a token signed by a key the issuer does not publish, and one whose payload was changed after signing', async () => {
    const w = await world();
    const { privateKey } = await generateKeyPair('ES256');
    await expectRefused(w, await w.mint({}, { kid: 'not-a-published-kid' }, privateKey), 401, /kid unknown/);
    const [h, , s] = (await w.mint()).split('.');
    await expectRefused(w, `${h}.${b64({ iss: w.as.issuer, aud: w.resource, sub: 'ops-bot', scope: 'warden:admin', exp: Math.floor(Date.now() / 1000) + 300 })}.${s}`, 401, /signature does not verify/);
  });

  it('refuses a token without exp or sub, of another typ, or whose principal claim is unusable', async () => {
    const w = await world();
    await expectRefused(w, await w.mint({}, { typ: 'dpop+jwt' }), 401, /typ/);
    await expectRefused(w, await w.mint({}, { typ: undefined }), 401, /typ/);
    await expectRefused(w, await w.mint({ sub: 'a b\nc' }), 401, /no usable sub claim/);
    await expectRefused(w, await w.mint({ sub: 'admin\u202Egnp.exe' }), 401, /no usable sub claim/);
    await expectRefused(w, await w.mint({ sub: 'x'.repeat(129) }), 401, /no usable sub claim/);
    const { as, resource } = w;
    const noExp = await new SignJWT({ scope: 'warden:operator' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: as.signingKey.kid })
      .setIssuer(as.issuer).setAudience(resource).setSubject('ops-bot').sign(as.signingKey.privateKey);
    await expectRefused(w, noExp, 401, /claim exp/);
  });

  it('refuses an aud that differs from resource by a trailing slash, case or port, and takes resource among other auds', async () => {
    const w = await world();
    const u = new URL(w.resource);
    for (const aud of [`${w.resource}/`, w.resource.replace('/mcp', '/MCP'), `http://127.0.0.1:${Number(u.port) + 1}/mcp`, [`${w.resource}/`, OTHER_API]]) {
      await expectRefused(w, await w.mint({ aud }), 401, /\(aud\)/);
    }
    expect((await post(w.g, await w.mint({ aud: [OTHER_API, w.resource] }))).status).toBe(200);
  });

  it('refuses a crit header it does not understand, and a header alg other than the published key\'s', async () => {
    const w = await world();
    // jose will not sign an unknown crit, so these are signed by hand (ES256: raw r||s over header.payload).
    const byHand = async (extraHeader: Record<string, unknown>): Promise<string> => {
      const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: w.as.signingKey.kid, ...extraHeader })}.${b64({ iss: w.as.issuer, aud: w.resource, sub: 'ops-bot', exp: Math.floor(Date.now() / 1000) + 300, scope: 'warden:operator' })}`;
      const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, w.as.signingKey.privateKey, new TextEncoder().encode(input));
      return `${input}.${Buffer.from(sig).toString('base64url')}`;
    };
    expect((await post(w.g, await byHand({}))).status).toBe(200);
    await expectRefused(w, await byHand({ crit: ['exp-policy'], 'exp-policy': 'ignore' }), 401, /^malformed token$/);
    // An ES384 header against the issuer's ES256 key (published with alg ES256): no key matches.
    const { privateKey } = await generateKeyPair('ES384');
    await expectRefused(w, await w.mint({}, { alg: 'ES384' }, privateKey), 401, /kid unknown/);
  });

  it('fetches nothing for a token that names its own key (embedded jwk, jku, x5u): kid unknown, the named URL never asked', async () => {
    const w = await world();
    let asked = 0;
    const evil: Server = createServer((_req, res) => { asked += 1; res.writeHead(404).end(); });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    started.push({ close: () => new Promise<void>((r) => { evil.closeAllConnections(); evil.close(() => r()); }) });
    const base = `http://127.0.0.1:${(evil.address() as { port: number }).port}`;
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'ES256' };
    await expectRefused(w, await w.mint({}, { kid: 'attacker', jwk, jku: `${base}/jwks`, x5u: `${base}/cert` }, privateKey), 401, /kid unknown/);
    expect(asked).toBe(0);
  });

  it('refuses an OpenID ID token (at_hash, c_hash or s_hash), and takes a nonce (older Keycloak writes it in access tokens)', async () => {
    const w = await world();
    for (const claim of ['at_hash', 'c_hash', 's_hash']) {
      await expectRefused(w, await w.mint({ [claim]: 'x5GcNZdEmDLzc6bbCnY1Bw' }, { typ: 'JWT' }), 401, /an OpenID ID token, not an access token/);
    }
    expect((await post(w.g, await w.mint({ nonce: 'n-0S6_WzA2Mj' }, { typ: 'JWT' }))).status).toBe(200);
  });

  it('with requireAtJwt, refuses typ JWT (what ID tokens carry) and takes at+jwt', async () => {
    const w = await world(['requireAtJwt: true']);
    await expectRefused(w, await w.mint({}, { typ: 'JWT' }), 401, /^token typ is not at\+jwt$/);
    for (const typ of ['at+jwt', 'application/at+JWT']) expect((await post(w.g, await w.mint({}, { typ }))).status).toBe(200);
  });

  it('refuses a good OAuth JWT on /approvals, /metrics and /alerts (warden tokens only there), auditing each refusal without the token', async () => {
    const w = await world();
    const token = await w.mint({ scope: 'warden:admin' });
    for (const [path, method] of [['/approvals', 'GET'], ['/metrics', 'GET'], ['/alerts/generic', 'POST']] as const) {
      const res = await request(w.g.url, path, { token, method, ...(method === 'POST' ? { body: {} } : {}) });
      expect(res.status, path).toBe(401);
    }
    const refused = w.g.rt.audit.list().filter((e) => e.tool === 'http.auth');
    expect(refused.map((e) => e.target).sort()).toEqual(['/alerts/generic', '/approvals', '/metrics']);
    expect(JSON.stringify(w.g.rt.audit.list())).not.toContain(token.split('.')[2]);
  });

  it('audits refused tokens as anonymous 401s with the reason, and writes no token anywhere in the audit', async () => {
    const w = await world();
    const tokens = [await w.as.token('ops-bot', OTHER_API, 'warden:operator'), await w.mint({ exp: 1 })];
    for (const t of tokens) await post(w.g, t);
    const entries = w.g.rt.audit.list().filter((e) => e.tool === 'http.auth');
    expect(entries.map((e) => [e.principal, JSON.parse(e.args).status])).toEqual([['anonymous', 401]]);
    expect(entries[0]!.result).toMatch(/^token not issued for http:\/\/127.0.0.1:\d+\/mcp \(aud\)$/);
    const all = JSON.stringify(w.g.rt.audit.list());
    for (const t of tokens) expect(all).not.toContain(t.split('.')[2]);
  });
});

/** node:http, to send what fetch will not: two Authorization headers. */
function rawPost(url: string, headers: Record<string, string | string[]>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/mcp', url), { method: 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    for (const [k, v] of Object.entries(headers)) req.setHeader(k, v);
    req.on('error', reject);
    req.end(JSON.stringify(INITIALIZE));
  });
}

describe('how the token is presented', () => {
  it('takes the scheme in any case (RFC 7235): bearer and BEARER', async () => {
    const w = await world();
    const token = await w.mint();
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await request(w.g.url, '/mcp', { body: INITIALIZE, headers: { authorization: `${scheme} ${token}` } });
      expect(res.status).toBe(200);
    }
  });

  it('ignores a token in the query string or a form field: 401 with the plain challenge', async () => {
    const w = await world();
    const token = await w.mint();
    const res = await request(w.g.url, `/mcp?access_token=${token}`, { body: INITIALIZE });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).not.toContain('error=');
  });

  it('refuses two Authorization headers, a good token beside a bad one, in either order', async () => {
    const w = await world();
    const good = `Bearer ${await w.mint()}`;
    const common = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    expect(await rawPost(w.g.url, { ...common, authorization: [good, 'Bearer wdn_nope'] })).toBe(401);
    expect(await rawPost(w.g.url, { ...common, authorization: ['Bearer wdn_nope', good] })).toBe(401);
    expect(await rawPost(w.g.url, { ...common, authorization: good })).toBe(200);
  });

  it('refuses other shapes: Basic, a bearer without a token, two tokens, a token over 8 KiB', async () => {
    const w = await world();
    const token = await w.mint();
    for (const authorization of [`Basic ${token}`, 'Bearer', 'Bearer ', `Bearer ${token} ${token}`, `Bearer ${'A'.repeat(8_193)}`]) {
      const res = await request(w.g.url, '/mcp', { body: INITIALIZE, headers: { authorization } });
      expect(res.status, authorization.slice(0, 20)).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });
});
