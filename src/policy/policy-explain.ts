// Words for people reading a policy: the rules that nearly matched a call (same tool, other
// target or principal), so a rule that missed is seen missing.
import type { DecisionRequest } from './decide.js';
import { ruleMatches } from './decide.js';
import type { Policy } from './policy-file.js';

/** Rules that name this tool but did not match the request: each with what kept it from matching. */
export function nearMisses(policy: Policy, req: DecisionRequest): string[] {
  return policy.rules
    .filter((r) => r.tool(req.tool) && !ruleMatches(r, req))
    .map((r) => {
      const why = [
        !r.principal(req.principal) ? 'principal' : '',
        !r.role(req.role) ? 'role' : '',
        !r.risk(req.risk) ? 'risk' : '',
        !r.target(req.target) ? 'target' : '',
        r.service && req.info.service === undefined ? 'service (the inventory does not know this target)' : r.service ? 'service' : '',
      ].filter(Boolean);
      return `${r.name} (${r.decision}): ${why.join(', ') || 'other fields'} did not match`;
    });
}
