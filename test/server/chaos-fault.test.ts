// inject_fault through warden's real MCP server and guard, on fake Docker: off unless config
// enables it, hidden and denied by the default policy even when enabled, and what a client sees of
// it once a policy lets it be called (reviewed in its own snapshot, as reboot_host's is).
import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Runtime } from '../../src/server/runtime.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const ENABLED = 'tools:\n  enabled: [inject_fault]\n';
const ALLOW = 'rules:\n  - name: test-allows-injection\n    tool: inject_fault\n    decision: allow\n';
const ARGS = { container: 'web-1', fault: 'kill' };

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(opts: { config?: string; policy?: string; principal?: string } = {}) {
  const docker = new FakeDocker();
  const rt = testRuntime({ adapters: fakeAdapters(docker), config: opts.config ?? ENABLED, ...(opts.policy ? { policy: opts.policy } : {}) });
  const linked = await linkClient(rt, { principal: opts.principal ?? 'local', role: 'admin', transport: 'memory' });
  open.push(rt, linked);
  return { rt, docker, client: linked.client };
}

const failure = (r: unknown) => ((r as CallToolResult)._meta?.['warden/failure'] ?? {}) as { kind?: string; rule?: string };

describe('inject_fault', () => {
  it('is neither listed nor callable unless config tools.enabled names it', async () => {
    const { docker, client } = await setup({ config: '', policy: ALLOW });
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('inject_fault');
    expect(failure(await client.callTool({ name: 'inject_fault', arguments: ARGS }))).toMatchObject({ kind: 'denied', rule: 'unknown-tool' });
    expect(docker.calls).toEqual([]);
  });

  it('is hidden and denied by the default policy even when enabled, Docker untouched', async () => {
    const { docker, client } = await setup();
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('inject_fault');
    expect(failure(await client.callTool({ name: 'inject_fault', arguments: ARGS }))).toMatchObject({ kind: 'denied', rule: 'chaos-needs-a-policy' });
    expect(docker.calls.filter((c) => !c.startsWith('resolve') && !c.startsWith('inspect'))).toEqual([]);
  });

  it('refuses a caller other than chaos in its handler when a policy lets it through', async () => {
    const { docker, client } = await setup({ policy: ALLOW });
    const r = await client.callTool({ name: 'inject_fault', arguments: ARGS });
    expect(failure(r).kind).toBe('denied');
    expect(((r as CallToolResult).content[0] as { text: string }).text).toMatch(/only as principal chaos/);
    expect(docker.calls.filter((c) => /^(kill|stop|pause|exec)/.test(c))).toEqual([]);
  });

  it('is listed, high risk and destructive, once enabled and allowed', async () => {
    const { client } = await setup({ policy: ALLOW });
    const tool = (await client.listTools()).tools.find((t) => t.name === 'inject_fault');
    await expect(JSON.stringify(tool, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/tools-list-chaos.json');
    expect(tool?._meta?.['warden/risk']).toBe('high');
    expect(tool?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: false });
  });
});
