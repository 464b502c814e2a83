// Which tools the first-level model is offered and may call: the configured subset, or by default
// every read tool and run_runbook (whose runbooks carry their own risk, which the gate decides).
// Checked against the whole catalog, so a typo stops warden at start rather than silently offering less.
import { InputError } from '../errors.js';
import type { AnyToolSpec } from '../tools/spec.js';

/** Beside the read tools: the inventory's vetted commands, the first level's way to fix what it can. */
export const FIRST_LEVEL_EXTRA_DEFAULTS = ['run_runbook'];

export function firstLevelTools(configured: readonly string[] | undefined, catalog: readonly AnyToolSpec[]): string[] {
  const known = new Set(catalog.map((t) => t.name));
  if (configured === undefined) {
    return catalog.filter((t) => (t.risk === 'read' && !t.resolvesRisk) || FIRST_LEVEL_EXTRA_DEFAULTS.includes(t.name)).map((t) => t.name);
  }
  const unknown = configured.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new InputError(`config loop.firstLevel.tools: ${unknown.map((u) => `"${u}"`).join(', ')} names no tool; known: ${[...known].sort().join(', ')}`);
  }
  return [...new Set(configured)];
}
