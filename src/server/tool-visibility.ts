// Which tools a caller may ever call under a policy, and which of them always wait for a human:
// what tools/list shows each caller. Pure, and conservative in one direction only: a tool is
// hidden when no request of this caller could be anything but denied, never on a guess. The guard
// still decides every call, listed or not, so a hidden tool called anyway is refused and audited.
import type { Policy } from '../policy/policy-file.js';
import type { Role } from '../shared/roles.js';
import { RISKS, type Decision, type Risk } from '../shared/tiers.js';
import type { AnyToolSpec } from '../tools/spec.js';

export interface ToolView {
  name: string;
  /** Every call this caller can make of it is held for a human's approval (when it is not denied). */
  alwaysApproval: boolean;
}

/** The tiers a call of `spec` can have: its own, or any where resolve() decides per call (the gate does not cap it). */
export function possibleRisks(spec: AnyToolSpec): readonly Risk[] {
  return spec.resolvesRisk ? RISKS : [spec.risk];
}

/** A rule that names no target and no inventory attribute matches every call its other fields match. */
function anyTarget(policy: Policy, index: number): boolean {
  const raw = policy.file.rules[index];
  // A policy built some other way than compilePolicy: each rule is taken to match only some calls.
  if (!raw || policy.file.rules.length !== policy.rules.length || raw.service !== undefined) return false;
  if (raw.target === undefined) return true;
  return [raw.target].flat().some((p) => p === '*' || p === '**');
}

/**
 * Every decision the rules and defaults can give this caller's calls of `spec`, whatever the
 * target: first match wins, so a rule that matches every such call ends the walk, and one that
 * matches only some targets adds its decision and lets the walk go on. Limits are left out: they
 * only ever tighten a decision, after some number of calls. Mirrors decide()'s order.
 */
export function reachableDecisions(policy: Policy, who: { principal: string; role: Role }, spec: AnyToolSpec): Set<Decision> {
  const out = new Set<Decision>();
  for (const risk of possibleRisks(spec)) {
    if (who.role === 'alerts' || (who.role === 'readonly' && risk !== 'read')) {
      out.add('deny');
      continue;
    }
    let settled = false;
    for (const [i, rule] of policy.rules.entries()) {
      if (!rule.principal(who.principal) || !rule.role(who.role) || !rule.tool(spec.name) || !rule.risk(risk)) continue;
      out.add(rule.decision);
      if (anyTarget(policy, i)) {
        settled = true;
        break;
      }
    }
    if (!settled) out.add(policy.defaults[risk]);
  }
  return out;
}

/** The tools this caller may ever call, in catalog order, and whether each always waits for approval. */
export function visibleTools(policy: Policy, who: { principal: string; role: Role }, catalog: readonly AnyToolSpec[]): ToolView[] {
  const views: ToolView[] = [];
  for (const spec of catalog) {
    const reachable = reachableDecisions(policy, who, spec);
    const runs = [...reachable].filter((d) => d !== 'deny');
    if (runs.length === 0) continue;
    // A dry-run policy holds nothing: its calls are decided and audited, never run.
    views.push({ name: spec.name, alwaysApproval: !policy.dryRun && runs.every((d) => d === 'approve') });
  }
  return views;
}
