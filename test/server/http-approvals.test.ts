// The approvals API over real HTTP, in-process with a fake Docker adapter: who may list and decide,
// what each refusal answers, and that the decision is audited under the approver over http.
import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { fakeAdapters } from '../support/fake-docker.js';
import { connectHttp, request, startTestGateway, type TestGateway } from '../support/http-gateway.js';

const open: TestGateway[] = [];
afterEach(async () => {
  for (const g of open.splice(0)) await g.close();
});

const HELD = 'rules: [{ tool: restart_container, decision: approve }]';
const approvalIdOf = (r: unknown): string => ((r as CallToolResult)._meta?.['warden/failure'] as { approvalId: string }).approvalId;

async function heldCall(): Promise<{ g: TestGateway; id: string; operator: string }> {
  const adapters = fakeAdapters();
  const g = await startTestGateway({ adapters, policy: HELD });
  open.push(g);
  const operator = g.token('olivia', 'operator');
  const c = await connectHttp(g.url, operator, '2026-07-28');
  try {
    const r = await c.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect((r.content as Array<{ text: string }>)[0]!.text).toMatch(/^\[approval_required\]/);
    expect(adapters.fake.calls).toEqual([]);
    return { g, id: approvalIdOf(r), operator };
  } finally {
    await c.close();
  }
}

describe('GET /approvals', () => {
  it('lists pending requests to operators and admins, all of them with ?all=1, and nothing to readonly or alerts', async () => {
    const { g, id } = await heldCall();
    const admin = g.token('ada', 'admin');
    const list = await request(g.url, '/approvals', { token: admin });
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body)).toMatchObject([{ id, status: 'pending', principal: 'olivia', tool: 'restart_container', target: 'local/db' }]);
    expect((await request(g.url, '/approvals', { token: g.token('viewer', 'readonly') })).status).toBe(403);
    expect((await request(g.url, '/approvals', { token: g.token('grafana', 'alerts') })).status).toBe(403);
    expect((await request(g.url, '/approvals')).status).toBe(401);
    await request(g.url, `/approvals/${id}/deny`, { token: admin, body: {} });
    expect(JSON.parse((await request(g.url, '/approvals', { token: admin })).body)).toEqual([]);
    expect(JSON.parse((await request(g.url, '/approvals?all=1', { token: admin })).body)).toMatchObject([{ id, status: 'denied' }]);
  });
});

describe('POST /approvals/:id/approve and /deny', () => {
  it('approves as the admin and audits the approver with transport http', async () => {
    const { g, id } = await heldCall();
    const r = await request(g.url, `/approvals/${id}/approve`, { token: g.token('ada', 'admin'), method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ id, status: 'approved', decidedBy: 'ada' });
    expect(g.rt.audit.list().at(-1)).toMatchObject({ principal: 'ada', transport: 'http', phase: 'approved', approvalId: id });
  });

  it('refuses the requester approving their own request with 403', async () => {
    const { g, id, operator } = await heldCall();
    const r = await request(g.url, `/approvals/${id}/approve`, { token: operator, method: 'POST' });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ error: 'forbidden', reason: expect.stringMatching(/cannot approve it/) });
    expect(g.rt.approvals.get(id)?.status).toBe('pending');
  });

  it('answers 409 for a request already decided, 404 for an unknown id, 400 for a bad body', async () => {
    const { g, id } = await heldCall();
    const admin = g.token('ada', 'admin');
    const denied = await request(g.url, `/approvals/${id}/deny`, { token: admin, body: { reason: 'not during the sale' } });
    expect(denied.json()).toMatchObject({ status: 'denied', decisionReason: 'not during the sale' });
    expect(g.rt.audit.list().at(-1)).toMatchObject({ principal: 'ada', transport: 'http', phase: 'rejected', result: 'not during the sale' });
    const again = await request(g.url, `/approvals/${id}/approve`, { token: admin, method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.json()).toMatchObject({ error: 'conflict', reason: expect.stringMatching(/is denied, not pending/) });
    expect((await request(g.url, '/approvals/apr_nothing/approve', { token: admin, method: 'POST' })).status).toBe(404);
    expect((await request(g.url, `/approvals/${id}/deny`, { token: admin, body: { reason: 7 } })).json()).toMatchObject({ error: 'bad_request', reason: expect.stringMatching(/reason/) });
    expect((await request(g.url, `/approvals/${id}/deny`, { token: admin, body: { why: 'x' } })).status).toBe(400);
  });
});
