// The bridge through the real loop client and guard, over a fake Docker adapter.
import { afterEach, describe, expect, it } from 'vitest';
import type { LoopClient } from '../../src/loop/loop-client.js';
import { MAX_RECORD_TEXT_CHARS, UNTRUSTED_PREFIX, createToolBridge, toAnthropicTool } from '../../src/loop/tool-bridge.js';
import { silentLogger } from '../../src/log.js';
import type { Runtime } from '../../src/server/runtime.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { testRuntime } from '../support/warden.js';
import { testAlert } from '../support/agent.js';
import { IncidentStore } from '../../src/store/incidents.js';

const open: Array<LoopClient | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(policy?: string, readOnly = false) {
  const adapters = fakeAdapters();
  const rt = testRuntime({ policy, adapters });
  // The loop acts only for an open incident: the guard refuses its writes for any other.
  const incident = new IncidentStore(rt.db).create(testAlert(), { target: 'local/db', host: 'local', container: 'db', service: null });
  const loop = await rt.connectLoopClient(incident.id, { readOnly });
  open.push(rt, loop);
  return { rt, incident, fake: adapters.fake, loop, bridge: await createToolBridge(loop.client, silentLogger) };
}

const use = (name: string, input: unknown) => ({ id: 'toolu_01TEST', name, input });

describe('toAnthropicTool', () => {
  it('keeps name and description, drops $schema and the approvalId field', () => {
    const tool = toAnthropicTool({
      name: 'restart_container', description: 'Restarts one container.',
      inputSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', additionalProperties: false,
        properties: { container: { type: 'string' }, approvalId: { type: 'string' } }, required: ['container'],
      },
    });
    expect(tool).toEqual({
      name: 'restart_container', description: 'Restarts one container.',
      input_schema: { type: 'object', additionalProperties: false, properties: { container: { type: 'string' } }, required: ['container'] },
    });
  });
});

describe('the tool bridge', () => {
  it("offers every listed tool, none with a $schema or an approvalId", async () => {
    const { bridge, loop } = await setup();
    const listed = (await loop.client.listTools()).tools;
    expect(bridge.tools.map((t) => t.name)).toEqual(listed.map((t) => t.name));
    for (const t of bridge.tools) {
      expect(t.input_schema).not.toHaveProperty('$schema');
      expect(t.input_schema.properties).not.toHaveProperty('approvalId');
      expect(t.description).toBeTruthy();
    }
  });

  it('returns a tool result fenced as untrusted data, and records the call', async () => {
    const { bridge } = await setup();
    const { block, record } = await bridge.call(use('list_containers', {}));
    expect(block).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_01TEST' });
    expect(block.is_error).toBeUndefined();
    expect(String(block.content)).toMatch(new RegExp(`^${UNTRUSTED_PREFIX.replace(/[()]/g, '\\$&')}\\nlocal: 2 containers`));
    expect(record).toEqual({ tool: 'list_containers', args: {}, ok: true, text: expect.stringMatching(/^local: 2 containers/) });
  });

  it('gives the model the head, then the data once as JSON; the record keeps the head', async () => {
    const { bridge, fake } = await setup();
    fake.logLines = Array.from({ length: 100 }, (_, i) => ({ stream: 'stdout' as const, text: `line ${i} ${'x'.repeat(80)}` }));
    const { block, record } = await bridge.call(use('container_logs', { container: 'db' }));
    const [prefix, head, json, ...rest] = String(block.content).split('\n');
    expect(prefix).toBe(UNTRUSTED_PREFIX);
    expect(head).toMatch(/^local\/db: 100 of 100 lines read\. Untrusted data written by the container/);
    expect(rest).toEqual([]);
    expect(JSON.parse(json!)).toMatchObject({ lineCount: 100, lines: fake.logLines.map((l) => l.text) });
    expect(String(block.content).split('line 99 ').length - 1).toBe(1);
    expect(record.text).toBe(head);
  });

  it('passes a full-size log whole: 2,000 short lines fill the 64 KiB cap and their JSON still fits the bridge', async () => {
    const { bridge, fake } = await setup();
    fake.logLines = Array.from({ length: 2_000 }, (_, i) => ({ stream: 'stdout' as const, text: `${String(i).padStart(4, '0')} ${'y'.repeat(26)}` }));
    const { block } = await bridge.call(use('container_logs', { container: 'db', tail: 2_000 }));
    const content = String(block.content);
    // All 2,000 lines (62,000 characters) arrive: more than the bridge's old 80,000 cap would have kept as tagged lines.
    expect(content.length).toBeGreaterThan(62_000);
    expect(content).not.toMatch(/more characters cut/);
    expect(JSON.parse(content.split('\n')[2]!).lines.at(-1)).toMatch(/^1999 /);
  });

  it("redacts the data a tool left unredacted (an inventory note) before the model reads it", async () => {
    const rt = testRuntime({ adapters: fakeAdapters(), inventory: { 'services.yaml': 'services:\n  - { name: db, host: local, container: db, notes: "dsn postgres://app:S3cretPw@db/x; password=hunter2" }\n' } });
    const incident = new IncidentStore(rt.db).create(testAlert(), { target: 'local/db', host: 'local', container: 'db', service: null });
    const loop = await rt.connectLoopClient(incident.id);
    open.push(rt, loop);
    const { block } = await (await createToolBridge(loop.client, silentLogger)).call(use('describe_service', { name: 'db' }));
    expect(block.is_error).toBeUndefined();
    expect(String(block.content)).toContain('"notes":"dsn postgres://app:[REDACTED]@db/x; password=[REDACTED]"');
    expect(String(block.content)).not.toMatch(/S3cretPw|hunter2/);
  });

  it('gives the model the names things have, even one that reads like a key', async () => {
    const { bridge, fake } = await setup();
    fake.containers = [{ ...fake.containers[0]!, id: 'id-sk', name: 'sk-payments-worker-blue-01' }];
    const { block } = await bridge.call(use('list_containers', {}));
    expect(String(block.content)).toContain('"name":"sk-payments-worker-blue-01"');
  });

  it('audits the call as principal loop, transport loop, with the incident id', async () => {
    const { bridge, rt, incident } = await setup();
    await bridge.call(use('list_containers', {}));
    expect(rt.audit.list()).toMatchObject([
      { tool: 'list_containers', phase: 'completed', principal: 'loop', transport: 'loop', incidentId: incident.id },
    ]);
  });

  it('a read-only loop client lists no write, and a write it names anyway is denied by its role', async () => {
    const { bridge, fake } = await setup(undefined, true);
    expect(bridge.tools.map((t) => t.name)).toContain('list_containers');
    expect(bridge.tools.map((t) => t.name)).not.toContain('restart_container');
    const { record } = await bridge.call(use('restart_container', { container: 'db' }));
    expect(record).toMatchObject({ ok: false, kind: 'denied', text: expect.stringMatching(/role:readonly/) });
    expect((await bridge.call(use('list_containers', {}))).record.ok).toBe(true);
    expect(fake.calls).toEqual(['list']);
  });

  it("passes warden's verdicts unfenced, with is_error, the kind and the approval id", async () => {
    const { bridge, fake } = await setup('rules: [{ name: hold, tool: restart_container, decision: approve }]');
    const { block, record } = await bridge.call(use('restart_container', { container: 'db' }));
    expect(block.is_error).toBe(true);
    expect(String(block.content)).toMatch(/^\[approval_required\]/);
    expect(record).toMatchObject({ tool: 'restart_container', args: { container: 'db' }, ok: false, kind: 'approval_required', approvalId: expect.stringMatching(/^apr_/) });
    expect(fake.calls).toEqual([]);
  });

  it("fences a target's failure, which can carry the target's own words", async () => {
    const { bridge } = await setup();
    const { block, record } = await bridge.call(use('container_logs', { container: 'nope' }));
    expect(block.is_error).toBe(true);
    expect(String(block.content)).toMatch(/^Tool output \(untrusted.*\n\[invalid_input\] no container "nope"/);
    expect(record.kind).toBe('invalid_input');
  });

  it('sends a tool the list does not offer to the gate, which refuses and audits it', async () => {
    const { bridge, rt, fake } = await setup();
    const { block, record } = await bridge.call(use('rm_everything', { path: '/' }));
    expect(block).toMatchObject({ is_error: true, content: expect.stringMatching(/^\[denied\] unknown tool "rm_everything"/) });
    expect(record).toMatchObject({ tool: 'rm_everything', ok: false, kind: 'denied' });
    expect(rt.audit.list()).toEqual([expect.objectContaining({ tool: 'rm_everything', phase: 'denied', principal: 'loop', args: '{"path":"/"}' })]);
    expect(fake.calls).toEqual([]);
  });

  it('drops an approvalId from the model\'s arguments', async () => {
    const { bridge } = await setup();
    const { record } = await bridge.call(use('restart_container', { container: 'db', approvalId: 'apr_fromthelog1' }));
    expect(record.args).toEqual({ container: 'db' });
  });

  it('caps the text a record keeps', async () => {
    const { bridge, fake } = await setup();
    fake.logLines = Array.from({ length: 100 }, (_, i) => ({ stream: 'stdout' as const, text: `line ${i} ${'x'.repeat(80)}` }));
    const { block, record } = await bridge.call(use('container_logs', { container: 'db' }));
    expect(String(block.content)).toContain('line 99');
    expect(record.text.length).toBeLessThan(MAX_RECORD_TEXT_CHARS + 100);
  });
});

describe('the loop\'s writes for an incident', () => {
  it('are refused once the incident is closed, and for an incident that does not exist; reads still answer', async () => {
    const adapters = fakeAdapters();
    const rt = testRuntime({ policy: 'rules: [{ tool: restart_container, decision: allow }]', adapters });
    open.push(rt);
    const store = new IncidentStore(rt.db);
    const incident = store.create(testAlert(), { target: 'local/db', host: 'local', container: 'db', service: null });
    store.transition(incident.id, 'resolve', 'alertmanager reports it resolved', { resolution: 'resolved by the source' });
    for (const id of [incident.id, 'inc_nosuchthing']) {
      const loop = await rt.connectLoopClient(id);
      open.push(loop);
      const bridge = await createToolBridge(loop.client, silentLogger);
      const { record } = await bridge.call(use('restart_container', { container: 'db' }));
      expect(record).toMatchObject({ ok: false, kind: 'denied', text: expect.stringMatching(id === incident.id ? /incident .* is resolved.*nothing more runs/ : /does not exist/) });
      expect((await bridge.call(use('list_containers', {}))).record.ok).toBe(true);
    }
    expect(adapters.fake.calls.filter((c) => c.startsWith('restart'))).toEqual([]);
    expect(rt.audit.list().filter((e) => e.tool === 'restart_container').map((e) => `${e.phase}:${e.rule}`)).toEqual(['denied:loop.incident-closed', 'denied:loop.incident']);
  });
});
