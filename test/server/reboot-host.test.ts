// reboot_host through warden's real MCP server and guard, on a host that reboots in memory: off
// unless config enables it, refused where the inventory declares no reboot, held for a human by the
// default policy, a dry run that runs nothing, and a reboot that checks out with its state saved.
import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { InputError } from '../../src/errors.js';
import type { Runtime } from '../../src/server/runtime.js';
import type { HostState } from '../../src/tools/host-reboot-change.js';
import { BOOT_1, HOSTS_NOT_REBOOTABLE, HOSTS_REBOOTABLE, REBOOT_ARGV, rebootableHost } from '../support/reboot-host.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const ENABLED = 'tools:\n  enabled: [reboot_host]\n';
const ALLOW = 'rules:\n  - name: test-allows-reboot\n    tool: reboot_host\n    decision: allow\n';
const ARGS = { host: 'local', reason: 'the kernel driver is wedged', verifySeconds: 1 };

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(opts: { config?: string; policy?: string; hosts?: string } = {}) {
  const world = rebootableHost();
  const rt = testRuntime({ adapters: world.adapters, config: opts.config ?? ENABLED, inventory: { 'hosts.yaml': opts.hosts ?? HOSTS_REBOOTABLE }, ...(opts.policy ? { policy: opts.policy } : {}) });
  const linked = await linkClient(rt);
  open.push(rt, linked);
  return { rt, world, client: linked.client };
}

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;
const failure = (r: unknown) => ((r as CallToolResult)._meta?.['warden/failure'] ?? {}) as { kind?: string; rule?: string };

describe('reboot_host is opt-in', () => {
  it('is neither listed nor callable unless config tools.enabled names it', async () => {
    const { world, client } = await setup({ config: '', policy: ALLOW });
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('reboot_host');
    const r = await client.callTool({ name: 'reboot_host', arguments: ARGS });
    expect(failure(r)).toMatchObject({ kind: 'denied', rule: 'unknown-tool' });
    expect(world.adapters.runner.calls).toEqual([]);
  });

  it('is listed, high risk and destructive, once enabled', async () => {
    const { client } = await setup();
    const tool = (await client.listTools()).tools.find((t) => t.name === 'reboot_host');
    // The main tools/list snapshot never holds it (it is off there): what Claude sees of it is reviewed here.
    await expect(JSON.stringify(tool, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/tools-list-opt-in.json');
    expect(tool?._meta?.['warden/risk']).toBe('high');
    expect(tool?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect((tool?.inputSchema as { required?: string[] }).required).toEqual(expect.arrayContaining(['host', 'reason']));
  });

  it.each([
    ['a tool that is on anyway', 'restart_container'],
    ['a typo', 'reboot_hots'],
  ])('refuses a config whose tools.enabled names %s, naming it', (_what, name) => {
    expect(() => testRuntime({ config: `tools:\n  enabled: [${name}]\n` })).toThrow(InputError);
    expect(() => testRuntime({ config: `tools:\n  enabled: [${name}]\n` })).toThrow(`config tools.enabled: "${name}" is not an opt-in tool`);
  });

  it('stays off in read-only mode and when disabled, enabled or not', async () => {
    for (const config of [`${ENABLED}  readOnly: true\n`, `${ENABLED}  disabled: [host]\n`]) {
      const { client } = await setup({ config });
      expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('reboot_host');
    }
  });
});

describe('reboot_host through the guard', () => {
  it('refuses a host whose inventory entry declares no reboot, saying how to declare it, before anyone is asked', async () => {
    const { rt, world, client } = await setup({ hosts: HOSTS_NOT_REBOOTABLE });
    const r = await client.callTool({ name: 'reboot_host', arguments: ARGS });
    expect(failure(r).kind).toBe('invalid_input');
    expect(text(r)).toMatch(/host "local" does not declare reboot in the inventory.*add `reboot: \{\}`/);
    expect(world.adapters.runner.calls).toEqual([]);
    expect(rt.approvals.list({ limit: 10 })).toEqual([]);
  });

  it('is held for a human by the default policy, and nothing runs', async () => {
    const { rt, world, client } = await setup();
    const decision = await rt.guard.check({ principal: 'loop', role: 'operator' }, 'reboot_host', ARGS);
    expect(decision).toMatchObject({ decision: 'approve', target: 'local/*' });
    const r = await client.callTool({ name: 'reboot_host', arguments: ARGS });
    expect(failure(r).kind).toBe('approval_required');
    expect(world.adapters.runner.calls).toEqual([]);
    expect(rt.changes.list({ limit: 10 })).toEqual([]);
  });

  it('plans in a dry run, naming the inventory\'s command, and runs nothing', async () => {
    const { rt, world, client } = await setup({ policy: `dryRun: true\n${ALLOW}` });
    const r = await client.callTool({ name: 'reboot_host', arguments: ARGS });
    expect(text(r)).toMatch(/^\[dry_run\] dry run: would save the boot id and containers of host local, run \/bin\/true warden-test-reboot there/);
    expect(world.adapters.runner.calls).toEqual([]);
    expect(world.adapters.fake.calls).toEqual([]);
    expect(rt.changes.list({ limit: 10 })).toEqual([]);
  });

  it('saves the host\'s state, sends the reboot once, and verifies the new boot with its containers running', async () => {
    const { rt, world, client } = await setup({ policy: ALLOW });
    const r = await client.callTool({ name: 'reboot_host', arguments: ARGS });
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: 'verified', host: 'local', containersRunningBefore: ['web-1'] });
    expect(world.rebootCalls()).toBe(1);
    expect(world.adapters.runner.calls[0]).not.toEqual(REBOOT_ARGV); // the state was read first
    const [change] = rt.changes.list({ limit: 10 });
    expect(change).toMatchObject({ kind: 'host_reboot', target: 'local/*', status: 'verified', plan: { argv: REBOOT_ARGV, bootId: BOOT_1 } });
    expect(change!.verification).toMatch(/host local rebooted: boot id 0b1e0000 -> b2b2b2b2, up 42 s; the 1 container that ran before the reboot runs/);
    const before = JSON.parse(rt.changes.load(change!.beforeRef).toString()) as HostState;
    expect(before).toMatchObject({ host: 'local', bootId: BOOT_1, uptimeSeconds: 86_400, dockerNote: null });
    expect(before.containers).toEqual([
      { name: 'web-1', id: 'aaa', image: 'nginx', state: 'running', running: true },
      { name: 'db', id: 'bbb', image: 'postgres', state: 'exited', running: false },
    ]);
  });
});
