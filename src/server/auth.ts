// Who is calling the HTTP gateway: a bearer token's principal and role, and what each role may
// reach. Issuing and revoking tokens is audited here; the tokens themselves are never logged.
import { parseDurationMs } from '../shared/durations.js';
import { randomUUID } from 'node:crypto';
import { InputError } from '../errors.js';
import { LOOP_PRINCIPAL, SYSTEM_PRINCIPAL, type Role } from '../shared/roles.js';
import type { AuditLog } from '../store/audit.js';
import { canonicalJson, sha256 } from '../store/canonical.js';
import type { TokenRecord, TokenStore } from '../store/tokens.js';

export interface Principal {
  tokenId: number;
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

export function authenticate(tokens: TokenStore, authorization: string | undefined | null): AuthResult {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return { ok: false, reason: 'missing bearer token: send Authorization: Bearer <token>' };
  const checked = tokens.check(match[1]!);
  if (!checked.ok) return { ok: false, reason: WHY[checked.why]!, ...('name' in checked ? { principal: checked.name } : {}) };
  return { ok: true, who: { tokenId: checked.token.id, principal: checked.token.name, role: checked.token.role } };
}

/** `loop` is the autonomous loop's own principal and `warden` warden's (recovery): no token or person may speak as them. */
export const RESERVED_PRINCIPALS = [LOOP_PRINCIPAL, SYSTEM_PRINCIPAL];
const PRINCIPAL = /^[A-Za-z0-9_.@-]{1,64}$/;

export function checkPrincipalName(name: string, flag = '--principal'): void {
  if (!PRINCIPAL.test(name)) throw new InputError(`${flag} "${name}": expected 1-64 letters, digits or . _ @ -`);
  if (RESERVED_PRINCIPALS.includes(name)) throw new InputError(`${flag} "${name}" is reserved for warden itself`);
}

/** `30d`, `12h`, `90m`, `2w` (parts add up: `1h30m`) -> milliseconds. */
export function parseDuration(text: string): number {
  const ms = parseDurationMs(text);
  if (!ms) throw new InputError(`--expires "${text}": expected a positive duration such as 90m, 12h, 30d or 2w`);
  return ms;
}

interface TokenAudit {
  tokens: TokenStore;
  audit: AuditLog;
}

function auditToken(audit: AuditLog, tool: 'tokens.create' | 'tokens.revoke', by: string, name: string, args: Record<string, unknown>, result: string): void {
  audit.append({
    callId: `token:${randomUUID()}`, principal: by, transport: 'cli', tool, target: name,
    args, argsHash: sha256(canonicalJson(args)), phase: 'completed', result,
  });
}

export function issueToken(
  { tokens, audit }: TokenAudit,
  req: { principal: string; role: Role; expiresInMs?: number; by: string },
  now = new Date(),
): { token: string; record: TokenRecord } {
  checkPrincipalName(req.principal);
  const expiresAt = req.expiresInMs === undefined ? null : new Date(now.getTime() + req.expiresInMs);
  const made = tokens.create(req.principal, req.role, expiresAt, now);
  auditToken(audit, 'tokens.create', req.by, req.principal, { principal: req.principal, role: req.role, expiresAt: made.record.expiresAt },
    `token for ${req.principal} (${req.role}) created, expires ${made.record.expiresAt ?? 'never'}`);
  return made;
}

export function revokeToken({ tokens, audit }: TokenAudit, name: string, by: string): boolean {
  const revoked = tokens.revoke(name);
  if (revoked) auditToken(audit, 'tokens.revoke', by, name, { principal: name }, `token for ${name} revoked`);
  return revoked;
}
