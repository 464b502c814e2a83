// Ways round the gate found by an adversarial review, each closed: calls sent together past a
// limit, a runbook declared read under the kill switch and dry run, reload_nginx by service decided
// on another service's attributes or approved for one place and run in another, a negated target.
import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/policy-file.js';
import type { Runtime } from '../../src/server/runtime.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { loadInventoryInto, writeInventory } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(policy: string, inventory?: Record<string, string>) {
  const adapters = fakeAdapters();
  const rt = testRuntime({ policy, adapters, ...(inventory ? { inventory } : {}) });
  const linked = await linkClient(rt);
  open.push(rt, linked);
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = (await linked.client.callTool({ name, arguments: args })) as CallToolResult;
    return (r.content[0] as { text: string }).text;
  };
  return { rt, adapters, call };
}

describe('limits', () => {
  it('count calls sent at the same moment: eight restarts against a limit of two run twice', async () => {
    const { adapters, call } = await setup('rules: [{ tool: restart_container, decision: allow }]\nlimits: [{ name: two, effect: restart, max: 2, then: deny }]\n');
    const texts = await Promise.all(Array.from({ length: 8 }, () => call('restart_container', { container: 'web-1', waitSeconds: 0 })));
    expect(adapters.fake.calls.filter((c) => c.startsWith('restart'))).toHaveLength(2);
    expect(texts.filter((t) => /denied by two/.test(t))).toHaveLength(6);
  });
});

const READ_RUNBOOK = {
  'runbooks.yaml': 'runbooks:\n  - { name: wipe, description: "declared read", hosts: [local], risk: read, timeoutSeconds: 10, argv: [rm, -rf, /var/cache/x] }\n',
};

describe('a runbook declared read', () => {
  it('is denied under the kill switch: it still runs a command on a host', async () => {
    const { adapters, call } = await setup('killSwitch: true\nrules: []\n', READ_RUNBOOK);
    expect(await call('run_runbook', { runbook: 'wipe' })).toMatch(/^\[denied\] .* denied by killSwitch/);
    expect(adapters.runner.calls).toEqual([]);
  });

  it('is not executed under dry run', async () => {
    const { adapters, call } = await setup('dryRun: true\nrules: []\n', READ_RUNBOOK);
    expect(await call('run_runbook', { runbook: 'wipe' })).toMatch(/^\[dry_run\]/);
    expect(adapters.runner.calls).toEqual([]);
  });
});

const SHARED_NGINX = (container: string) => ({
  'services.yaml': `services:\n  - { name: aaa-blog, host: local, nginx: { confPath: /etc/nginx/nginx.conf${container} } }\n`
    + `  - { name: payments, host: local, tier: critical, nginx: { confPath: /etc/nginx/nginx.conf${container} } }\n`,
});

describe('reload_nginx by service', () => {
  it('is decided on the named service, not on another service behind the same nginx', async () => {
    const { adapters, call } = await setup('rules: [{ name: no-payments, tool: reload_nginx, service: { tier: critical }, decision: deny }]\n', SHARED_NGINX(''));
    expect(await call('reload_nginx', { service: 'payments' })).toMatch(/^\[denied\] reload_nginx on local\/nginx denied by no-payments/);
    expect(adapters.runner.calls).toEqual([]);
  });

  it('runs an approval only where it was approved: a reloaded inventory that moves the nginx voids it', async () => {
    const { rt, call } = await setup('rules: [{ tool: reload_nginx, decision: approve }]\n', SHARED_NGINX(''));
    const held = await call('reload_nginx', { service: 'payments' });
    const approvalId = /approval id (apr_\S+?),/i.exec(held)?.[1]!;
    rt.approvals.decide(approvalId, 'approved', 'alice', null);
    loadInventoryInto(rt.config.dataDir, writeInventory(SHARED_NGINX(', container: web-1'), tempDir('moved')));
    expect(await call('reload_nginx', { service: 'payments', approvalId })).toMatch(/cannot be used: it was granted for another tool, principal or other arguments/);
  });
});

describe('target patterns', () => {
  it('refuse a negated pattern, which would match what it means to exclude', () => {
    expect(() => parsePolicy('rules: [{ tool: stop_container, target: "!db", decision: allow }]\n', 'test', DEFAULT_DECISION))
      .toThrow(/rules\[0\]\.target.*negated target patterns are not supported/);
  });
});
