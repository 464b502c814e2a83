// The guard redacts every tool's structuredContent, but not the names things have: the patterns,
// meant for free text, also match legal Docker names ("sk-" then 20 name characters reads as an
// OpenAI key, "AKIA" + 16 capitals as an AWS key id). A container listed as "[REDACTED]" is one the
// model cannot name in its next call, and `warden inventory discover` would record that as its name.
// A label value or a log line with the same text is still redacted.
import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import type { Runtime } from '../../src/server/runtime.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const NAMES = ['sk-payments-worker-blue-01', 'AKIAPROXYFRONTEND012'];

async function setup() {
  const docker = new FakeDocker();
  docker.containers = NAMES.map((name, i) => ({
    id: `id${i}`, name, image: `registry.example/${name}:1`, state: 'running', status: 'Up 1 hour', exitCode: null, health: null, restartCount: 0, restartPolicy: 'no',
  }));
  const rt = testRuntime({ adapters: fakeAdapters(docker) });
  const linked = await linkClient(rt);
  open.push(rt, linked);
  return { rt, linked, docker };
}

it('list_containers gives the model the names Docker knows, so it can act on them', async () => {
  const { linked } = await setup();
  await linked.client.listTools();
  const r = (await linked.client.callTool({ name: 'list_containers', arguments: {} })) as CallToolResult;
  const listed = (r.structuredContent as { containers: Array<{ name: string; image: string }> }).containers;
  expect(listed.map((c) => c.name).sort()).toEqual([...NAMES].sort());
  expect(listed.map((c) => c.image).sort()).toEqual(NAMES.map((n) => `registry.example/${n}:1`).sort());
});

it('the in-process read that inventory discover makes records the real names', async () => {
  const { rt } = await setup();
  const outcome = await rt.guard.call({ principal: 'cli', role: 'operator', transport: 'cli' } as never, 'list_containers', { host: 'local', all: true });
  expect(outcome.ok).toBe(true);
  expect((outcome as { output: { containers: Array<{ name: string }> } }).output.containers.map((c) => c.name).sort()).toEqual([...NAMES].sort());
});

it('still redacts the same text where it is not a name: a label value', async () => {
  const { rt, docker } = await setup();
  const inspect = docker.inspectContainer.bind(docker);
  docker.inspectContainer = async (ref) => ({ ...(await inspect(ref)), labels: { name: 'sk-payments-worker-blue-01', token: 'plain' } });
  const outcome = await rt.guard.call({ principal: 'cli', role: 'operator', transport: 'cli' } as never, 'inspect_container', { container: 'sk-payments-worker-blue-01' });
  expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  const out = (outcome as { output: { name: string; labels: Record<string, string> } }).output;
  expect(out.name).toBe('sk-payments-worker-blue-01');
  expect(out.labels).toEqual({ name: '[REDACTED]', token: '[REDACTED]' });
});
