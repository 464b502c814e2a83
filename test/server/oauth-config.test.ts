// The server.oauth config: what loads, what is refused at start naming the field (a typo, a
// resource no client could ever send back), how roles read claims (a name is one top-level claim,
// a list is a nested path), and the scope mismatches logged at start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFile, loadConfig } from '../../src/config.js';
import { roleFor } from '../../src/server/oauth.js';
import { OAuthConfig, resourceMetadataUrl, scopeMismatches } from '../../src/server/oauth-config.js';
import { describeIssues } from '../../src/validation.js';

const RESOURCE = 'https://warden.example/mcp';

describe('server.oauth config', () => {
  const base = { issuer: 'https://as.example', resource: RESOURCE, roles: [{ scope: 'warden:operator', role: 'operator' }] };
  const issues = (oauth: unknown): string[] => {
    const parsed = ConfigFile.safeParse({ server: { oauth } });
    return parsed.success ? [] : describeIssues(parsed.error, '', ConfigFile);
  };

  it('takes the minimal config and fills the defaults', () => {
    expect(issues(base)).toEqual([]);
    expect(OAuthConfig.parse(base)).toMatchObject({ principalClaim: 'sub', clockSkewSeconds: 60, fetchTimeoutMs: 5_000, requireAtJwt: false });
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
    [{ ...base, issuer: 'https://ops:pw@as.example' }, /server.oauth.issuer: no user or password in it/],
    [{ ...base, issuer: 'http://ops@127.0.0.1:9000' }, /server.oauth.issuer: no user or password in it/],
    [{ ...base, jwksUri: 'https://:pw@as.example/jwks' }, /server.oauth.jwksUri: no user or password in it/],
    [{ ...base, scopesSupported: ['warden operator'] }, /server.oauth.scopesSupported\[0\]: one scope token/],
    [{ ...base, roles: [{ scope: 'warden"operator', role: 'operator' }] }, /server.oauth.roles\[0\].scope: one scope token/],
    [{ ...base, resource: 'https://warden.example/mcp#x' }, /server.oauth.resource: no fragment/],
    [{ ...base, roles: [{ claim: [], value: 'sre', role: 'admin' }] }, /server.oauth.roles\[0\].claim/],
    [{ ...base, clockSkewSeconds: 3_600 }, /server.oauth.clockSkewSeconds/],
  ])('refuses %j, naming the field', (oauth, message) => {
    expect(issues(oauth).join('\n')).toMatch(message);
  });
});

describe('server.oauth.resource as clients send it back', () => {
  const issues = (resource: string): string => {
    const parsed = ConfigFile.safeParse({ server: { oauth: { issuer: 'https://as.example', resource, roles: [{ scope: 'a', role: 'operator' }] } } });
    return parsed.success ? '' : describeIssues(parsed.error, '', ConfigFile).join('\n');
  };

  it.each([
    ['https://warden.example/mcp/', /no trailing slash: clients dial https:\/\/warden.example\/mcp/],
    ['https://warden.example/mcp//', /no trailing slash/],
    ['https://warden.example:443/mcp', /write it as clients send it back: https:\/\/warden.example\/mcp$/],
    ['http://127.0.0.1:80/mcp', /write it as clients send it back: http:\/\/127.0.0.1\/mcp$/],
    ['https://Warden.Example/mcp', /write it as clients send it back: https:\/\/warden.example\/mcp$/],
    ['https://warden.example', /write it as clients send it back: https:\/\/warden.example\/$/],
    ['https://warden.example/a/../mcp', /write it as clients send it back: https:\/\/warden.example\/mcp$/],
    ['https://warden.example/mcp?tenant=a', /no query/],
    ['https://warden.example/mcp?', /no query/],
    ['https://warden.example/mcp#', /no fragment/],
    ['https://ops:pw@warden.example/mcp', /no user or password/],
  ])('refuses %s, naming server.oauth.resource', (resource, message) => {
    const found = issues(resource);
    expect(found).toMatch(/^server\.oauth\.resource: /);
    expect(found).toMatch(message);
  });

  it.each(['https://warden.example/mcp', 'https://warden.example/', 'https://warden.example:8443/ops/mcp', 'http://127.0.0.1:8080/mcp', 'http://[::1]:8080/mcp'])('takes %s', (resource) => {
    expect(issues(resource)).toBe('');
  });

  it('puts the metadata URL at the resource\'s own path (RFC 9728 3.1)', () => {
    expect(resourceMetadataUrl('https://warden.example/mcp')).toBe('https://warden.example/.well-known/oauth-protected-resource/mcp');
    expect(resourceMetadataUrl('https://warden.example:8443/ops/mcp')).toBe('https://warden.example:8443/.well-known/oauth-protected-resource/ops/mcp');
    expect(resourceMetadataUrl('https://warden.example/')).toBe('https://warden.example/.well-known/oauth-protected-resource');
  });
});

describe('claims that map to roles', () => {
  const roles = (rules: unknown[]) => OAuthConfig.parse({ issuer: 'https://as.example', resource: RESOURCE, roles: rules }).roles;

  it('reads a claim name with dots as one top-level claim, never as a path into nested claims', () => {
    const rules = roles([{ claim: 'realm_access.roles', value: 'sre', role: 'admin' }]);
    expect(roleFor({ realm_access: { roles: ['sre'] } }, rules)).toBeUndefined();
    expect(roleFor({ 'realm_access.roles': ['sre'] }, rules)).toBe('admin');
    const namespaced = roles([{ claim: 'https://acme.example/groups', value: 'sre', role: 'admin' }]);
    expect(roleFor({ 'https://acme.example/groups': 'sre' }, namespaced)).toBe('admin');
    expect(roleFor({ 'https://acme': { 'example/groups': 'sre' } }, namespaced)).toBeUndefined();
  });

  it('reads a nested claim down an explicit list of names, and only there', () => {
    const rules = roles([{ claim: ['realm_access', 'roles'], value: 'sre', role: 'admin' }]);
    expect(roleFor({ realm_access: { roles: ['dev', 'sre'] } }, rules)).toBe('admin');
    expect(roleFor({ 'realm_access.roles': ['sre'] }, rules)).toBeUndefined();
    expect(roleFor({ realm_access: [{ roles: ['sre'] }] }, rules)).toBeUndefined();
    expect(roleFor({ realm_access: 'sre' }, rules)).toBeUndefined();
  });

  it('matches a claim equal to the value or an array holding it, never a substring or an object', () => {
    const rules = roles([{ claim: 'groups', value: 'sre', role: 'admin' }]);
    expect(['sre', ['x', 'sre']].map((groups) => roleFor({ groups }, rules))).toEqual(['admin', 'admin']);
    expect(['sre-interns', ['sres'], { sre: true }, null].map((groups) => roleFor({ groups }, rules))).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('scopes advertised against scopes mapped', () => {
  const cfg = (scopesSupported: string[] | undefined, roles: unknown[]) =>
    OAuthConfig.parse({ issuer: 'https://as.example', resource: RESOURCE, roles, ...(scopesSupported ? { scopesSupported } : {}) });

  it('finds nothing when every advertised scope maps to a role and every role scope is advertised', () => {
    expect(scopeMismatches(cfg(['w:read', 'w:admin'], [{ scope: 'w:admin', role: 'admin' }, { claim: 'groups', value: 'sre', role: 'admin' }, { scope: 'w:read', role: 'readonly' }]))).toEqual([]);
    expect(scopeMismatches(cfg(undefined, [{ claim: 'groups', value: 'sre', role: 'admin' }]))).toEqual([]);
  });

  it('names a role scope clients are not told to request, and an advertised scope no role maps', () => {
    expect(scopeMismatches(cfg(['w:read', 'w:write'], [{ scope: 'w:read', role: 'readonly' }, { scope: 'w:admin', role: 'admin' }]))).toEqual([
      'server.oauth.roles maps scope w:admin, which scopesSupported does not list: clients will not request it',
      'server.oauth.scopesSupported lists w:write, which no role maps: a token holding only it is refused (403)',
    ]);
    expect(scopeMismatches(cfg(undefined, [{ scope: 'w:read', role: 'readonly' }]))).toEqual(['server.oauth.scopesSupported is not set: clients are not told to request w:read']);
  });
});
