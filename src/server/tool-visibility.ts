// Which tools a caller may ever call under a policy, and which of them always wait for a human:
// what tools/list shows each caller. Pure, and conservative in one direction only: a tool is
// hidden when no request of this caller could be anything but denied, never on a guess. The guard
// still decides every call, listed or not, so a hidden tool called anyway is refused and audited.
import type { Policy } from '../policy/policy-file.js';
import type { Role } from '../shared/roles.js';
import { RISKS, stricter, type Decision, type Risk } from '../shared/tiers.js';
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
 * The limits that tighten every call of this caller's `spec`: `max: 0` is reached before the first
 * call, whatever the target or window. A limit with a higher max lets its first calls through as
 * decided, so it never settles what a caller may call at all.
 */
function everyCallLimits(policy: Policy, who: { principal: string }, spec: AnyToolSpec): Decision[] {
  return policy.limits.filter((l) => l.max === 0 && l.selects(spec.name, spec.effect) && l.principal(who.principal)).map((l) => l.then);
}

/**
 * Every decision the rules and defaults can give this caller's calls of `spec` at `risk`, whatever
 * the target: first match wins, so a rule that matches every such call ends the walk, and one that
 * matches only some targets adds its decision and lets the walk go on. Mirrors decide()'s order.
 */
function ruleDecisions(policy: Policy, who: { principal: string; role: Role }, spec: AnyToolSpec, risk: Risk): Set<Decision> {
  const out = new Set<Decision>();
  for (const [i, rule] of policy.rules.entries()) {
    if (!rule.principal(who.principal) || !rule.role(who.role) || !rule.tool(spec.name) || !rule.risk(risk)) continue;
    out.add(rule.decision);
    if (anyTarget(policy, i)) return out;
  }
  out.add(policy.defaults[risk]);
  return out;
}

/** What a call can come to: refused, run (or dry-run) at once or after a notice, or held for a human. */
export type Outcome = 'denied' | 'runs' | 'held';

/**
 * Every outcome this caller's calls of `spec` can have under `policy`, as decide() reaches them:
 * the role first, then the rules and defaults, then the limits that apply to every call, and a
 * dry-run policy runs nothing that acts (a tier above read, or a declared effect), so it holds none
 * of those for approval; reads are not dry-run and are held as decided.
 */
export function reachableOutcomes(policy: Policy, who: { principal: string; role: Role }, spec: AnyToolSpec): Set<Outcome> {
  const out = new Set<Outcome>();
  const limits = everyCallLimits(policy, who, spec);
  for (const risk of possibleRisks(spec)) {
    if (who.role === 'alerts' || (who.role === 'readonly' && risk !== 'read')) {
      out.add('denied');
      continue;
    }
    const acts = risk !== 'read' || spec.effect !== undefined;
    for (const ruled of ruleDecisions(policy, who, spec, risk)) {
      const decision = limits.reduce(stricter, ruled);
      if (decision === 'deny') out.add('denied');
      else out.add(decision === 'approve' && !(policy.dryRun && acts) ? 'held' : 'runs');
    }
  }
  return out;
}

/** The tools this caller may ever call, in catalog order, and whether each always waits for approval. */
export function visibleTools(policy: Policy, who: { principal: string; role: Role }, catalog: readonly AnyToolSpec[]): ToolView[] {
  const views: ToolView[] = [];
  for (const spec of catalog) {
    const outcomes = reachableOutcomes(policy, who, spec);
    if (!outcomes.has('runs') && !outcomes.has('held')) continue;
    views.push({ name: spec.name, alwaysApproval: !outcomes.has('runs') });
  }
  return views;
}
