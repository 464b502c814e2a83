// Which tools each caller is shown: hidden only when every call it could make is denied; marked for
// the user's interaction only when every call that can run waits for approval.
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { decide } from '../../src/policy/decide.js';
import { possibleRisks, visibleTools } from '../../src/server/tool-visibility.js';
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
    ['a medium tool in a dry-run policy (its calls are dry runs, never held)', 'dryRun: true', 'stop_container', false],
    ['a read tool a rule holds, in a dry-run policy (reads are not dry-run)', 'dryRun: true\nrules: [{ tool: list_containers, decision: approve }]', 'list_containers', true],
    ['a runbook a rule holds, in a dry-run policy (it declares an effect: dry-run at every tier)', 'dryRun: true\nrules: [{ tool: run_runbook, decision: approve }]', 'run_runbook', false],
    ['a low tool a max-0 approve limit holds', 'limits: [{ tool: restart_container, max: 0, then: approve }]', 'restart_container', true],
    ['a low tool a max-0 approve limit selects by effect', 'limits: [{ effect: restart, max: 0, then: approve }]', 'restart_container', true],
    ['a read tool a max-0 approve limit holds', 'limits: [{ tool: list_containers, max: 0, then: approve }]', 'list_containers', true],
    ['a low tool a max-0 approve limit holds for another principal only', 'limits: [{ tool: restart_container, principal: bob, max: 0, then: approve }]', 'restart_container', false],
    ['a low tool a max-1 approve limit holds after its first call', 'limits: [{ tool: restart_container, max: 1, then: approve }]', 'restart_container', false],
    ['a low tool a max-0 notify limit tightens (it still runs)', 'limits: [{ tool: restart_container, max: 0, then: notify }]', 'restart_container', false],
    ['a low tool a max-0 approve limit holds in a dry-run policy', 'dryRun: true\nlimits: [{ tool: restart_container, max: 0, then: approve }]', 'restart_container', false],
  ])('marks for user interaction %s: %s', (_why, yaml, tool, marked) => {
    expect(view(yaml).get(tool)).toBe(marked);
  });

  it.each<[string, string, string, boolean]>([
    ['a max-0 deny limit', 'limits: [{ tool: restart_container, max: 0, then: deny }]', 'restart_container', false],
    ['a max-0 deny limit by effect (the default then)', 'limits: [{ effect: stop, max: 0 }]', 'stop_container', false],
    ['a max-0 deny limit on a read tool', 'limits: [{ tool: list_containers, max: 0, then: deny }]', 'list_containers', false],
    ['a max-0 deny limit naming this principal', 'limits: [{ tool: restart_container, principal: "ali*", max: 0, then: deny }]', 'restart_container', false],
    ['a max-0 deny limit for another principal', 'limits: [{ tool: restart_container, principal: bob, max: 0, then: deny }]', 'restart_container', true],
    ['a max-5 deny limit (its first five calls run)', 'limits: [{ tool: restart_container, max: 5, then: deny }]', 'restart_container', true],
    ['a max-0 deny limit over an allow rule (limits never loosen, but tighten any rule)', 'rules: [{ tool: restart_container, decision: allow }]\nlimits: [{ tool: restart_container, max: 0, then: deny }]', 'restart_container', false],
  ])('lists a tool or not under %s', (_why, yaml, tool, shown) => {
    expect(view(yaml).has(tool)).toBe(shown);
  });
});

// The listing is a promise about decide(): what it hides, decide() refuses; what it marks, decide()
// refuses or holds for a human (never runs at once, never dry-runs). Checked over every tool, at every tier it can have,
// for the policies above and a few more that mix rules, limits and dry run.
describe('visibleTools agrees with decide()', () => {
  const POLICIES = [
    '{}', 'dryRun: true', 'killSwitch: true', 'defaults: { read: approve, low: deny, medium: approve }',
    'dryRun: true\ndefaults: { read: approve }\nlimits: [{ effect: [restart, exec], max: 0, then: approve }]',
    'rules: [{ principal: alice, tool: "*_container", decision: approve }, { tool: "*", target: "*/db", decision: deny }]\nlimits: [{ tool: "*", max: 0, then: notify }]',
    'rules: [{ role: operator, risk: [low, medium], decision: deny }]\nlimits: [{ tool: "list_*", max: 0, then: approve }]',
    'limits: [{ effect: [restart, stop, remove], principal: alice, max: 0, then: deny }, { tool: "*", max: 0, then: approve }]',
  ];
  const TARGETS = ['local/web-1', 'local/db', 'service:db', 'inventory'];

  it.each(POLICIES)('under %s', (yaml) => {
    const p = policy(yaml);
    for (const role of ['operator', 'readonly', 'alerts'] as const) {
      const shown = new Map(visibleTools(p, { principal: 'alice', role }, CATALOG).map((v) => [v.name, v.alwaysApproval]));
      for (const spec of CATALOG) {
        for (const risk of possibleRisks(spec)) {
          for (const target of TARGETS) {
            const d = decide(p, { principal: 'alice', role, tool: spec.name, risk, effect: spec.effect, target, info: {} });
            const where = `${role} ${spec.name} (${risk}) on ${target}`;
            if (!shown.has(spec.name)) expect(d.decision, where).toBe('deny');
            else if (shown.get(spec.name)) expect(d.decision === 'deny' || (d.decision === 'approve' && !d.dryRun), where).toBe(true);
          }
        }
      }
    }
  });
});
