// decide(): the pure, table-driven heart of the gate. No I/O: the guard passes in everything
// it needs, including how many calls each limit has already seen in its window.
import { LOOP_N1_PRINCIPAL, LOOP_PRINCIPAL, type Role } from '../shared/roles.js';
import type { TargetInfo } from '../shared/targets.js';
import type { CompiledLimit, CompiledRule, Policy } from './policy-file.js';
import type { Effect } from '../shared/effects.js';
import { stricter, type Decision, type Risk } from '../shared/tiers.js';

export interface DecisionRequest {
  principal: string;
  role: Role;
  tool: string;
  /** Undefined when the tool is not in the catalog. */
  risk: Risk | undefined;
  /** The tool's declared effect, for limits that select by it. */
  effect?: Effect;
  /** The kill switch held in the database (`warden killswitch on`); the file's is in the policy. */
  killSwitch?: boolean;
  /** The loop's safe mode (`warden loop arm` lifts it), set only for the loop's own calls: its writes become dry runs. */
  safeMode?: boolean;
  target: string;
  info: TargetInfo;
  /** The only tools this caller may call (the loop's first level, config loop.firstLevel.tools): any other is denied, whatever the rules say. */
  tools?: readonly string[];
}

export interface GateDecision {
  decision: Decision;
  risk: Risk | null;
  rule: string;
  reason: string;
  /** Non-read calls are decided and audited but not executed. */
  dryRun: boolean;
  /** The dry run is the loop's safe mode, not the policy's. */
  safeMode?: true;
}

export function ruleMatches(rule: CompiledRule, req: DecisionRequest): boolean {
  if (!rule.principal(req.principal) || !rule.role(req.role) || !rule.tool(req.tool)) return false;
  if (!rule.risk(req.risk) || !rule.target(req.target)) return false;
  if (rule.service) {
    const { info } = req;
    if (info.service === undefined) return false;
    if (!rule.service.name(info.service) || !rule.service.tier(info.tier) || !rule.service.owner(info.owner)) return false;
    for (const [k, v] of Object.entries(rule.service.labels)) if (info.labels?.[k] !== v) return false;
  }
  return true;
}

/** The limits that count this request; the guard counts past calls for each. */
export function limitsFor(policy: Policy, req: Pick<DecisionRequest, 'tool' | 'effect' | 'principal'>): CompiledLimit[] {
  return policy.limits.filter((l) => l.selects(req.tool, req.effect) && l.principal(req.principal));
}

export function decide(policy: Policy, req: DecisionRequest, limitCounts: ReadonlyMap<string, number> = new Map()): GateDecision {
  const risk = req.risk ?? null;
  // The kill switch and dry run stop whatever can change something: a tool with an effect, even
  // when this call's own tier says read (a runbook declared read still runs a command on a host).
  const acts = risk !== 'read' || req.effect !== undefined;
  const result = (decision: Decision, rule: string, reason: string): GateDecision => {
    const safe = req.safeMode === true && decision !== 'deny' && acts;
    return {
      decision,
      risk,
      rule,
      reason: safe ? `${reason}; safe mode: the loop's writes are dry runs until a human re-arms it (warden loop arm)` : reason,
      dryRun: (policy.dryRun || safe) && decision !== 'deny' && acts,
      ...(safe && !policy.dryRun ? { safeMode: true as const } : {}),
    };
  };

  if (req.risk === undefined) return result('deny', 'unknown-tool', `no tool named ${req.tool}`);
  if (req.role === 'alerts') return result('deny', 'role:alerts', 'the alerts role may only post alerts');
  if (req.role === 'readonly' && req.risk !== 'read') {
    return result('deny', 'role:readonly', `the readonly role may not call ${req.risk}-risk tools`);
  }
  if (req.tools && !req.tools.includes(req.tool)) {
    return result('deny', 'caller:tools', `${req.tool} is not among the tools this caller is given (${req.tools.join(', ') || 'none'})`);
  }
  if ((policy.killSwitch || req.killSwitch) && acts) {
    return result('deny', 'killSwitch', 'the kill switch is on: only read tools run');
  }

  const rule = policy.rules.find((r) => ruleMatches(r, req));
  let decided = rule
    ? result(rule.decision, rule.name, rule.reason ?? `matched rule ${rule.name}`)
    : result(policy.defaults[req.risk], `default:${req.risk}`, `default for ${req.risk}-risk tools`);

  for (const limit of limitsFor(policy, req)) {
    const seen = limitCounts.get(limit.name) ?? 0;
    if (seen < limit.max) continue;
    const tightened = stricter(decided.decision, limit.then);
    if (tightened === decided.decision) continue;
    const window = Math.round(limit.windowMs / 60_000);
    decided = result(tightened, limit.name, limit.reason ?? `${seen} calls in ${window} min reached the limit of ${limit.max}`);
  }
  // The first level is the loop with less trust, never more: a rule an operator wrote for
  // `principal: loop` binds it too, so adding a first level cannot loosen what the loop was held to.
  if (req.principal === LOOP_N1_PRINCIPAL) {
    const asLoop = decide(policy, { ...req, principal: LOOP_PRINCIPAL, tools: undefined }, limitCounts);
    if (stricter(decided.decision, asLoop.decision) !== decided.decision) {
      return { ...asLoop, reason: `${asLoop.reason} (what binds the loop binds its first level too)` };
    }
  }
  return decided;
}
