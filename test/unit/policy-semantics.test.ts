// A policy file cannot silently miss: unknown tools are errors with a did-you-mean, target
// patterns mean what the docs say, lint finds rules that never match, and every alias of a
// container gets the decision of its canonical form (a property test over random policies).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicy, targetGlobs } from '../../src/policy/policy-file.js';
import { lintPolicy } from '../../src/policy/policy-lint.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';
import { CATALOG } from '../../src/tools/catalog.js';
import type { ServiceRecord } from '../../src/store/readers.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { testRuntime } from '../support/warden.js';

const knownTools = CATALOG.map((t) => t.name);
const parse = (yaml: string) => parsePolicy(yaml, 'test', DEFAULT_DECISION, { knownTools });

describe('unknown tools in a policy', () => {
  it('refuses a typo, naming the field and the tool it probably meant', () => {
    expect(() => parse('rules:\n  - { tool: gpu_rest, decision: deny }\n')).toThrow('policy test: rules[0].tool: "gpu_rest" names no tool; did you mean "gpu_reset"?');
  });

  it('refuses a glob that matches no tool, in rules and in limits', () => {
    expect(() => parse('limits:\n  - { tool: "restart_*s", max: 1 }\n')).toThrow(/limits\[0\]\.tool: "restart_\*s" names no tool/);
  });

  it('accepts globs that match a tool', () => {
    expect(parse('rules:\n  - { tool: ["*_container", gpu_reset], decision: approve }\n').rules).toHaveLength(1);
  });
});

describe('target patterns', () => {
  it.each([
    ['*', 'local/db', true], ['*', 'inventory', true], ['*', 'gpu1/gpu0', true],
    ['db', 'local/db', true], ['db', 'remote/db', true], ['db', 'local/db2', false], ['db', 'local/web', false],
    ['*db*', 'local/mydb1', true], ['*db*', 'local/web-1', false],
    ['*/db', 'local/db', true], ['*/db', 'db', false],
    ['local/*', 'local/db', true], ['local/*', 'remote/db', false],
    ['inventory', 'inventory', true], ['gpu*', 'gpu1/gpu0', true],
  ])('%s against %s: %s', (pattern, target, matches) => {
    expect(targetGlobs(pattern)(target)).toBe(matches);
  });
});

const svc = (over: Partial<ServiceRecord>): ServiceRecord => ({
  name: 'x', host: 'local', container: null, owner: null, tier: null, labels: {}, dependsOn: [], healthCheck: null, notes: null, runbooks: [], nginx: null, resources: null, ...over,
});

describe('policy lint', () => {
  const services = [svc({ name: 'db', tier: 'critical', owner: 'data' })];

  it('finds a rule shadowed by an earlier rule', () => {
    const p = parse('rules:\n  - { name: all-restarts, tool: restart_container, decision: approve }\n  - { name: db-restart, tool: restart_container, target: db, decision: deny }\n');
    expect(lintPolicy(p.file, services)).toEqual([{ rule: 'db-restart', problem: 'never matches: all-restarts (earlier) matches every call it does' }]);
  });

  it('finds a rule naming a tier, owner or label no service has', () => {
    const p = parse('rules:\n  - { name: crit, service: { tier: critcal }, decision: deny }\n  - { name: own, service: { owner: data, labels: { zone: eu } }, decision: deny }\n');
    expect(lintPolicy(p.file, services)).toEqual([
      { rule: 'crit', problem: 'never matches: no service in the inventory has tier "critcal"' },
      { rule: 'own', problem: 'never matches: no service in the inventory has label zone=eu' },
    ]);
  });

  it('finds nothing in rules that can all match', () => {
    const p = parse('rules:\n  - { tool: restart_container, target: db, decision: deny }\n  - { tool: restart_container, decision: approve }\n  - { service: { tier: critical }, decision: approve }\n');
    expect(lintPolicy(p.file, services)).toEqual([]);
  });
});

describe('every alias of a container is decided as its canonical form', () => {
  const ID = 'a556d8fb8e0d'.padEnd(64, '7');
  const OTHER = 'b1'.padEnd(64, '0');
  const PATTERNS = ['*', 'guarded', '*/guarded', 'local/guarded', 'guard*', '*ard*', 'web-1', 'local/*', 'remote/*', '*/web*'];
  const rule = fc.record({
    tool: fc.constantFrom('restart_container', 'stop_container', '*_container', '*'),
    target: fc.option(fc.constantFrom(...PATTERNS), { nil: undefined }),
    decision: fc.constantFrom('allow', 'notify', 'approve', 'deny'),
  });

  it('for random policies, name, /name, ID prefixes and the full ID get one decision', async () => {
    const docker = new FakeDocker();
    docker.containers = [
      { ...docker.containers[0]!, id: ID, name: 'guarded' },
      { ...docker.containers[0]!, id: OTHER, name: 'web-1' },
    ];
    await fc.assert(fc.asyncProperty(fc.array(rule, { maxLength: 5 }), fc.constantFrom('restart_container', 'stop_container'), async (rules, tool) => {
      const yaml = `rules:\n${rules.map((r) => `  - { tool: "${r.tool}", ${r.target ? `target: "${r.target}", ` : ''}decision: ${r.decision} }`).join('\n')}\n`;
      const rt = testRuntime({ adapters: fakeAdapters(docker), policy: rules.length ? yaml : 'rules: []\n' });
      try {
        const decide = (container: string) => rt.guard.check({ principal: 'local', role: 'operator' }, tool, { container });
        const canonical = await decide('guarded');
        expect(canonical.target).toBe('local/guarded');
        for (const alias of ['/guarded', ID.slice(0, 12), ID.slice(0, 16), ID]) {
          const d = await decide(alias);
          expect([d.target, d.decision, d.rule], alias).toEqual([canonical.target, canonical.decision, canonical.rule]);
        }
      } finally {
        await rt.close();
      }
    }), { numRuns: 40 });
  }, 60_000);
});

describe('host aliases', () => {
  const inventory = { 'hosts.yaml': 'hosts:\n  - { name: gpu-box, address: 127.0.0.2 }\n' };

  it.each([
    ['its name', 'gpu-box', 'gpu-box/gpu0'],
    ['another case', 'GPU-Box', 'gpu-box/gpu0'],
    ['its address', '127.0.0.2', 'gpu-box/gpu0'],
    ['localhost for the machine warden runs on', 'localhost', 'local/gpu0'],
  ])('decides a host called by %s on its inventory name', async (_what, host, target) => {
    const rt = testRuntime({ adapters: fakeAdapters(), inventory });
    try {
      expect((await rt.guard.check({ principal: 'p', role: 'operator' }, 'gpu_reset', { host, gpu: 0 })).target).toBe(target);
    } finally {
      await rt.close();
    }
  });

  it('refuses a write to a host nothing answers to', async () => {
    const rt = testRuntime({ adapters: fakeAdapters(), inventory });
    try {
      await expect(rt.guard.check({ principal: 'p', role: 'operator' }, 'gpu_reset', { host: 'gpu-bx', gpu: 0 })).rejects.toThrow(/no host "gpu-bx" in the inventory/);
    } finally {
      await rt.close();
    }
  });
});
