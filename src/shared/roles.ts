// The roles a principal can hold: what the gateway, the tokens and the policy all speak of.

export const ROLES = ['readonly', 'operator', 'admin', 'alerts'] as const;
export type Role = (typeof ROLES)[number];

/** The autonomous loop's principal: reserved, never a token's, and never an approver. */
export const LOOP_PRINCIPAL = 'loop';

/** warden itself (finishing a change a crash left open, cancelling approvals): reserved like the loop's. */
export const SYSTEM_PRINCIPAL = 'warden';

/** The first-level model of the loop (a local model behind an OpenAI-compatible API): reserved like the loop's. */
export const LOOP_N1_PRINCIPAL = 'loop-n1';

/** The loop's principals, one per level of model: what holds for the loop holds for each (safe mode, never an approver, its own stops). */
export const LOOP_PRINCIPALS: readonly string[] = [LOOP_PRINCIPAL, LOOP_N1_PRINCIPAL];

export function isLoopPrincipal(principal: string | null | undefined): boolean {
  return principal !== null && principal !== undefined && LOOP_PRINCIPALS.includes(principal);
}

/** `warden chaos run`'s fault injections: reserved, so no token or person speaks as it. */
export const CHAOS_PRINCIPAL = 'chaos';

/** Principals warden itself acts as: no token, config entry or Slack mapping may name one. */
export const RESERVED_PRINCIPALS: readonly string[] = [LOOP_PRINCIPAL, SYSTEM_PRINCIPAL, LOOP_N1_PRINCIPAL, CHAOS_PRINCIPAL];

export function isReservedPrincipal(principal: string): boolean {
  return RESERVED_PRINCIPALS.includes(principal);
}
