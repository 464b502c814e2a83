import { describe, expect, it } from 'vitest';
import { decide, type DecisionRequest } from '../../src/policy/decide.js';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { defaultPolicy } from '../../src/policy/default-policy.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';

const req = (over: Partial<DecisionRequest> = {}): DecisionRequest => ({
  principal: 'local', role: 'operator', tool: 'restart_container', risk: 'low', target: 'local/web-1', info: {}, ...over,
});
const policy = (yaml: string) => parsePolicy(yaml, 'test', DEFAULT_DECISION);

describe('decide: defaults by risk', () => {
  it.each([
    ['read', 'allow'],
    ['low', 'notify'],
    ['medium', 'approve'],
    ['high', 'approve'],
  ] as const)('%s-risk tools default to %s', (risk, decision) => {
    const d = decide(defaultPolicy(), req({ risk }));
    expect(d).toMatchObject({ decision, rule: `default:${risk}`, risk });
  });

  it('denies a tool the catalog does not know', () => {
    expect(decide(defaultPolicy(), req({ tool: 'rm_rf', risk: undefined }))).toMatchObject({ decision: 'deny', rule: 'unknown-tool' });
  });
});

describe('decide: roles', () => {
  it.each([
    ['readonly', 'read', 'allow'],
    ['readonly', 'low', 'deny'],
    ['alerts', 'read', 'deny'],
    ['admin', 'low', 'notify'],
  ] as const)('role %s calling a %s tool gets %s', (role, risk, decision) => {
    expect(decide(defaultPolicy(), req({ role, risk })).decision).toBe(decision);
  });
});

describe('decide: rules', () => {
  const p = policy(`
rules:
  - name: loop-no-gpu
    principal: loop
    tool: gpu_*
    decision: deny
  - name: web-restarts-free
    tool: [restart_container, start_container]
    target: "*/web-*"
    decision: allow
  - name: critical-needs-human
    service: { tier: critical }
    risk: [low, medium]
    decision: approve
  - name: everything-low-notifies
    risk: low
    decision: notify
`);

  it.each([
    ['first match wins over a later catch-all', req({ target: 'local/web-2' }), 'allow', 'web-restarts-free'],
    ['a principal glob and a tool glob', req({ principal: 'loop', tool: 'gpu_reset', risk: 'high', target: 'gpu1/gpu0' }), 'deny', 'loop-no-gpu'],
    ['a tool glob that does not match falls through', req({ principal: 'loop', tool: 'restart_container', target: 'local/db' }), 'notify', 'everything-low-notifies'],
    ['a target glob does not cross the host separator', req({ target: 'web-host/db' }), 'notify', 'everything-low-notifies'],
    ['inventory attributes', req({ target: 'local/db', info: { service: 'db', tier: 'critical' } }), 'approve', 'critical-needs-human'],
    ['a service rule never matches an unknown target', req({ target: 'local/db' }), 'notify', 'everything-low-notifies'],
    ['no rule: the default for the tier', req({ risk: 'medium', tool: 'stop_container', target: 'local/db' }), 'approve', 'default:medium'],
  ])('%s', (_name, request, decision, rule) => {
    expect(decide(p, request)).toMatchObject({ decision, rule });
  });

  it('matches labels exactly', () => {
    const lp = policy(`rules: [{ service: { labels: { env: prod } }, decision: deny }]`);
    expect(decide(lp, req({ info: { service: 's', labels: { env: 'prod' } } })).decision).toBe('deny');
    expect(decide(lp, req({ info: { service: 's', labels: { env: 'staging' } } })).decision).toBe('notify');
  });
});

describe('decide: limits (the circuit breaker)', () => {
  const p = policy(`
rules:
  - { tool: restart_container, decision: allow }
limits:
  - name: breaker
    tool: restart_container
    max: 3
    windowMinutes: 10
    then: deny
`);
  it.each([
    [0, 'allow', 'restart_container'],
    [2, 'allow', 'restart_container'],
    [3, 'deny', 'breaker'],
    [10, 'deny', 'breaker'],
  ])('after %i calls in the window the decision is %s', (seen, decision, rule) => {
    const d = decide(p, req(), new Map([['breaker', seen]]));
    expect(d.decision).toBe(decision);
    expect(d.rule).toBe(seen >= 3 ? rule : 'rules[0]');
  });

  it('never loosens a stricter decision', () => {
    const lp = policy(`limits: [{ name: l, tool: stop_container, max: 1, then: notify }]`);
    expect(decide(lp, req({ tool: 'stop_container', risk: 'medium' }), new Map([['l', 5]]))).toMatchObject({ decision: 'approve', rule: 'default:medium' });
  });

  it('the built-in default holds a fourth restart of one target for approval', () => {
    expect(decide(defaultPolicy(), req({ effect: 'restart' }), new Map([['restart-breaker', 3]]))).toMatchObject({ decision: 'approve', rule: 'restart-breaker' });
  });

  it('the built-in breaker covers any tool that declares the restart effect, by effect and not by name', () => {
    const someNewTool = req({ tool: 'bounce_container', effect: 'restart' });
    expect(decide(defaultPolicy(), someNewTool, new Map([['restart-breaker', 3]]))).toMatchObject({ decision: 'approve', rule: 'restart-breaker' });
    expect(decide(defaultPolicy(), req({ tool: 'stop_container', effect: 'stop', risk: 'medium' }), new Map([['restart-breaker', 3]])).rule).not.toBe('restart-breaker');
  });

  it('a limit needs tool or effect', () => {
    expect(() => policy('limits: [{ max: 1 }]')).toThrow(/limits\[0\]\.tool: a limit needs tool or effect/);
  });
});

describe('decide: kill switch and dry run', () => {
  it('the kill switch denies every non-read call but still allows reads', () => {
    const p = policy('killSwitch: true\nrules: [{ tool: "*", decision: allow }]');
    expect(decide(p, req()).decision).toBe('deny');
    expect(decide(p, req()).rule).toBe('killSwitch');
    expect(decide(p, req({ tool: 'list_containers', risk: 'read' })).decision).toBe('allow');
  });

  it('dry run marks non-read calls, not reads or denials', () => {
    const p = policy('dryRun: true\nrules: [{ tool: stop_container, decision: deny }]');
    expect(decide(p, req()).dryRun).toBe(true);
    expect(decide(p, req({ tool: 'list_containers', risk: 'read' })).dryRun).toBe(false);
    expect(decide(p, req({ tool: 'stop_container', risk: 'medium' })).dryRun).toBe(false);
  });
});

describe('policy file', () => {
  it.each([
    ['rules:\n  - tool: x\n    decison: deny', /unknown key "rules\[0\]\.decison"|rules\[0\]\.decision/],
    ['killswitch: true', /unknown key "killswitch"/],
    ['rules: [{ decision: maybe }]', /rules\[0\]\.decision/],
    ['limits: [{ tool: x, max: -1 }]', /limits\[0\]\.max/],
  ])('refuses %j naming the field', (yaml, pattern) => {
    expect(() => policy(yaml)).toThrow(pattern);
  });
});
