// Which tools each caller is shown: hidden only when every call it could make is denied; marked for
// the user's interaction only when every call that can run waits for approval.
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { visibleTools } from '../../src/server/tool-visibility.js';
import type { Role } from '../../src/shared/roles.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';
import { CATALOG } from '../../src/tools/catalog.js';

const policy = (yaml: string) => parsePolicy(yaml, 'test', DEFAULT_DECISION, { knownTools: CATALOG.map((t) => t.name) });
const view = (yaml: string, role: Role = 'operator', principal = 'alice') =>
  new Map(visibleTools(policy(yaml), { principal, role }, CATALOG).map((v) => [v.name, v.alwaysApproval]));

describe('visibleTools', () => {
  it.each<[string, string, Role, string, boolean]>([
    ['a deny rule naming the principal and tool', 'rules: [{ principal: alice, tool: stop_container, decision: deny }]', 'operator', 'stop_container', false],
    ['a deny rule naming the role', 'rules: [{ role: operator, tool: "stop_*", decision: deny }]', 'operator', 'stop_container', false],
    ['a deny rule whose target is "*"', 'rules: [{ tool: stop_container, target: "*", decision: deny }]', 'operator', 'stop_container', false],
    ['a deny default for the tier', 'defaults: { medium: deny }', 'operator', 'stop_container', false],
    ['the readonly role, for a write', '{}', 'readonly', 'restart_container', false],
    ['the alerts role, for a read', '{}', 'alerts', 'list_containers', false],
  ])('hides a tool under %s', (_why, yaml, role, tool, shown) => {
    expect(view(yaml, role).has(tool)).toBe(shown);
  });

  it.each<[string, string, Role, string]>([
    ['a deny rule for another principal', 'rules: [{ principal: bob, tool: stop_container, decision: deny }]', 'operator', 'stop_container'],
    ['a deny rule on some targets only', 'rules: [{ tool: stop_container, target: "*/db-*", decision: deny }]', 'operator', 'stop_container'],
    ['a deny rule on inventory attributes', 'rules: [{ tool: stop_container, service: { tier: prod }, decision: deny }]', 'operator', 'stop_container'],
    ['a deny-all after an allow on some targets', 'rules: [{ tool: stop_container, target: web, decision: allow }, { tool: stop_container, decision: deny }]', 'operator', 'stop_container'],
    ['a deny default, for a principal an allow rule names', 'defaults: { medium: deny }\nrules: [{ principal: alice, tool: stop_container, decision: approve }]', 'operator', 'stop_container'],
    ['the readonly role, for a runbook (its tier is the runbook\'s own)', '{}', 'readonly', 'run_runbook'],
    ['a kill switch in the file (it can be switched off again, and says so when called)', 'killSwitch: true', 'operator', 'restart_container'],
  ])('keeps a tool callable under %s', (_why, yaml, role, tool) => {
    expect(view(yaml, role).has(tool)).toBe(true);
  });

  it('shows a readonly caller the read tools and run_runbook only', () => {
    expect([...view('{}', 'readonly').keys()]).toEqual(CATALOG.filter((t) => t.risk === 'read' || t.resolvesRisk).map((t) => t.name));
  });

  it.each<[string, string, string, boolean]>([
    ['a medium tool under the default policy', '{}', 'stop_container', true],
    ['a low tool under the default policy', '{}', 'restart_container', false],
    ['a read tool', '{}', 'list_containers', false],
    ['a runbook, whose read runbooks run at once', '{}', 'run_runbook', false],
    ['a medium tool a rule allows for this principal', 'rules: [{ principal: alice, tool: stop_container, decision: allow }]', 'stop_container', false],
    ['a medium tool allowed on some targets', 'rules: [{ tool: stop_container, target: web, decision: notify }]', 'stop_container', false],
    ['a low tool a rule holds for everyone', 'rules: [{ tool: restart_container, decision: approve }]', 'restart_container', true],
    ['a medium tool in a dry-run policy (nothing is held)', 'dryRun: true', 'stop_container', false],
  ])('marks for user interaction %s: %s', (_why, yaml, tool, marked) => {
    expect(view(yaml).get(tool)).toBe(marked);
  });
});
