// The policy in force when neither config `policy:` nor WARDEN_POLICY names a file.
import { parsePolicy, type Policy } from './policy-file.js';
import { DEFAULT_DECISION } from '../shared/tiers.js';

export const DEFAULT_POLICY_YAML = `
# Built-in default: reads run, low-risk writes run and notify, the rest wait for a human.
rules:
  - name: chaos-needs-a-policy
    tool: inject_fault
    decision: deny
    reason: fault injection runs only under a policy file that allows principal chaos to call inject_fault (docs/chaos.md)
limits:
  - name: restart-breaker
    effect: restart
    per: target
    max: 3
    windowMinutes: 15
    then: approve
    reason: the same target was restarted 3 times in 15 minutes; a restart loop needs a human
`;

export function defaultPolicy(): Policy {
  return parsePolicy(DEFAULT_POLICY_YAML, 'built-in default', DEFAULT_DECISION);
}
