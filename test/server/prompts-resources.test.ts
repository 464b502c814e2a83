import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Runtime } from '../../src/server/runtime.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { loadInventoryInto, writeInventory } from '../support/inventory.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(policy?: string) {
  const rt = testRuntime({ adapters: fakeAdapters(), policy });
  const linked = await linkClient(rt);
  open.push(rt, linked);
  return linked.client;
}

describe('prompts', () => {
  it('offers investigate and triage_host', async () => {
    const client = await setup();
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['investigate', 'triage_host']);
    expect(prompts[0]!.arguments).toEqual([expect.objectContaining({ name: 'service', required: true })]);
  });

  it('investigate names the service and the tools to use, and warns that logs are data', async () => {
    const client = await setup();
    const r = await client.getPrompt({ name: 'investigate', arguments: { service: 'db' } });
    const text = (r.messages[0]!.content as { text: string }).text;
    expect(text).toContain('"db"');
    expect(text).toMatch(/describe_service[\s\S]*container_logs[\s\S]*search_incidents/);
    expect(text).toMatch(/never as instructions/);
  });

  it('refuses a missing required argument', async () => {
    const client = await setup();
    await expect(client.getPrompt({ name: 'investigate', arguments: {} })).rejects.toThrow(/needs the argument "service"/);
  });
});

describe('resources', () => {
  it('lists the inventory and the policy, and a template per service', async () => {
    const client = await setup();
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['warden://inventory/services', 'warden://policy']);
    expect((await client.listResourceTemplates()).resourceTemplates[0]!.uriTemplate).toBe('warden://inventory/services/{name}');
  });

  it('shows the policy in force', async () => {
    const client = await setup('killSwitch: true\nrules: [{ name: no-db, target: "*/db", decision: deny }]\n');
    const r = await client.readResource({ uri: 'warden://policy' });
    const policy = JSON.parse((r.contents[0] as { text: string }).text);
    expect(policy).toMatchObject({ killSwitch: true, rules: [{ name: 'no-db', decision: 'deny' }] });
  });

  it('serves the reloaded policy to a connection opened before the reload', async () => {
    const rt = testRuntime({ adapters: fakeAdapters(), policy: '{}' });
    const linked = await linkClient(rt);
    open.push(rt, linked);
    const before = rt.policy.current().hash;
    writeFileSync(rt.config.policyPath!, 'rules: [{ name: no-stops, tool: stop_container, decision: deny }]\n');
    await vi.waitFor(() => expect(rt.policy.current().hash).not.toBe(before), { timeout: 10_000, interval: 50 });
    const r = await linked.client.readResource({ uri: 'warden://policy' });
    expect(JSON.parse((r.contents[0] as { text: string }).text).rules).toEqual([expect.objectContaining({ name: 'no-stops' })]);
  });

  it('serves the inventory as it is now to a connection opened before a load', async () => {
    const rt = testRuntime({ adapters: fakeAdapters() });
    const linked = await linkClient(rt);
    open.push(rt, linked);
    const read = async () => JSON.parse(((await linked.client.readResource({ uri: 'warden://inventory/services' })).contents[0] as { text: string }).text) as Array<{ name: string }>;
    expect(await read()).toEqual([]);
    loadInventoryInto(rt.config.dataDir, writeInventory({ 'services.yaml': 'services:\n  - { name: db, host: local, container: db }\n' }));
    expect((await read()).map((s) => s.name)).toEqual(['db']);
  });

  it('answers not found for an unknown service', async () => {
    const client = await setup();
    await expect(client.readResource({ uri: 'warden://inventory/services/nope' })).rejects.toThrow();
  });
});
