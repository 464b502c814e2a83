// Checks an OAuth access token (a JWT from the configured issuer) and maps it to a warden principal
// and role. What the caller is told is one of a few fixed sentences: nothing from the token (which
// an attacker wrote) is echoed, and the token itself is never logged or kept.
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { KeysUnavailable, type IssuerKeys } from '../adapters/oauth-keys.js';
import type { Role } from '../shared/roles.js';
import { sha256 } from '../store/canonical.js';
import type { Principal } from './auth.js';
import type { ClaimPath, OAuthConfig, RoleRule } from './oauth-config.js';

/** Prefix of every OAuth caller's principal: it cannot collide with a warden token's, nor with `loop` or `warden`. */
export const OAUTH_PRINCIPAL_PREFIX = 'oauth:';

export type OAuthCheck =
  | { ok: true; who: Principal }
  /** 401 invalid_token: the client should get a new token. */
  | { ok: false; status: 401; reason: string }
  /** 403 insufficient_scope: the token is good, its holder may not use warden. `principal` is verified. */
  | { ok: false; status: 403; reason: string; principal: string }
  /** 503: the issuer's keys could not be fetched; nobody's token can be checked now. */
  | { ok: false; status: 503; reason: string };

/** Far above any real access token (a few KiB), far below what a client could make us parse. */
export const MAX_TOKEN_CHARS = 8_192;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** RFC 9068 names at+jwt; many issuers still write JWT. Media types compare without case. */
const AT_TYPS = new Set(['at+jwt', 'application/at+jwt']);
const TYPS = new Set([...AT_TYPS, 'jwt']);
/**
 * Claims only an OpenID ID token carries (OIDC Core 3.1.3.6, 3.3.2.11, FAPI s_hash): an ID token
 * is for the client, never a bearer for an API. `nonce` is not among them: older Keycloak
 * releases put it in access tokens too.
 */
const ID_TOKEN_CLAIMS = ['at_hash', 'c_hash', 's_hash'];
/** A principal is written to the audit and shown in lists: printable ASCII (no bidi or zero-width tricks), no spaces, bounded. */
const PRINCIPAL_VALUE = /^[\x21-\x7E]{1,128}$/;

const refuse = (reason: string): OAuthCheck => ({ ok: false, status: 401, reason });

/**
 * A claim by its exact name (namespaced claims such as https://x.example/groups hold dots), or down
 * an explicit path of names. Never both: a name read either way could be met by a nested value
 * that someone else controls (a user-editable profile attribute) when the top-level claim is absent.
 */
function claimOf(payload: JWTPayload, claim: ClaimPath): unknown {
  let at: unknown = payload;
  for (const part of [claim].flat()) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** `scope` is a space-separated string (RFC 9068); some issuers write `scp`, as a string or an array. */
export function scopesOf(payload: JWTPayload): Set<string> {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return new Set(raw.split(' ').filter(Boolean));
  if (Array.isArray(raw)) return new Set(raw.filter((s): s is string => typeof s === 'string'));
  return new Set();
}

export function roleFor(payload: JWTPayload, rules: readonly RoleRule[]): Role | undefined {
  const scopes = scopesOf(payload);
  for (const rule of rules) {
    if (rule.scope !== undefined) {
      if (scopes.has(rule.scope)) return rule.role;
      continue;
    }
    const value = claimOf(payload, rule.claim!);
    if (value === rule.value || (Array.isArray(value) && value.includes(rule.value))) return rule.role;
  }
  return undefined;
}

/** What jose said, as one of our sentences. Never the library's message: it can quote the token's claims. */
function reasonOf(err: unknown, cfg: OAuthConfig): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return `token not issued by ${cfg.issuer}`;
    if (err.claim === 'aud') return `token not issued for ${cfg.resource} (aud)`;
    if (err.claim === 'nbf') return 'token not valid yet (nbf)';
    if (err.claim === 'typ') return 'token typ is not at+jwt or JWT';
    return `token claim ${err.claim} missing or invalid`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return `token alg not accepted (accepted: ${cfg.algorithms.join(', ')})`;
  if (err instanceof errors.JWKSNoMatchingKey) return 'token signed with a key the issuer does not publish (kid unknown)';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  return 'malformed token';
}

export interface OAuthVerifier {
  check(token: string): Promise<OAuthCheck>;
}

export function createOAuthVerifier(cfg: OAuthConfig, keys: IssuerKeys): OAuthVerifier {
  const audience = cfg.audience ?? [cfg.resource];
  return {
    async check(token) {
      if (token.length > MAX_TOKEN_CHARS) return refuse(`token over ${MAX_TOKEN_CHARS} characters`);
      if (!JWS_COMPACT.test(token)) return refuse('not a signed JWT (nor a warden token: those start wdn_)');
      let header;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        return refuse('malformed token');
      }
      // Checked before any key is looked up: `none` and HS* never reach the key set.
      if (typeof header.alg !== 'string' || !(cfg.algorithms as readonly string[]).includes(header.alg)) {
        return refuse(`token alg not accepted (accepted: ${cfg.algorithms.join(', ')})`);
      }
      const typs = cfg.requireAtJwt ? AT_TYPS : TYPS;
      if (typeof header.typ !== 'string' || !typs.has(header.typ.toLowerCase())) return refuse(cfg.requireAtJwt ? 'token typ is not at+jwt' : 'token typ is not at+jwt or JWT');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys.getKey, {
          issuer: cfg.issuer, audience, algorithms: cfg.algorithms, clockTolerance: cfg.clockSkewSeconds, requiredClaims: ['exp', 'sub'],
        }));
      } catch (err) {
        if (err instanceof KeysUnavailable) return { ok: false, status: 503, reason: 'the authorization server\'s signing keys cannot be fetched now; retry shortly' };
        return refuse(reasonOf(err, cfg));
      }
      if (ID_TOKEN_CLAIMS.some((c) => Object.hasOwn(payload, c))) return refuse('an OpenID ID token, not an access token (at_hash, c_hash or s_hash)');
      const named = claimOf(payload, cfg.principalClaim);
      if (typeof named !== 'string' || !PRINCIPAL_VALUE.test(named)) return refuse(`token has no usable ${cfg.principalClaim} claim`);
      const principal = `${OAUTH_PRINCIPAL_PREFIX}${named}`;
      const role = roleFor(payload, cfg.roles);
      if (!role) return { ok: false, status: 403, principal, reason: `${principal}: no scope or claim of this token maps to a warden role (server.oauth.roles)` };
      // Sessions bind to issuer, subject, principal and role: a refreshed token of the same user
      // reaches the session; another user, or the same one with another role, does not.
      const bindKey = `oauth:${sha256([cfg.issuer, payload.sub, principal, role].join('\n'))}`;
      return { ok: true, who: { bindKey, principal, role } };
    },
  };
}
