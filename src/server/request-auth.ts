// Who is calling an authenticated HTTP route: a warden token (wdn_...), or on /mcp with server.oauth
// an OAuth JWT. Answers the principal, or the refusal to send with the challenge the client needs;
// whether that principal's role may use the route, and its rate, are http.ts's to decide.
import type { TokenStore } from '../store/tokens.js';
import { authenticate, type Principal, type Route } from './auth.js';
import type { OAuthGate } from './oauth-http.js';
import { ANONYMOUS } from './refusal-audit.js';

export type RequestAuth =
  | { ok: true; who: Principal }
  /** `principal` is what the audit names: ANONYMOUS unless the token was verified (or is ours, expired or revoked). */
  | { ok: false; status: 401 | 403 | 503; reason: string; principal: string; headers: Record<string, string> };

export type AuthenticateRequest = (authorization: string | undefined, route: Route) => Promise<RequestAuth>;

export function createRequestAuth(tokens: TokenStore, oauth: OAuthGate | undefined): AuthenticateRequest {
  /** An OAuth token on /mcp: 401 or 403 with the challenge of the MCP spec; 503 while the issuer's keys are out of reach. */
  const viaOAuth = async (gate: OAuthGate, authorization: string | undefined): Promise<RequestAuth> => {
    const checked = await gate.check(authorization);
    if (checked.ok) return checked;
    const { status, reason } = checked;
    if (status === 503) return { ok: false, status, reason, principal: ANONYMOUS, headers: { 'retry-after': '5' } };
    if (status === 403) {
      return { ok: false, status, reason, principal: checked.principal, headers: { 'www-authenticate': gate.challenge({ kind: 'insufficient_scope', description: reason }) } };
    }
    return { ok: false, status, reason, principal: ANONYMOUS, headers: { 'www-authenticate': gate.challenge({ kind: 'invalid_token', description: reason }) } };
  };

  return async (authorization, route) => {
    // OAuth reaches /mcp only; a wdn_ token, or no bearer at all, takes the warden-token path.
    const gate = route === 'mcp' ? oauth : undefined;
    if (gate?.handles(authorization)) return viaOAuth(gate, authorization);
    const auth = authenticate(tokens, authorization);
    if (auth.ok) return auth;
    const presented = authorization !== undefined;
    // On /mcp with OAuth, even a missing or bad wdn_ token gets the challenge that points MCP clients at the metadata.
    const challenge = gate
      ? gate.challenge(presented ? { kind: 'invalid_token', description: auth.reason } : { kind: 'missing' })
      : `Bearer realm="warden"${presented ? ', error="invalid_token"' : ''}`;
    return { ok: false, status: 401, reason: auth.reason, principal: auth.principal ?? ANONYMOUS, headers: { 'www-authenticate': challenge } };
  };
}
