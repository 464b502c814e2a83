// Who is calling the HTTP gateway: a bearer token's principal and role, and what each role may
// reach. Issuing and revoking tokens is audited here; the tokens themselves are never logged.
import { MAX_LIFETIME_MS, MAX_LIFETIME_TEXT, parseDurationMs } from '../shared/durations.js';
import { randomUUID } from 'node:crypto';
import { InputError } from '../errors.js';
import { RESERVED_PRINCIPALS, type Role } from '../shared/roles.js';
import type { AuditLog } from '../store/audit.js';
import { canonicalJson, sha256 } from '../store/canonical.js';
import { DEFAULT_TOKEN_LIFETIME_MS, type TokenRecord, type TokenStore } from '../store/tokens.js';

export interface Principal {
  /** The warden token's id; absent for an OAuth caller. */
  tokenId?: number;
  /**
   * What 2025-11-25 sessions and per-caller limits bind to: `token:<id>` for a warden token,
   * `oauth:<hash of issuer, subject, principal, role>` for an OAuth caller (server/oauth.ts).
   */
  bindKey: string;
  principal: string;
  role: Role;
}

/** A refusal names the principal when the token is ours but expired or revoked. */
export type AuthResult = { ok: true; who: Principal } | { ok: false; reason: string; principal?: string };

export type Route = 'mcp' | 'approvals' | 'metrics' | 'alerts';

/** `alerts` tokens may only post alerts; readonly reaches tools (the gate allows it reads only). */
export const ROUTE_ROLES: Record<Route, readonly Role[]> = {
  mcp: ['readonly', 'operator', 'admin'],
  approvals: ['operator', 'admin'],
  metrics: ['readonly', 'operator', 'admin'],
  alerts: ['alerts', 'operator', 'admin'],
};

const WHY: Record<string, string> = {
  malformed: 'not a warden token (expected wdn_...)',
  unknown: 'unknown token',
  expired: 'token expired',
  revoked: 'token revoked',
};

/**
 * The token of `Authorization: Bearer <token>`: the scheme in any case (RFC 7235), the token in
 * RFC 6750's b64token characters; undefined for any other shape (two headers joined by a comma too).
 */
export function bearerToken(authorization: string | undefined | null): string | undefined {
  return /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '')?.[1];
}

export function authenticate(tokens: TokenStore, authorization: string | undefined | null): AuthResult {
  const token = bearerToken(authorization);
  if (token === undefined) return { ok: false, reason: 'missing bearer token: send Authorization: Bearer <token>' };
  const checked = tokens.check(token);
  if (!checked.ok) return { ok: false, reason: WHY[checked.why]!, ...('name' in checked ? { principal: checked.name } : {}) };
  // A token made before its name was reserved (chaos, loop-n1 came later) must not speak as warden.
  if (RESERVED_PRINCIPALS.includes(checked.token.name)) {
    return { ok: false, reason: `token of principal "${checked.token.name}", a name reserved for warden itself: revoke it (warden tokens revoke --id ${checked.token.id})`, principal: checked.token.name };
  }
  return { ok: true, who: { tokenId: checked.token.id, bindKey: `token:${checked.token.id}`, principal: checked.token.name, role: checked.token.role } };
}

/** `loop`, `loop-n1`, `warden` and `chaos` are warden's own principals (shared/roles.ts): no token or person may speak as them. */
export { RESERVED_PRINCIPALS };
const PRINCIPAL = /^[A-Za-z0-9_.@-]{1,64}$/;

export function checkPrincipalName(name: string, flag = '--principal'): void {
  if (!PRINCIPAL.test(name)) throw new InputError(`${flag} "${name}": expected 1-64 letters, digits or . _ @ -`);
  if (RESERVED_PRINCIPALS.includes(name)) throw new InputError(`${flag} "${name}" is reserved for warden itself`);
}

/** `30d`, `12h`, `90m`, `2w` (parts add up: `1h30m`) -> milliseconds, at most MAX_LIFETIME_MS; `flag` names the option in the error. */
export function parseDuration(text: string, flag = '--expires'): number {
  const ms = parseDurationMs(text);
  if (!ms) throw new InputError(`${flag} "${text}": expected a positive duration such as 90m, 12h, 30d or 2w`);
  if (ms > MAX_LIFETIME_MS) throw new InputError(`${flag} "${text.length > 40 ? `${text.slice(0, 40)}...` : text}": at most ${MAX_LIFETIME_TEXT}${flag === '--expires' ? ', or never' : ''}`);
  return ms;
}

/** `--expires`: a duration, or `never` (null) for a token that never expires, said explicitly. */
export function parseExpiry(text: string): number | null {
  return text.trim().toLowerCase() === 'never' ? null : parseDuration(text);
}

/** `--overlap`: how long rotated tokens keep working; `0` ends them at once. */
export function parseOverlap(text: string): number {
  return /^0+[smhdw]?$/.test(text.trim()) ? 0 : parseDuration(text, '--overlap');
}

interface TokenAudit {
  tokens: TokenStore;
  audit: AuditLog;
}

type TokenChange = 'tokens.create' | 'tokens.rotate' | 'tokens.revoke';

/** One completed entry per change; `args` names tokens by id and principal, never a secret or a hash. */
function auditToken(audit: AuditLog, tool: TokenChange, by: string, name: string, args: Record<string, unknown>, result: string, transport: 'cli' | 'console' = 'cli'): void {
  audit.append({
    callId: `token:${randomUUID()}`, principal: by, transport, tool, target: name,
    args, argsHash: sha256(canonicalJson(args)), phase: 'completed', result,
  });
}

/** `expiresInMs`: undefined for the default lifetime (DEFAULT_TOKEN_LIFETIME_MS), null for never. */
export function issueToken(
  { tokens, audit }: TokenAudit,
  req: { principal: string; role: Role; expiresInMs?: number | null; by: string },
  now = new Date(),
): { token: string; record: TokenRecord } {
  checkPrincipalName(req.principal);
  const lifetime = req.expiresInMs === undefined ? DEFAULT_TOKEN_LIFETIME_MS : req.expiresInMs;
  const expiresAt = lifetime === null ? null : new Date(now.getTime() + lifetime);
  // The token and its entry commit together: no token exists that the audit does not show.
  return audit.atomically(() => {
    const made = tokens.create(req.principal, req.role, expiresAt, now);
    auditToken(audit, 'tokens.create', req.by, req.principal, { principal: req.principal, tokenId: made.record.id, role: req.role, expiresAt: made.record.expiresAt },
      `token ${made.record.id} for ${req.principal} (${req.role}) created, expires ${made.record.expiresAt ?? 'never'}`);
    return made;
  });
}

/** Why a rotation cannot be done, in words for the command line. */
export class TokenRotationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRotationRefused';
  }
}

/**
 * A new token for `principal` with the role of its newest active token and the same lifetime (or
 * `expiresInMs`: null for never); every older active token then ends `overlapMs` from now. Refused
 * when the principal has no active token, or active tokens of different roles (which one to keep
 * would be a guess).
 */
export function rotateToken(
  { tokens, audit }: TokenAudit,
  req: { principal: string; overlapMs: number; expiresInMs?: number | null; by: string },
  now = new Date(),
): { token: string; record: TokenRecord; old: TokenRecord[] } {
  // A reserved name (a token made before it was reserved) is never renewed.
  checkPrincipalName(req.principal, 'principal');
  // Read, decided and written in one transaction: a rotation racing another sees its result.
  return audit.atomically(() => {
    const current = tokens.active(req.principal, now);
    const newest = current[0];
    if (!newest) throw new TokenRotationRefused(`${req.principal} has no active token to rotate; make one with warden tokens create --principal ${req.principal} --role ROLE`);
    const roles = [...new Set(current.map((t) => t.role))];
    if (roles.length > 1) {
      throw new TokenRotationRefused(`${req.principal} has active tokens of different roles (${roles.join(', ')}); make the one you want with warden tokens create and revoke the others with warden tokens revoke --id ID`);
    }
    // An inherited lifetime is held to what --expires accepts: a token made before that bound could carry more.
    const lifetime = req.expiresInMs !== undefined ? req.expiresInMs
      : newest.expiresAt === null ? null : Math.min(MAX_LIFETIME_MS, Math.max(1, Date.parse(newest.expiresAt) - Date.parse(newest.createdAt)));
    const oldEndAt = new Date(now.getTime() + req.overlapMs);
    const made = tokens.rotate(req.principal, newest.role, lifetime === null ? null : new Date(now.getTime() + lifetime), oldEndAt, now);
    const old = made.old.map((t) => ({ tokenId: t.id, expiresAt: t.expiresAt }));
    auditToken(audit, 'tokens.rotate', req.by, req.principal,
      { principal: req.principal, tokenId: made.record.id, role: made.record.role, expiresAt: made.record.expiresAt, overlapMs: req.overlapMs, old },
      `token ${made.record.id} for ${req.principal} (${made.record.role}) replaces ${old.map((o) => o.tokenId).join(', ')}, which end ${req.overlapMs === 0 ? 'now' : `at ${oldEndAt.toISOString()}`}`);
    return made;
  });
}

/** Revokes one token (`id`) or every token of a principal; the tokens it revoked, each audited in one entry (`transport`: where `by` asked). */
export function revokeToken({ tokens, audit }: TokenAudit, which: { id: number } | { principal: string }, by: string, transport: 'cli' | 'console' = 'cli'): TokenRecord[] {
  return audit.atomically(() => {
    const revoked = 'id' in which ? [tokens.revokeId(which.id)].filter((t): t is TokenRecord => t !== undefined) : tokens.revokePrincipal(which.principal);
    const first = revoked[0];
    if (first) {
      const ids = revoked.map((t) => t.id);
      auditToken(audit, 'tokens.revoke', by, first.name, { principal: first.name, tokenIds: ids, selectedBy: 'id' in which ? 'id' : 'principal' },
        `token${ids.length === 1 ? '' : 's'} ${ids.join(', ')} of ${first.name} revoked`, transport);
    }
    return revoked;
  });
}
