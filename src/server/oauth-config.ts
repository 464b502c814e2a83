// `server.oauth`: /mcp as an OAuth 2.1 resource server (MCP authorization, RFC 9728, RFC 8707).
// Only the schema and what follows from it; config.ts holds it under `server`. It never reads the network.
import { z } from 'zod';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http on a loopback address (a local authorization server, tests): the spec asks for TLS everywhere else. */
const SecureUrl = z.url().refine((u) => {
  const url = new URL(u);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}, 'expected an https:// URL (http:// only on 127.0.0.1, localhost or [::1])');

/** Asymmetric JWS algorithms only: `none` and the HS* family (a secret shared with every client) are never accepted. */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const ClaimName = z.string().regex(/^[A-Za-z0-9_:./-]{1,128}$/, 'a claim name: letters, digits and _ : . / -');

/** One rule: a scope the token holds, or a claim value (equal, or one of an array's items) -> a role. */
const RoleRule = z
  .strictObject({
    scope: z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'one scope token (no spaces or quotes)').optional()
      .describe('granted when the token\'s scope (or scp) holds this scope'),
    claim: ClaimName.optional().describe('granted when this claim equals value, or is an array holding it; a.b reads nested claims'),
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
  resource: SecureUrl.refine((u) => !u.includes('#'), 'no fragment (RFC 8707)')
    .describe('this server\'s canonical MCP URL as clients dial it, e.g. https://warden.example/mcp; tokens must name it in aud'),
  audience: z.array(z.string().min(1).max(512)).min(1).optional()
    .describe('aud values accepted instead of resource, for an authorization server that names the API otherwise (api://...)'),
  jwksUri: SecureUrl.optional().describe('where the signing keys are; default: jwks_uri from the issuer\'s metadata'),
  scopesSupported: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'one scope token')).optional()
    .describe('advertised in /.well-known/oauth-protected-resource; clients request these'),
  principalClaim: ClaimName.default('sub').describe('the claim that names the caller in the audit (sub, email, preferred_username, ...)'),
  roles: z.array(RoleRule).min(1).describe('first match wins; a token that matches none is refused (403), never given a default role'),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default([...ASYMMETRIC_ALGS]),
  clockSkewSeconds: z.number().int().min(0).max(300).default(60).describe('allowance on exp and nbf'),
  fetchTimeoutMs: z.number().int().min(100).max(30_000).default(5_000).describe('for the issuer\'s metadata and keys'),
});
export type OAuthConfig = z.infer<typeof OAuthConfig>;
export type RoleRule = z.infer<typeof RoleRule>;

export const PRM_PATH = '/.well-known/oauth-protected-resource';

/** RFC 9728 section 3.1: the well-known path is inserted between the resource's origin and its path. */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}${PRM_PATH}${path}`;
}
