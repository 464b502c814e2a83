// Principals meeting the policy's principal patterns. An OAuth principal is `oauth:` plus a claim
// the authorization server wrote (GitHub Actions' sub is `repo:acme/infra:ref:refs/heads/main`),
// a warden token's may start with dots: no principal may slip past `*`, `oauth:*` or `prefix-*`,
// and no pattern written for one principal may match another.
import { SignJWT, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { decide, type DecisionRequest } from '../../src/policy/decide.js';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { lintPolicy } from '../../src/policy/policy-lint.js';
import { principalGlobs } from '../../src/policy/principal-glob.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';
import { connectHttp, useGateways, type TestGateway } from '../support/http-gateway.js';
import { CLIENTS, oauthConfigYaml, startAuthServer, type TestAuthServer } from '../support/oauth-provider.js';
import { freePort } from '../support/ports.js';

const gateway = useGateways();
const started: TestAuthServer[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

/** Warden-token principals (auth.ts allows letters, digits, `.`, `_`, `@`, `-`): dots picomatch would not let `*` match. */
const TOKEN_PRINCIPALS = ['local', '.', '..', '.hidden', 'a@b.c', '-x', 'bot-.x', 'bot-'];
/** OAuth principals: every character picomatch gives a meaning to, and path-like shapes. */
const OAUTH_PRINCIPALS = [
  'oauth:repo:acme/infra:ref:refs/heads/main', 'oauth:..', 'oauth:a/../b', 'oauth:./x', 'oauth:x/', 'oauth:/x', 'oauth:.foo',
  'oauth:a\\b', 'oauth:[x]', 'oauth:{a,b}', 'oauth:!x', 'oauth:(a)|b', 'oauth:a+b@c', 'oauth:@(a)', 'oauth:a?', 'oauth:*', 'oauth:a,b', 'oauth:',
];
const ALL = [...TOKEN_PRINCIPALS, ...OAUTH_PRINCIPALS];

/** The exact pattern for a principal: every character that means something in a pattern, escaped. */
const exactly = (principal: string): string => principal.replace(/[\\*?[\]{}()!]/g, (c) => `\\${c}`);
const policy = (yaml: string) => parsePolicy(yaml, 'test', DEFAULT_DECISION);
const req = (principal: string): DecisionRequest => ({ principal, role: 'operator', tool: 'list_containers', risk: 'read', target: 'local', info: {} });

describe('principal patterns', () => {
  it.each([['*'], ['**']])('%s matches every principal, whatever characters it holds', (pattern) => {
    const m = principalGlobs(pattern);
    expect(ALL.filter((p) => !m(p))).toEqual([]);
  });

  it('oauth:* matches every OAuth principal and no warden-token principal', () => {
    const m = principalGlobs('oauth:*');
    expect(OAUTH_PRINCIPALS.filter((p) => !m(p))).toEqual([]);
    expect(TOKEN_PRINCIPALS.filter((p) => m(p))).toEqual([]);
  });

  it('prefix-* matches what starts with the prefix, across dots and slashes, and nothing else', () => {
    expect(ALL.filter(principalGlobs('bot-*'))).toEqual(['bot-.x', 'bot-']);
    expect(ALL.filter(principalGlobs('oauth:repo:acme/*'))).toEqual(['oauth:repo:acme/infra:ref:refs/heads/main']);
    expect(ALL.filter(principalGlobs('*@b.c'))).toEqual(['a@b.c']);
  });

  it('an exact pattern matches its own principal and no other (no two principals alias)', () => {
    for (const p of ALL) expect([p, ALL.filter(principalGlobs(exactly(p)))]).toEqual([p, [p]]);
  });

  it('decides a `principal: "*"` deny rule for every principal, as policy lint assumes when it calls that rule everyone', () => {
    const file = 'rules: [{ name: nobody-lists, principal: "*", tool: list_containers, decision: deny }, { name: later, principal: "oauth:repo:*", tool: list_containers, decision: allow }]';
    const p = policy(file);
    expect(lintPolicy(p.file)).toEqual([{ rule: 'later', problem: 'never matches: nobody-lists (earlier) matches every call it does' }]);
    expect(ALL.filter((who) => decide(p, req(who)).rule !== 'nobody-lists')).toEqual([]);
  });

  it.each([['!bots'], ['{a,b}'], ['a?'], ['[ab]'], ['oauth:@(x)'], ['a\\']])('refuses %j at load, naming the field, rather than reading it another way', (pattern) => {
    expect(() => policy(`rules: [{ principal: ${JSON.stringify(pattern)}, tool: list_containers, decision: deny }]`)).toThrow(/rules\[0\]\.principal/);
    expect(() => policy(`limits: [{ principal: ${JSON.stringify(pattern)}, tool: list_containers, max: 1 }]`)).toThrow(/limits\[0\]\.principal/);
  });

  it('applies limits by principal with the same patterns', () => {
    const p = policy('limits: [{ name: oauth-calls, principal: "oauth:*", tool: list_containers, max: 0 }]');
    expect(decide(p, req('oauth:repo:acme/infra:ref:refs/heads/main'), new Map([['oauth-calls', 0]]))).toMatchObject({ decision: 'deny' });
  });
});

describe('principal patterns at the gateway', () => {
  async function oauthGateway(policyYaml: string): Promise<{ g: TestGateway; mint(claims: JWTPayload): Promise<string> }> {
    const port = await freePort();
    const resource = `http://127.0.0.1:${port}/mcp`;
    const as = await startAuthServer({ clients: CLIENTS, resources: { [resource]: {} } });
    started.push(as);
    const g = await gateway.custom({ config: oauthConfigYaml(as.issuer, resource), policy: policyYaml, server: { port } });
    const now = Math.floor(Date.now() / 1000);
    const mint = (claims: JWTPayload) => new SignJWT({ iss: as.issuer, aud: resource, sub: 'ops-bot', exp: now + 300, scope: 'warden:operator', ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: as.signingKey.kid }).sign(as.signingKey.privateKey);
    return { g, mint };
  }

  const decisions = (g: TestGateway) => g.rt.audit.list().filter((e) => e.tool === 'list_containers' && e.decision).map((e) => [e.principal, e.decision]);

  async function listAs(g: TestGateway, token: string): Promise<void> {
    const c = await connectHttp(g.url, token);
    await c.client.callTool({ name: 'list_containers', arguments: {} });
    await c.close();
  }

  it('applies a `principal: "oauth:*"` deny rule to an OAuth caller whose sub holds slashes and dot segments', async () => {
    const { g, mint } = await oauthGateway('rules: [{ name: no-oauth-lists, principal: "oauth:*", tool: list_containers, decision: deny }]');
    const subs = ['ops-bot', 'repo:acme/infra:ref:refs/heads/main', 'team/../ops', '.hidden/x/'];
    for (const sub of subs) await listAs(g, await mint({ sub }));
    expect(decisions(g)).toEqual(subs.map((s) => [`oauth:${s}`, 'deny']));
  });

  it('applies a `principal: "*"` deny rule to OAuth callers and to warden tokens named with dots', async () => {
    const { g, mint } = await oauthGateway('rules: [{ name: nobody-lists, principal: "*", tool: list_containers, decision: deny }]');
    await listAs(g, await mint({ sub: 'team/ops-bot' }));
    for (const name of ['..', '.hidden', 'a@b.c']) await listAs(g, g.token(name, 'operator'));
    expect(decisions(g)).toEqual([['oauth:team/ops-bot', 'deny'], ['..', 'deny'], ['.hidden', 'deny'], ['a@b.c', 'deny']]);
  });

  it('applies a `prefix-*` rule to a warden token whose name continues with a dot, and not to another', async () => {
    const g = await gateway.custom({ policy: 'rules: [{ name: bots-read-nothing, principal: "bot-*", tool: list_containers, decision: deny }]' });
    await listAs(g, g.token('bot-.x', 'operator'));
    await listAs(g, g.token('robot-x', 'operator'));
    expect(decisions(g)).toEqual([['bot-.x', 'deny'], ['robot-x', 'allow']]);
  });
});
