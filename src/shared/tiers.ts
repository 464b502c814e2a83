// Risk tiers and what they imply: the default decision, and the four MCP annotations derived
// in one place so every tool has all four set (the SDK's defaults assume the worst).

export const RISKS = ['read', 'low', 'medium', 'high'] as const;
export type Risk = (typeof RISKS)[number];

export const DECISIONS = ['allow', 'notify', 'approve', 'deny'] as const;
export type Decision = (typeof DECISIONS)[number];

export const DEFAULT_DECISION: Record<Risk, Decision> = {
  read: 'allow',
  low: 'notify',
  medium: 'approve',
  high: 'approve',
};

const STRICTNESS: Record<Decision, number> = { allow: 0, notify: 1, approve: 2, deny: 3 };

export function stricter(a: Decision, b: Decision): Decision {
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Reads are idempotent and harmless; low-risk writes (restart, reload) are repeatable, not destructive. */
export function annotationsFor(risk: Risk, opts: { openWorld?: boolean; idempotent?: boolean } = {}): ToolAnnotations {
  return {
    readOnlyHint: risk === 'read',
    destructiveHint: risk === 'medium' || risk === 'high',
    idempotentHint: opts.idempotent ?? (risk === 'read' || risk === 'low'),
    // Every tool here reaches real infrastructure outside the server's own state.
    openWorldHint: opts.openWorld ?? true,
  };
}
