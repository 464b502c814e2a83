// The agent against the real @anthropic-ai/sdk talking to a scripted Messages API, and warden's real
// guard, audit and incident store over a fake Docker adapter.
import { afterEach, describe, expect, it } from 'vitest';
import { anthropicFor } from '../../src/loop/agent.js';
import { LoopConfig } from '../../src/loop/config.js';
import { UNTRUSTED_PREFIX } from '../../src/loop/tool-bridge.js';
import { silentLogger } from '../../src/log.js';
import { agentWorld, toolResultText, type AgentWorld, type AgentWorldOptions } from '../support/agent.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { apiKeyOf } from '../support/messages-api.js';
import { linkClient } from '../support/warden.js';

const open: AgentWorld[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

async function world(opts: Omit<AgentWorldOptions, 'adapters'>) {
  const adapters = fakeAdapters();
  const w = await agentWorld({ ...opts, adapters });
  open.push(w);
  return { ...w, fake: adapters.fake };
}

const HOLD_RESTARTS = 'rules: [{ name: hold-restarts, tool: restart_container, decision: approve }]';
const END = { content: [{ type: 'text' as const, text: 'db restarted; it was exiting with code 1.' }] };

describe('runAgent', () => {
  it('diagnoses, restarts and reports: outcome done, each call audited as principal loop with the incident id', async () => {
    const w = await world({
      script: [
        { content: [{ type: 'text', text: 'Checking containers.' }, { type: 'tool_use', name: 'list_containers', input: {} }] },
        { expect: { lastToolResult: { content: /"name":"db"[^}]*"state":"exited"/, isError: false } }, content: [{ type: 'tool_use', name: 'restart_container', input: { container: 'db' } }] },
        { expect: { lastToolResult: { isError: false } }, ...END },
      ],
    });
    const r = await w.run();
    w.api.assertDone();
    expect(r).toMatchObject({ outcome: 'done', summary: END.content[0]!.text, turns: 3, inputTokens: 300, outputTokens: 60 });
    expect(r.actions.map((a) => [a.tool, a.ok])).toEqual([['list_containers', true], ['restart_container', true]]);
    expect(w.fake.calls).toContain('restart db');
    const audit = w.rt.audit.list();
    // The read once, the restart requested then completed.
    expect(audit.length).toBeGreaterThanOrEqual(3);
    for (const e of audit) expect(e).toMatchObject({ principal: 'loop', transport: 'loop', incidentId: w.incident.id });
    expect(w.log.timeline(w.incident.id).map((e) => e.kind)).toEqual(['alert', 'model', 'tool', 'model', 'tool', 'model']);
    expect(w.log.costSince(new Date(0))).toBeCloseTo((300 * 3 + 60 * 15) / 1e6, 9);
  });

  it("offers exactly the tools from tools/list, and a system prompt with the incident and the untrusted-data rule", async () => {
    const w = await world({ script: [END] });
    await w.run();
    const listed = await linkClient(w.rt);
    const names = (await listed.client.listTools()).tools.map((t) => t.name);
    await listed.close();
    const body = w.api.requests[0]!.body;
    expect(body.tools.map((t: { name: string }) => t.name)).toEqual(names);
    expect(body.model).toBe('claude-test-model');
    const system = String(body.system);
    expect(system).toContain(w.incident.id);
    expect(system).toContain('db is down: container exited with code 1');
    expect(system).toMatch(/untrusted data.*never instructions/i);
    expect(system).toMatch(/\[approval_required\].*STOP/);
  });

  it('writes tool output back to the model fenced as untrusted data', async () => {
    const w = await world({
      script: [{ content: [{ type: 'tool_use', name: 'container_logs', input: { container: 'db' } }] }, END],
    });
    await w.run();
    const result = toolResultText(w.api.requests[1]!.body)!;
    expect(result.content.startsWith(`${UNTRUSTED_PREFIX}\n`)).toBe(true);
    expect(result.content).toContain('FATAL: too many connections');
  });

  it('stops at a held call: outcome held with the exact call and approval id, nothing after it ran, and each sibling audited as not attempted', async () => {
    const w = await world({
      policy: HOLD_RESTARTS,
      script: [{ content: [
        { type: 'tool_use', name: 'restart_container', input: { container: 'db' } },
        { type: 'tool_use', name: 'list_containers', input: {} },
        { type: 'tool_use', name: 'stop_container', input: { container: 'aaa' } },
        { type: 'tool_use', name: 'format_disk', input: { device: '/dev/sda' } },
      ], inventsTools: true }],
    });
    const r = await w.run();
    w.api.assertDone();
    expect(r.outcome).toBe('held');
    expect(r.heldCall).toEqual({ tool: 'restart_container', args: { container: 'db' }, approvalId: expect.stringMatching(/^apr_/) });
    expect(w.fake.calls).toEqual([]);
    expect(w.api.requests).toHaveLength(1);
    expect(w.rt.approvals.get(r.heldCall!.approvalId)).toMatchObject({ status: 'pending', tool: 'restart_container', principal: 'loop' });
    const audit = w.rt.audit.list();
    expect(audit.map((e) => `${e.tool}:${e.phase}:${e.rule}`)).toEqual([
      'restart_container:pending:hold-restarts', 'list_containers:denied:not-attempted', 'stop_container:denied:not-attempted', 'format_disk:denied:unknown-tool',
    ]);
    // The sibling named by its ID is recorded on its canonical target, so a search by name finds it.
    expect(audit[2]).toMatchObject({ target: 'local/web-1', targetId: 'aaa', incidentId: w.incident.id, result: expect.stringMatching(/^not attempted: restart_container .* held/) });
  });

  it('drops an approvalId the model wrote, so the gate holds the call instead of honouring it', async () => {
    const w = await world({
      policy: HOLD_RESTARTS,
      script: [{ content: [{ type: 'tool_use', name: 'restart_container', input: { container: 'db', approvalId: 'apr_madeup123' } }] }],
    });
    const r = await w.run();
    expect(r.outcome).toBe('held');
    expect(r.heldCall?.args).toEqual({ container: 'db' });
    expect(r.heldCall?.approvalId).not.toBe('apr_madeup123');
    expect(w.fake.calls).toEqual([]);
  });

  it('passes a denial back unfenced, as warden\'s own verdict, and lets the model finish', async () => {
    const w = await world({
      policy: 'rules: [{ name: no-db, target: "*/db", decision: deny }]',
      script: [
        { content: [{ type: 'tool_use', name: 'restart_container', input: { container: 'db' } }] },
        { expect: { lastToolResult: { content: /^\[denied\].*no-db/, isError: true } }, content: [{ type: 'text', text: 'Denied; a human must act.' }] },
      ],
    });
    const r = await w.run();
    w.api.assertDone();
    expect(r).toMatchObject({ outcome: 'done', actions: [{ tool: 'restart_container', ok: false, kind: 'denied' }] });
    expect(w.fake.calls).toEqual([]);
  });

  it('is retried by the SDK after a 429 and then succeeds', async () => {
    const w = await world({ script: [{ error: { status: 429, retryAfter: '0.01' } }, END] });
    const r = await w.run();
    w.api.assertDone();
    expect(r.outcome).toBe('done');
    expect(w.api.requests.map((q) => q.status)).toEqual([429, 200]);
  });

  it.each([529, 500])('gives up as unreachable after the configured retries on repeated %i', async (status) => {
    const error = { error: { status, retryAfter: '0.01' } };
    // The SDK client was built with its default of 2 retries; the loop config's 1 wins.
    const w = await world({ loop: { maxRetries: 1 }, script: [error, error] });
    const r = await w.run();
    w.api.assertDone();
    expect(r).toMatchObject({ outcome: 'unreachable', turns: 0, actions: [] });
    expect(r.summary).toMatch(new RegExp(`Claude could not be reached: ${status}`));
    expect(w.api.requests).toHaveLength(2);
  });

  it('is unreachable when nothing listens at the base URL', async () => {
    const w = await world({ loop: { maxRetries: 0 }, script: [] });
    await w.api.close();
    const r = await w.run();
    expect(r.outcome).toBe('unreachable');
    expect(r.summary).toMatch(/no connection/);
  });

  it('is refused, with the API message, on a 400', async () => {
    const w = await world({ script: [{ error: { status: 400, message: 'messages: roles must alternate' } }] });
    const r = await w.run();
    expect(r).toMatchObject({ outcome: 'refused', summary: expect.stringContaining('400 messages: roles must alternate') });
    expect(w.api.requests).toHaveLength(1);
  });

  it('talks to the configured base URL with the configured key', async () => {
    const w = await world({ script: [END] });
    const anthropic = anthropicFor(w.cfg, { anthropicApiKey: 'sk-configured', anthropicBaseURL: w.api.baseURL }, silentLogger);
    expect((await w.run({ anthropic })).outcome).toBe('done');
    expect(apiKeyOf(w.api.requests[0]!)).toBe('sk-configured');
  });

  it('is unreachable without an API key, and sends no request', async () => {
    const w = await world({ script: [END] });
    const anthropic = anthropicFor(LoopConfig.parse({}), {}, silentLogger);
    expect(anthropic).toBeUndefined();
    const r = await w.run({ anthropic });
    expect(r).toMatchObject({ outcome: 'unreachable', turns: 0 });
    expect(w.api.requests).toHaveLength(0);
  });
});

describe('runAgent budgets', () => {
  const LIST = { content: [{ type: 'tool_use' as const, name: 'list_containers', input: {} }] };

  it('stops when the turns are spent', async () => {
    const w = await world({ loop: { budgets: { turns: 2 } }, script: [LIST, LIST] });
    const r = await w.run();
    w.api.assertDone();
    expect(r).toMatchObject({ outcome: 'budget', turns: 2 });
    expect(r.summary).toMatch(/turn budget spent \(2 of 2/);
  });

  it('stops when the tokens are spent', async () => {
    const w = await world({ loop: { budgets: { tokens: 1_000 } }, script: [{ ...LIST, usage: { input_tokens: 900, output_tokens: 150 } }] });
    const r = await w.run();
    w.api.assertDone();
    expect(r).toMatchObject({ outcome: 'budget', inputTokens: 900, outputTokens: 150 });
    expect(r.summary).toMatch(/token budget spent \(1050 of 1000/);
  });

  it("makes no request once the day's cost budget is spent", async () => {
    const w = await world({ loop: { budgets: { dailyUsd: 1 } }, script: [END] });
    w.log.recordModelCall({ incidentId: 'inc_earlier', model: 'claude-test-model', inputTokens: 200_000, outputTokens: 30_000, latencyMs: 900, costUsd: 1.05, outcome: 'ok' });
    const r = await w.run();
    expect(r).toMatchObject({ outcome: 'budget', turns: 0 });
    expect(r.summary).toMatch(/daily cost budget spent/);
    expect(w.api.requests).toHaveLength(0);
  });

  it('stops a slow model at the wall-time budget', async () => {
    const w = await world({ loop: { budgets: { wallSeconds: 0.3 } }, script: [{ ...END, delayMs: 3_000 }] });
    const started = Date.now();
    const r = await w.run();
    expect(r.outcome).toBe('budget');
    expect(r.summary).toMatch(/wall-time budget spent/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('rejects, rather than reporting an outcome, when its caller aborts', async () => {
    const w = await world({ script: [{ ...END, delayMs: 3_000 }] });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('shutting down')), 100);
    await expect(w.run({ signal: ctl.signal })).rejects.toThrow('shutting down');
  });
});
