// The documentation's examples are real: the example policy parses and decides as it says.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { decide } from '../../src/policy/decide.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';

const example = resolve(import.meta.dirname, '../../docs/policy.example.yaml');

describe('docs/policy.example.yaml', () => {
  const policy = parsePolicy(readFileSync(example, 'utf8'), example, DEFAULT_DECISION);
  const req = { principal: 'local', role: 'operator' as const, tool: 'restart_container', risk: 'low' as const, target: 'local/web-1', info: {} };

  it.each([
    ['the loop resetting a GPU', { ...req, principal: 'loop', tool: 'gpu_reset', risk: 'high' as const, target: 'gpu1/gpu0' }, 'deny'],
    ['a restart of a critical service', { ...req, target: 'local/db', info: { service: 'db', tier: 'critical' } }, 'approve'],
    ['a bot writing', { ...req, principal: 'bot-ci' }, 'deny'],
    ['a web restart', req, 'allow'],
    ['the load balancer\'s upstream change (auto with backup, before the critical rule)', { ...req, tool: 'nginx_set_upstream', risk: 'medium' as const, effect: 'config' as const, target: 'local/lb', info: { service: 'lb', tier: 'critical' } }, 'allow'],
    ['a restart of the load balancer (critical)', { ...req, target: 'local/lb', info: { service: 'lb', tier: 'critical' } }, 'approve'],
  ])('decides %s', (_what, request, decision) => {
    expect(decide(policy, request).decision).toBe(decision);
  });
});
