// The roles a principal can hold: what the gateway, the tokens and the policy all speak of.

export const ROLES = ['readonly', 'operator', 'admin', 'alerts'] as const;
export type Role = (typeof ROLES)[number];

/** The autonomous loop's principal: reserved, never a token's, and never an approver. */
export const LOOP_PRINCIPAL = 'loop';

/** warden itself (finishing a change a crash left open, cancelling approvals): reserved like the loop's. */
export const SYSTEM_PRINCIPAL = 'warden';
