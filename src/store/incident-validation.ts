// The rules of a validated fix: a person confirms that a resolved incident's resolution was right,
// so search_incidents can boost it. Pure: IncidentStore.validate and unvalidate apply them in
// the audit's transaction. Only a person validates: never the loop, its first level, chaos or warden.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Incident } from '../shared/incidents.js';
import { redactText } from '../shared/redact.js';
import { isReservedPrincipal } from '../shared/roles.js';
import type { AuditInput } from './audit-entry.js';
import { canonicalJson, sha256 } from './canonical.js';

/** A note is read by the model beside the resolution: a few sentences, not a runbook. */
export const MAX_NOTE_CHARS = 1_000;
const MAX_BY_CHARS = 200;

export type ValidationTransport = 'cli' | 'console';

/** A person's confirmation, as an incident carries it (all three, or none). */
export interface Validation {
  by: string;
  at: string;
  note: string;
}

/** Why a validation or its withdrawal was refused; `reason` tells a caller which answer fits (404, 409, 400). */
export class ValidationRefused extends Error {
  constructor(message: string, readonly reason: 'unknown' | 'state' | 'input') {
    super(message);
    this.name = 'ValidationRefused';
  }
}

const Text = (field: string, max: number) => z.string().trim()
  .min(1, `${field}: required, say what you checked`)
  .max(max, `${field}: at most ${max} characters`);

/** The note (or withdrawal reason), trimmed and redacted: it reaches the audit, the console and the model. */
export function cleanText(field: 'note' | 'reason', text: string): string {
  const parsed = Text(field, MAX_NOTE_CHARS).safeParse(text);
  if (!parsed.success) throw new ValidationRefused(parsed.error.issues[0]!.message, 'input');
  return redactText(parsed.data);
}

/**
 * Who validates, trimmed. A reserved principal is refused in any letter case: the loop must never
 * confirm its own fixes, and "Loop" would read as the loop in every list.
 */
export function validator(by: string): string {
  const name = by.trim();
  if (name === '' || name.length > MAX_BY_CHARS || /\p{Cc}/u.test(name)) throw new ValidationRefused(`by: expected a person's name (1-${MAX_BY_CHARS} characters, no control characters)`, 'input');
  if (isReservedPrincipal(name.toLowerCase())) throw new ValidationRefused(`by: "${name}" is reserved for warden itself; only a person validates a fix`, 'input');
  return name;
}

/** Why this incident's fix cannot be validated now, or undefined when it can. */
export function cannotValidate(i: Incident): string | undefined {
  if (i.status === 'escalated') return `incident ${i.id} was escalated, not resolved: warden did not fix it, so there is no fix of its to confirm`;
  if (i.status !== 'resolved') return `incident ${i.id} is still ${i.status}: a fix can be validated once the incident is resolved`;
  if (!i.resolution?.trim()) return `incident ${i.id} has no resolution recorded: there is nothing to confirm`;
  if (i.validatedAt) return `incident ${i.id} was already validated by ${i.validatedBy ?? '?'} at ${i.validatedAt}; withdraw that first (warden incidents unvalidate ${i.id})`;
  return undefined;
}

/** The standing validation of an incident as read from the store, or null. */
export function validationOf(i: Pick<Incident, 'validatedBy' | 'validatedAt' | 'validatedNote'>): Validation | null {
  return i.validatedAt && i.validatedBy ? { by: i.validatedBy, at: i.validatedAt, note: i.validatedNote ?? '' } : null;
}

/** The audit entry of a validation or withdrawal, tagged with the incident so its timeline shows it. */
export function validationEntry(tool: 'incident.validate' | 'incident.unvalidate', id: string, by: string, transport: ValidationTransport, args: Record<string, unknown>, result: string): AuditInput {
  return {
    callId: `${tool}:${randomUUID()}`,
    principal: by, transport, tool, target: id, incidentId: id,
    args, argsHash: sha256(canonicalJson(args)), phase: 'completed', result: result.slice(0, 500),
  };
}
