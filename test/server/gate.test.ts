import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Runtime } from '../../src/server/runtime.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(policy?: string, elicit?: Parameters<typeof linkClient>[2]) {
  const adapters = fakeAdapters();
  const rt = testRuntime({ policy, adapters });
  const linked = await linkClient(rt, { principal: 'local', role: 'operator', transport: 'memory' }, elicit);
  open.push(rt, linked);
  return { rt, fake: adapters.fake, client: linked.client };
}

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;
const failure = (r: unknown) => ((r as CallToolResult)._meta?.['warden/failure'] ?? {}) as { kind?: string; approvalId?: string };
const phases = (rt: Runtime) => rt.audit.list().map((e) => `${e.tool}:${e.phase}`);

describe('the guard behind the MCP server', () => {
  it('runs a read tool and audits it once, after it ran, with its request', async () => {
    const { rt, client } = await setup();
    const r = await client.callTool({ name: 'list_containers', arguments: {} });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ host: 'local', containers: [{ name: 'db' }, { name: 'web-1' }] });
    expect(text(r)).toBe('local: 2 containers: 1 exited, 1 running; 1 restarted before');
    expect(rt.audit.list()).toMatchObject([{ tool: 'list_containers', phase: 'completed', target: 'local/*', risk: 'read', decision: 'allow' }]);
    expect(rt.audit.verify().ok).toBe(true);
  });

  it('refuses invalid arguments naming the field, and audits the refusal', async () => {
    const { rt, fake, client } = await setup();
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'web-1', timeoutSeconds: 'soon' } });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/\[invalid_input\].*timeoutSeconds/);
    expect(fake.calls).toEqual([]);
    expect(rt.audit.list()).toMatchObject([{ tool: 'restart_container', phase: 'failed', errorKind: 'invalid_input' }]);
  });

  it('refuses an unknown argument instead of ignoring it', async () => {
    const { fake, client } = await setup();
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'web-1', force: true } });
    expect(text(r)).toMatch(/unknown key "force"/);
    expect(fake.calls).toEqual([]);
  });

  it('denies an unknown tool and audits it', async () => {
    const { rt, client } = await setup();
    const r = await client.callTool({ name: 'rm_everything', arguments: {} });
    expect(failure(r).kind).toBe('denied');
    expect(rt.audit.list()).toMatchObject([{ tool: 'rm_everything', phase: 'denied', rule: 'unknown-tool' }]);
  });

  it('a denied call leaves the adapter untouched and says which rule', async () => {
    const { rt, fake, client } = await setup('rules: [{ name: no-db, target: "*/db", decision: deny }]');
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(text(r)).toMatch(/\[denied\].*no-db/);
    expect(fake.calls).toEqual([]);
    expect(rt.audit.list()).toMatchObject([{ phase: 'denied', decision: 'deny', rule: 'no-db', target: 'local/db' }]);
  });

  it('the kill switch stops writes but not reads', async () => {
    const { fake, client } = await setup('killSwitch: true');
    expect(failure(await client.callTool({ name: 'restart_container', arguments: { container: 'db' } })).kind).toBe('denied');
    expect((await client.callTool({ name: 'list_containers', arguments: {} })).isError).toBeFalsy();
    expect(fake.calls).toEqual(['list']);
  });

  it('dry run decides and audits but executes nothing', async () => {
    const { rt, fake, client } = await setup('dryRun: true');
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(text(r)).toMatch(/dry run: would restart container db on host local/);
    expect(fake.calls).toEqual([]);
    expect(rt.audit.list()).toMatchObject([{ phase: 'requested', dryRun: true }, { phase: 'completed', dryRun: true }]);
  });

  it('notify decisions run and are announced', async () => {
    const { rt, fake, client } = await setup();
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(r.structuredContent).toMatchObject({ name: 'db', running: true });
    expect(fake.calls).toEqual(['state db', 'restart db', 'state db']);
    expect(rt.audit.list()).toMatchObject([{ phase: 'requested', decision: 'notify' }, { phase: 'completed' }]);
  });

  it('the circuit breaker holds the fourth restart of one target', async () => {
    const { fake, client } = await setup('limits: [{ name: breaker, tool: restart_container, max: 3, then: deny }]');
    for (let i = 0; i < 3; i += 1) expect((await client.callTool({ name: 'restart_container', arguments: { container: 'db' } })).isError).toBeFalsy();
    const fourth = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(text(fourth)).toMatch(/denied by breaker/);
    const other = await client.callTool({ name: 'restart_container', arguments: { container: 'web-1' } });
    expect(other.isError).toBeFalsy();
    expect(fake.calls.filter((c) => c.startsWith('restart'))).toEqual(['restart db', 'restart db', 'restart db', 'restart web-1']);
  });
});

describe('approvals', () => {
  const held = 'rules: [{ tool: restart_container, decision: approve }]';

  it('holds the call, runs it once after approval, and refuses reuse and other arguments', async () => {
    const { rt, fake, client } = await setup(held);
    const args = { container: 'db' };
    const first = await client.callTool({ name: 'restart_container', arguments: args });
    const { kind, approvalId } = failure(first);
    expect(kind).toBe('approval_required');
    expect(text(first)).toContain(approvalId!);
    expect(fake.calls).toEqual([]);

    const early = await client.callTool({ name: 'restart_container', arguments: { ...args, approvalId } });
    expect(text(early)).toMatch(/not been approved yet/);

    rt.approvals.decide(approvalId!, 'approved', 'alice', null);
    const other = await client.callTool({ name: 'restart_container', arguments: { container: 'web-1', approvalId } });
    expect(text(other)).toMatch(/another tool, principal or other arguments/);
    const ok = await client.callTool({ name: 'restart_container', arguments: { ...args, approvalId } });
    expect(ok.isError).toBeFalsy();
    const again = await client.callTool({ name: 'restart_container', arguments: { ...args, approvalId } });
    expect(text(again)).toMatch(/already used/);
    expect(fake.calls).toEqual(['state db', 'restart db', 'state db']);
    expect(rt.audit.verify().ok).toBe(true);
  });

  it('refuses an approval after it expired', async () => {
    const { rt, fake, client } = await setup(held);
    const { approvalId } = failure(await client.callTool({ name: 'restart_container', arguments: { container: 'db' } }));
    rt.approvals.decide(approvalId!, 'approved', 'alice', null);
    rt.db.prepare(`UPDATE approvals SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?`).run(approvalId);
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db', approvalId } });
    expect(text(r)).toMatch(/expired/);
    expect(fake.calls).toEqual([]);
  });

  it('an approved call still obeys the kill switch at the moment it runs', async () => {
    const { rt, fake, client } = await setup(held);
    const { approvalId } = failure(await client.callTool({ name: 'restart_container', arguments: { container: 'db' } }));
    rt.approvals.decide(approvalId!, 'approved', 'alice', null);
    rt.guard.policy().killSwitch = true;
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db', approvalId } });
    expect(text(r)).toMatch(/kill switch/);
    expect(fake.calls).toEqual([]);
    expect(rt.approvals.get(approvalId!)?.status).toBe('approved');
  });

  it('asks a human present in the client, and runs on accept', async () => {
    const asked: string[] = [];
    const { rt, fake, client } = await setup(held, { elicit: (m) => { asked.push(m); return { action: 'accept', content: { approve: true } }; } });
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(r.isError).toBeFalsy();
    expect(asked[0]).toMatch(/restart_container on local\/db/);
    expect(fake.calls).toEqual(['state db', 'restart db', 'state db']);
    expect(phases(rt)).toEqual(['restart_container:approved', 'restart_container:requested', 'restart_container:completed']);
  });

  it('a decline in the client is final', async () => {
    const { rt, fake, client } = await setup(held, { elicit: () => ({ action: 'decline' }) });
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(text(r)).toMatch(/\[denied\] the human declined/);
    expect(fake.calls).toEqual([]);
    expect(phases(rt)).toEqual(['restart_container:rejected']);
    expect(rt.approvals.list({ status: 'denied' })).toHaveLength(1);
  });

  it('a dismissed question is no approval: the request is stored', async () => {
    const { fake, client } = await setup(held, { elicit: () => ({ action: 'cancel' }) });
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(failure(r).kind).toBe('approval_required');
    expect(fake.calls).toEqual([]);
  });
});
