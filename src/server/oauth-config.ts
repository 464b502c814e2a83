// `server.oauth`: /mcp as an OAuth 2.1 resource server (MCP authorization, RFC 9728, RFC 8707).
// Only the schema and what follows from it; config.ts holds it under `server`. It never reads the network.
import { z } from 'zod';
import { secureUrlProblem } from '../shared/secure-url.js';

const SecureUrl = z.url().superRefine((u, ctx) => {
  // z.url() has already said so when it is not a URL at all.
  const problem = URL.canParse(u) ? secureUrlProblem(u) : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** RFC 6749 section 3.3's scope-token: the characters a scope may hold, and what RFC 6750 lets us quote back in a challenge. */
const ScopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'one scope token: printable ASCII, no spaces, quotes or backslashes');

/**
 * Why `resource` is not in the one form clients send back, if it is not. MCP clients parse it as a
 * URL, send `href` as RFC 8707's resource= and check the path they dial starts with its path: any
 * other spelling (trailing slash, :443, upper-case host, no `/` after the origin) loads, yet no
 * client can ever get in. Refused rather than normalised, so the aud to configure at the
 * authorization server is the string written here.
 */
function resourceProblem(u: string): string | undefined {
  const url = new URL(u);
  if (u.includes('#')) return 'no fragment (RFC 8707)';
  if (u.includes('?')) return 'no query (RFC 8707): clients compare the resource by origin and path';
  if (url.pathname !== '/' && url.pathname.endsWith('/')) {
    return `no trailing slash: clients dial ${url.origin}${url.pathname.replace(/\/+$/, '')} and compare the path exactly`;
  }
  if (url.href !== u) return `write it as clients send it back: ${url.href}`;
  return undefined;
}

/** Asymmetric JWS algorithms only: `none` and the HS* family (a secret shared with every client) are never accepted. */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const ClaimName = z.string().regex(/^[A-Za-z0-9_:./-]{1,128}$/, 'a claim name: letters, digits and _ : . / -');
/** A name is one top-level claim, dots and all; a nested claim is named by an explicit list, never by splitting at dots. */
const ClaimPath = z.union([ClaimName, z.array(ClaimName).min(1).max(8)]);
export type ClaimPath = z.infer<typeof ClaimPath>;

/** One rule: a scope the token holds, or a claim value (equal, or one of an array's items) -> a role. */
const RoleRule = z
  .strictObject({
    scope: ScopeToken.optional()
      .describe('granted when the token\'s scope (or scp) holds this scope'),
    claim: ClaimPath.optional().describe('granted when this claim equals value, or is an array holding it; a list is a path into nested claims ([realm_access, roles]), a name is one top-level claim even with dots in it'),
    value: z.string().min(1).max(256).optional(),
    role: z.enum(['readonly', 'operator', 'admin']).describe('the warden role it gives on /mcp'),
  })
  .superRefine((rule, ctx) => {
    const byScope = rule.scope !== undefined;
    const byClaim = rule.claim !== undefined || rule.value !== undefined;
    if (byScope === byClaim) ctx.addIssue({ code: 'custom', message: 'give either scope, or claim and value' });
    else if (byClaim && (rule.claim === undefined || rule.value === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a claim rule needs both claim and value' });
    }
  });

export const OAuthConfig = z.strictObject({
  issuer: SecureUrl.describe('the authorization server\'s issuer identifier; tokens must carry exactly this iss'),
  resource: SecureUrl.superRefine((u, ctx) => {
    const problem = URL.canParse(u) ? resourceProblem(u) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
    .describe('this server\'s canonical MCP URL as clients dial it, e.g. https://warden.example/mcp; tokens must name it in aud'),
  audience: z.array(z.string().min(1).max(512)).min(1).optional()
    .describe('aud values accepted instead of resource, for an authorization server that names the API otherwise (api://...)'),
  jwksUri: SecureUrl.optional().describe('where the signing keys are; default: jwks_uri from the issuer\'s metadata'),
  scopesSupported: z.array(ScopeToken).optional()
    .describe('advertised in /.well-known/oauth-protected-resource; clients request these'),
  principalClaim: ClaimName.default('sub').describe('the top-level claim that names the caller in the audit (sub, email, preferred_username, ...)'),
  roles: z.array(RoleRule).min(1).describe('first match wins; a token that matches none is refused (403), never given a default role'),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default([...ASYMMETRIC_ALGS]),
  requireAtJwt: z.boolean().default(false)
    .describe('accept typ at+jwt (RFC 9068) only, which no OpenID ID token carries; for issuers that write it (many write JWT)'),
  clockSkewSeconds: z.number().int().min(0).max(300).default(60).describe('allowance on exp and nbf'),
  fetchTimeoutMs: z.number().int().min(100).max(30_000).default(5_000).describe('for the issuer\'s metadata and keys'),
});
export type OAuthConfig = z.infer<typeof OAuthConfig>;
export type RoleRule = z.infer<typeof RoleRule>;

export const PRM_PATH = '/.well-known/oauth-protected-resource';

/** The path after PRM_PATH for this resource: its own path, '' for an origin (resource has no trailing slash, see above). */
export function resourcePathSuffix(resource: string): string {
  const path = new URL(resource).pathname;
  return path === '/' ? '' : path;
}

/** RFC 9728 section 3.1: the well-known path is inserted between the resource's origin and its path. */
export function resourceMetadataUrl(resource: string): string {
  return `${new URL(resource).origin}${PRM_PATH}${resourcePathSuffix(resource)}`;
}

/**
 * Where scopesSupported and the roles' scopes disagree: clients request the advertised scopes, so a
 * role scope not advertised is never asked for, and an advertised scope no role maps earns a 403.
 */
export function scopeMismatches(cfg: Pick<OAuthConfig, 'scopesSupported' | 'roles'>): string[] {
  const roleScopes = cfg.roles.flatMap((r) => (r.scope === undefined ? [] : [r.scope]));
  if (cfg.scopesSupported === undefined) {
    return roleScopes.length ? [`server.oauth.scopesSupported is not set: clients are not told to request ${roleScopes.join(', ')}`] : [];
  }
  const advertised = new Set(cfg.scopesSupported);
  const mapped = new Set(roleScopes);
  return [
    ...[...mapped].filter((s) => !advertised.has(s)).map((s) => `server.oauth.roles maps scope ${s}, which scopesSupported does not list: clients will not request it`),
    ...[...advertised].filter((s) => !mapped.has(s)).map((s) => `server.oauth.scopesSupported lists ${s}, which no role maps: a token holding only it is refused (403)`),
  ];
}
