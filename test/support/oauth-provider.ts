// A real OAuth authorization server for tests: the oidc-provider package on 127.0.0.1, issuing
// JWT access tokens for resource indicators (RFC 8707) by the client_credentials grant. Each
// client's scopes and claims are declared here; resource servers say how their tokens are signed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
// @ts-expect-error oidc-provider ships no types; the few calls made here are checked by the tests that use them.
import Provider, { errors as oidcErrors } from 'oidc-provider';
import { freePort } from './ports.js';

export interface TestClient {
  id: string;
  secret: string;
  /** The resource-server scopes this client may be granted. */
  scopes: string[];
  /** Claims added to its access tokens (groups, email, ...). */
  claims?: Record<string, unknown>;
  /** Its tokens are signed with HS256 and a secret, whatever the resource server says. */
  hs256?: boolean;
}

export interface ResourceServer {
  /** How its tokens are signed: an asymmetric alg with the provider's key, or HS256 with a shared secret. */
  alg?: 'ES256' | 'HS256';
  ttlSeconds?: number;
}

export interface TestAuthServer {
  issuer: string;
  /** The provider's signing key, private part included, to mint tokens the provider never would (expired, wrong iss). */
  signingKey: { privateKey: CryptoKey; kid: string };
  /** POST /token as a client: client_credentials for `resource` with `scope`. */
  token(clientId: string, resource: string, scope?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startAuthServer(opts: { clients: TestClient[]; resources: Record<string, ResourceServer> }): Promise<TestAuthServer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `key-${port}`;
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const byId = new Map(opts.clients.map((c) => [c.id, c]));
  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.id, client_secret: c.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    // Its only key is ES256; the default (RS256) would make every client's metadata invalid.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: ['warden-test-cookie-key'] },
    ttl: { ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        getResourceServerInfo: (_ctx: unknown, indicator: string, client: { clientId: string }) => {
          const rs = opts.resources[indicator];
          if (!rs) throw new oidcErrors.InvalidTarget();
          const hs256 = rs.alg === 'HS256' || byId.get(client.clientId)?.hs256;
          return {
            scope: (byId.get(client.clientId)?.scopes ?? []).join(' '),
            audience: indicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: rs.ttlSeconds ?? 300,
            jwt: { sign: hs256 ? { alg: 'HS256', key: Buffer.from('a-secret-shared-with-every-client-0123456789') } : { alg: 'ES256' } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId: string }) => byId.get(token.clientId)?.claims,
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    signingKey: { privateKey, kid },
    async token(clientId, resource, scope) {
      const client = byId.get(clientId)!;
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}) });
      const res = await fetch(`${issuer}/token`, {
        method: 'POST', body,
        headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
      });
      const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!json.access_token) throw new Error(`token for ${clientId}: ${res.status} ${json.error}: ${json.error_description}`);
      return json.access_token;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The clients every OAuth test world has, and what warden's role rules make of them. */
export const CLIENTS: TestClient[] = [
  { id: 'ops-bot', secret: 'ops-secret', scopes: ['warden:operator'] },
  // warden:read alone is readonly; its groups claim makes it admin (the claim rule comes first).
  { id: 'sre-bot', secret: 'sre-secret', scopes: ['warden:read'], claims: { groups: ['sre', 'dev'] } },
  { id: 'viewer', secret: 'viewer-secret', scopes: ['warden:read'] },
  { id: 'nobody', secret: 'nobody-secret', scopes: [], claims: { groups: ['marketing'] } },
  { id: 'hs-bot', secret: 'hs-secret', scopes: ['warden:operator'], hs256: true },
];

/** server.oauth for a warden at `resource` trusting `issuer`, as YAML; `extra` lines go under oauth. */
export function oauthConfigYaml(issuer: string, resource: string, extra: string[] = []): string {
  return [
    'server:',
    '  oauth:',
    `    issuer: ${issuer}`,
    `    resource: ${resource}`,
    '    scopesSupported: [warden:read, warden:operator, warden:admin]',
    '    roles:',
    '      - { scope: warden:admin, role: admin }',
    '      - { claim: groups, value: sre, role: admin }',
    '      - { scope: warden:operator, role: operator }',
    '      - { scope: warden:read, role: readonly }',
    ...extra.map((l) => `    ${l}`),
  ].join('\n');
}
