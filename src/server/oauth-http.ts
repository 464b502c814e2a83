// The HTTP face of OAuth on /mcp: which requests take the OAuth path, the WWW-Authenticate
// challenges of RFC 6750 / RFC 9728 / the MCP authorization spec, and the protected resource
// metadata document. A warden token (wdn_...) never takes this path.
import { issuerKeys } from '../adapters/oauth-keys.js';
import type { Logger } from '../log.js';
import { bearerToken } from './auth.js';
import { createOAuthVerifier, type OAuthCheck } from './oauth.js';
import { PRM_PATH, resourceMetadataUrl, resourcePathSuffix, scopeMismatches, type OAuthConfig } from './oauth-config.js';
import { json } from './responses.js';
import { TOKEN_PREFIX } from '../store/tokens.js';

export type Challenge =
  | { kind: 'missing' }
  | { kind: 'invalid_token'; description: string }
  | { kind: 'insufficient_scope'; description: string };

export interface OAuthGate {
  /** True when the request carries a bearer token that is not a warden token: the OAuth path answers. */
  handles(authorization: string | undefined): boolean;
  check(authorization: string | undefined): Promise<OAuthCheck>;
  /** The WWW-Authenticate value for a 401 or 403 on /mcp. */
  challenge(c: Challenge): string;
  /** Paths the metadata document is served at: the resource's own (RFC 9728 3.1), and the root form MCP clients fall back to. */
  metadataPaths: string[];
  metadata(): Response;
  /** Looks the issuer's keys up now, so a misconfiguration shows in the log at start rather than at the first call. */
  warm(): Promise<void>;
}

/** RFC 6750 section 3: error_description and scope take %x20-21 / %x23-5B / %x5D-7E only. */
function quotable(text: string, max = 200): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?').slice(0, max);
}

export function createOAuthGate(cfg: OAuthConfig, log: Logger): OAuthGate {
  const keys = issuerKeys({ issuer: cfg.issuer, jwksUri: cfg.jwksUri, timeoutMs: cfg.fetchTimeoutMs });
  const verifier = createOAuthVerifier(cfg, keys);
  const metadataUrl = resourceMetadataUrl(cfg.resource);
  const scope = cfg.scopesSupported?.length ? `, scope="${quotable(cfg.scopesSupported.join(' '), 2_000)}"` : '';
  // RFC 9728 3.3: a client drops a document whose resource is not the one it derived the URL from,
  // so no path is served for any other resource path (not /mcp behind a proxy that renames it).
  const metadataPaths = [...new Set([PRM_PATH, `${PRM_PATH}${resourcePathSuffix(cfg.resource)}`])];
  // No resource_signing_alg_values_supported: it names the algs warden would sign its responses
  // with (RFC 9728 section 2), and it signs none.
  const document = {
    resource: cfg.resource,
    authorization_servers: [cfg.issuer],
    ...(cfg.scopesSupported ? { scopes_supported: cfg.scopesSupported } : {}),
    bearer_methods_supported: ['header'],
    resource_name: 'warden',
  };
  for (const mismatch of scopeMismatches(cfg)) log.warn({ issuer: cfg.issuer }, `oauth: ${mismatch}`);
  let lastKeysWarningMs = 0;

  return {
    handles(authorization) {
      const token = bearerToken(authorization);
      return token !== undefined && !token.startsWith(TOKEN_PREFIX);
    },
    async check(authorization) {
      const checked = await verifier.check(bearerToken(authorization) ?? '');
      // Once a minute at most: a flood of tokens during an outage must not flood the log too.
      if (!checked.ok && checked.status === 503 && Date.now() - lastKeysWarningMs > 60_000) {
        lastKeysWarningMs = Date.now();
        log.warn({ issuer: cfg.issuer }, 'oauth: the issuer\'s signing keys cannot be fetched; OAuth callers get 503');
      }
      return checked;
    },
    challenge(c) {
      const base = `Bearer realm="warden", resource_metadata="${metadataUrl}"`;
      if (c.kind === 'missing') return `${base}${scope}`;
      const described = `error_description="${quotable(c.description)}"`;
      if (c.kind === 'invalid_token') return `${base}, error="invalid_token", ${described}`;
      return `${base}, error="insufficient_scope"${scope}, ${described}`;
    },
    metadataPaths,
    metadata: () => json(document, 200, { 'cache-control': 'max-age=300' }),
    async warm() {
      const failed = await keys.warm();
      if (failed) log.warn({ issuer: cfg.issuer, reason: failed }, 'oauth: the issuer\'s signing keys cannot be found yet; OAuth callers get 503 until they can');
    },
  };
}
