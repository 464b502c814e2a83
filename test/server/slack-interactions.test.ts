// Approve and Deny pressed in Slack, over real HTTP to an in-process gateway: a signed press decides
// under the mapped principal and the message is updated on a loopback receiver; every refusal
// (signature, window, replay across a restart, unmapped user, other workspace, no active token,
// malformed, huge) is answered, audited, and leaves the approval pending.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { slackSignature } from '../../src/server/slack-signature.js';
import type { Role } from '../../src/shared/roles.js';
import { TokenStore } from '../../src/store/tokens.js';
import { connectHttp, request, useGateways, type TestGateway } from '../support/http-gateway.js';
import { tempDir, waitFor } from '../support/processes.js';

const SECRET = 'test-signing-secret-0123456789abcdef';
const PATH = '/integrations/slack/interactions';
const HELD = 'rules: [{ tool: restart_container, decision: approve }]';
const ADA = 'U0ADA0001';
const OLIVIA = 'U0OLIVIA1';
const TEAM = 'T0WARDEN1';
const PUBLIC = 'https://warden.example.com';

const gateways = useGateways();

interface Received { body: Record<string, unknown> }
/** hostPort: the responseUrlHosts entry that allows it (127.0.0.1:<port>). */
interface Receiver { url: string; got: Received[]; hostPort: string }
const receivers: Server[] = [];
afterEach(async () => {
  for (const s of receivers.splice(0)) await new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });
});

/** Stands in for Slack's response_url: records each JSON body posted to it. */
async function responseReceiver(): Promise<Receiver> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { data += c; });
    req.on('end', () => { got.push({ body: JSON.parse(data) as Record<string, unknown> }); res.end('ok'); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receivers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/actions/T0WARDEN1/123/abc`, got, hostPort: `127.0.0.1:${port}` };
}

const config = (extra: string, responseHosts: string[]) => `
server: { publicUrl: ${PUBLIC} }
integrations:
  slack:
    users: { ${ADA}: ada, ${OLIVIA}: olivia }
    teamId: ${TEAM}
    responseUrlHosts: ${JSON.stringify(responseHosts)}
${extra}`;

/**
 * A gateway whose Slack users are ada and olivia; ada holds an operator token unless `adaRole` says
 * otherwise (null: none). Only `receiver` is reachable as a response_url (127.0.0.1 on port 80 otherwise).
 */
async function gateway(opts: { dataDir?: string; secret?: string | null; extra?: string; receiver?: Receiver; adaRole?: Role | null } = {}): Promise<TestGateway> {
  const env: Record<string, string> = opts.secret === null ? {} : { WARDEN_SLACK_SIGNING_SECRET: opts.secret ?? SECRET };
  const hosts = [opts.receiver?.hostPort ?? '127.0.0.1'];
  const g = await gateways.custom({ policy: HELD, config: config(opts.extra ?? '', hosts), env, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  if (opts.adaRole !== null) g.token('ada', opts.adaRole ?? 'operator');
  return g;
}

/** A call olivia makes that the policy holds: its approval id. */
async function held(g: TestGateway): Promise<string> {
  const c = await connectHttp(g.url, g.token('olivia', 'operator'), '2026-07-28');
  try {
    const r = await c.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    return ((r as CallToolResult)._meta?.['warden/failure'] as { approvalId: string }).approvalId;
  } finally {
    await c.close();
  }
}

/** The form body Slack posts for a button press. */
function pressBody(p: { approvalId: string; user?: string; team?: string | null; userTeam?: string | null; action?: string; responseUrl?: string }): string {
  const userTeam = p.userTeam === null ? {} : { team_id: p.userTeam ?? p.team ?? TEAM };
  const payload = {
    type: 'block_actions',
    user: { id: p.user ?? ADA, username: 'ada', ...userTeam },
    team: p.team === null ? null : { id: p.team ?? TEAM, domain: 'warden' },
    actions: [{ type: 'button', action_id: p.action ?? 'warden_approve', block_id: 'warden_approval', value: p.approvalId, action_ts: '1' }],
    ...(p.responseUrl ? { response_url: p.responseUrl } : {}),
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function signed(body: string, opts: { ts?: number; secret?: string } = {}): Record<string, string> {
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  return { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(opts.secret ?? SECRET, ts, body) };
}

const post = (g: TestGateway, body: string, headers: Record<string, string>) => request(g.url, PATH, { method: 'POST', headers, body });

/** The audit entries of refused Slack requests. */
const refusals = (g: TestGateway) => g.rt.audit.list().filter((e) => e.tool === 'slack.refused');

describe('a signed press', () => {
  it("on the Approve button of the request a slack webhook received decides it", async () => {
    const hook = await responseReceiver();
    const g = await gateway({ extra: `notify: { webhooks: [{ url: "${hook.url}", format: slack, events: [approval.requested] }] }` });
    const id = await held(g);
    await waitFor('the approval request in Slack', async () => hook.got.length === 1, undefined, 5_000);
    const blocks = hook.got[0]!.body.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value?: string; url?: string }> }>;
    const buttons = blocks.find((b) => b.type === 'actions')!.elements!;
    expect(buttons.map((b) => b.action_id)).toEqual(['warden_approve', 'warden_deny', 'warden_open_console']);
    expect(buttons[2]!.url).toBe(`${PUBLIC}/console/approvals/${id}`);
    const body = pressBody({ approvalId: buttons[0]!.value! });
    expect((await post(g, body, signed(body))).status).toBe(200);
    expect(g.rt.approvals.get(id)).toMatchObject({ status: 'approved', decidedBy: 'ada' });
  });

  it('approves under the mapped principal, audited with transport slack, and replaces the message with the decision', async () => {
    const slack = await responseReceiver();
    const g = await gateway({ receiver: slack });
    const id = await held(g);
    const r = await post(g, pressBody({ approvalId: id, responseUrl: slack.url }), signed(pressBody({ approvalId: id, responseUrl: slack.url })));
    expect(r.status).toBe(200);
    expect(g.rt.approvals.get(id)).toMatchObject({ status: 'approved', decidedBy: 'ada' });
    expect(g.rt.audit.list().at(-1)).toMatchObject({ principal: 'ada', transport: 'slack', phase: 'approved', approvalId: id, result: `from Slack, user ${ADA}` });
    await waitFor('the message update', async () => slack.got.length === 1, undefined, 5_000);
    const update = slack.got[0]!.body;
    expect(update).toMatchObject({ replace_original: true, text: expect.stringMatching(/^Approved by ada: restart_container on local\/db/) });
    const json = JSON.stringify(update.blocks);
    expect(json).not.toContain('warden_approve');
    expect(json).toContain(`${PUBLIC}/console/approvals/${id}`);
    expect(refusals(g)).toEqual([]);
  });

  it('denies with the Deny button', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, action: 'warden_deny' });
    expect((await post(g, body, signed(body))).status).toBe(200);
    expect(g.rt.approvals.get(id)).toMatchObject({ status: 'denied', decidedBy: 'ada' });
    expect(g.rt.audit.list().at(-1)).toMatchObject({ principal: 'ada', transport: 'slack', phase: 'rejected' });
  });

  it('from the requester themself is refused by the decider and told back to them', async () => {
    const slack = await responseReceiver();
    const g = await gateway({ receiver: slack });
    const id = await held(g);
    const body = pressBody({ approvalId: id, user: OLIVIA, responseUrl: slack.url });
    const r = await post(g, body, signed(body));
    expect(r.status).toBe(403);
    expect(g.rt.approvals.get(id)?.status).toBe('pending');
    expect(g.rt.audit.list().at(-1)).toMatchObject({ principal: 'olivia', transport: 'slack', phase: 'denied', result: expect.stringMatching(/cannot approve it/) });
    await waitFor('the note to the presser', async () => slack.got.length === 1, undefined, 5_000);
    expect(slack.got[0]!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false, text: expect.stringMatching(/^Not done: olivia requested/) });
  });

  it('on an approval warden does not hold answers 404 not_found, as the approvals API does', async () => {
    const g = await gateway();
    await held(g);
    const body = pressBody({ approvalId: 'apr_nosuchone' });
    const r = await post(g, body, signed(body));
    expect([r.status, r.json().error]).toEqual([404, 'not_found']);
  });

  it('verifies a body holding multi-byte characters as Slack signs it, over its UTF-8 bytes', async () => {
    const g = await gateway();
    const id = await held(g);
    // Raw UTF-8 in the form body, not percent-encoded: the signature covers those bytes.
    const body = pressBody({ approvalId: id }).replace('%22type%22', '%22note%22%3A%22r%C3%A9d%C3%A9marrer%22%2C%22type%22') + '&x=日本🚀é';
    expect((await post(g, body, signed(body))).status).toBe(200);
    expect(g.rt.approvals.get(id)?.status).toBe('approved');
  });

  it("from Enterprise Grid (no team on the message, the presser's workspace ours) decides", async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, team: null });
    expect((await post(g, body, signed(body))).status).toBe(200);
    expect(g.rt.approvals.get(id)?.status).toBe('approved');
  });

  it('on the console link is acknowledged and decides nothing', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, action: 'warden_open_console' });
    expect((await post(g, body, signed(body))).status).toBe(200);
    expect(g.rt.approvals.get(id)?.status).toBe('pending');
  });
});

describe('refused and audited, the approval untouched', () => {
  async function expectRefused(g: TestGateway, id: string, r: { status: number; body: string }, status: number, reason: RegExp, principal = 'anonymous'): Promise<void> {
    expect(r.status).toBe(status);
    expect(JSON.parse(r.body)).toMatchObject({ reason: expect.stringMatching(reason) });
    expect(g.rt.approvals.get(id)?.status).toBe('pending');
    expect(refusals(g).at(-1)).toMatchObject({ principal, transport: 'slack', target: PATH, phase: 'denied', result: expect.stringMatching(reason) });
  }

  it('a bad signature', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id });
    await expectRefused(g, id, await post(g, body, signed(body, { secret: 'not-the-app-secret' })), 401, /does not match the body/);
  });

  it('a signature over another body', async () => {
    const g = await gateway();
    const id = await held(g);
    const other = pressBody({ approvalId: 'apr_other' });
    await expectRefused(g, id, await post(g, pressBody({ approvalId: id }), signed(other)), 401, /does not match the body/);
  });

  it.each([['stale', -301, /s in the past/], ['future', 301, /s in the future/]])('a %s timestamp, signed correctly', async (_what, offset, reason) => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id });
    await expectRefused(g, id, await post(g, body, signed(body, { ts: Math.floor(Date.now() / 1000) + offset })), 401, reason);
  });

  it('a replayed request: the second copy is refused, not decided again', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, action: 'warden_deny' });
    const headers = signed(body);
    expect((await post(g, body, headers)).status).toBe(200);
    const decisions = g.rt.audit.list().filter((e) => e.approvalId === id && e.transport === 'slack').length;
    const again = await post(g, body, headers);
    expect(again.status).toBe(409);
    expect(refusals(g).at(-1)).toMatchObject({ principal: 'anonymous', transport: 'slack', result: expect.stringMatching(/received before/) });
    expect(g.rt.audit.list().filter((e) => e.approvalId === id && e.transport === 'slack')).toHaveLength(decisions);
  });

  it('a replayed request after warden restarts on the same database', async () => {
    const dataDir = join(tempDir('slack-replay'), 'data');
    const first = await gateway({ dataDir });
    const id = await held(first);
    const body = pressBody({ approvalId: id, action: 'warden_deny' });
    const headers = signed(body);
    expect((await post(first, body, headers)).status).toBe(200);
    await first.close();
    const second = await gateway({ dataDir });
    const again = await post(second, body, headers);
    expect(again.status).toBe(409);
    expect(refusals(second).at(-1)).toMatchObject({ result: expect.stringMatching(/received before/) });
  });

  it('an unmapped Slack user, told why', async () => {
    const slack = await responseReceiver();
    const g = await gateway({ receiver: slack });
    const id = await held(g);
    const body = pressBody({ approvalId: id, user: 'U0STRANGER', responseUrl: slack.url });
    await expectRefused(g, id, await post(g, body, signed(body)), 403, /U0STRANGER is not mapped/, 'slack:U0STRANGER');
    await waitFor('the note to the presser', async () => slack.got.length === 1, undefined, 5_000);
    expect(slack.got[0]!.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/not mapped/) });
  });

  it('a user id that is no Slack id (one inherited by every object)', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, user: 'constructor' });
    await expectRefused(g, id, await post(g, body, signed(body)), 400, /not a Slack user id/);
  });

  it('a press from another workspace', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, team: 'T0OTHER01' });
    await expectRefused(g, id, await post(g, body, signed(body)), 403, /workspace "T0OTHER01" is not integrations\.slack\.teamId/, `slack:${ADA}`);
  });

  // Refusals are grouped per remote, status and principal: one gateway each, so each is audited.
  it.each([
    ["of our workspace, its presser of another", { userTeam: 'T0OTHER01' }, /workspace "T0OTHER01" is not integrations\.slack\.teamId/],
    ['naming no workspace at all', { team: null, userTeam: null }, /workspace \(none named\) is not/],
  ])('a press %s', async (_what, teams, reason) => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, ...teams });
    await expectRefused(g, id, await post(g, body, signed(body)), 403, reason, `slack:${ADA}`);
  });

  it.each([
    ['revoked', 'operator', (g: TestGateway) => { new TokenStore(g.rt.db).revokePrincipal('ada'); }],
    ['expired', null, async (g: TestGateway) => { g.token('ada', 'admin', 1); await new Promise((r) => setTimeout(r, 20)); }],
    ['only readonly', 'readonly', () => undefined],
    ['never issued', null, () => undefined],
  ] as const)('a mapped user whose tokens are %s, told why', async (_what, role, setUp) => {
    const slack = await responseReceiver();
    const g = await gateway({ receiver: slack, adaRole: role });
    await setUp(g);
    const id = await held(g);
    const body = pressBody({ approvalId: id, responseUrl: slack.url });
    await expectRefused(g, id, await post(g, body, signed(body)), 403, /^ada has no active operator or admin token: revoked people do not decide from Slack$/, `slack:${ADA}`);
    await waitFor('the note to the presser', async () => slack.got.length === 1, undefined, 5_000);
    expect(slack.got[0]!.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/ada has no active operator or admin token/) });
  });

  it('a button whose value is no approval id, and an action that is not warden\'s', async () => {
    const g = await gateway();
    const id = await held(g);
    const odd = pressBody({ approvalId: `${id}\u202e; drop` });
    await expectRefused(g, id, await post(g, odd, signed(odd)), 400, /carries no approval id/, `slack:${ADA}`);
    const other = pressBody({ approvalId: id, action: 'someone_elses_button' });
    expect((await post(g, other, signed(other))).status).toBe(400);
    expect(g.rt.approvals.get(id)?.status).toBe('pending');
  });

  it('a malformed payload, signed', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = new URLSearchParams({ payload: '{"type":"block_actions",' }).toString();
    await expectRefused(g, id, await post(g, body, signed(body)), 400, /not valid JSON/);
  });

  it('a body that is not a form', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = JSON.stringify({ payload: {} });
    await expectRefused(g, id, await post(g, body, { ...signed(body), 'content-type': 'application/json' }), 415, /x-www-form-urlencoded/);
  });

  it('a huge body, before any signature work', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = `${pressBody({ approvalId: id })}&pad=${'x'.repeat(300 * 1024)}`;
    await expectRefused(g, id, await post(g, body, signed(body)), 413, /over 262144 bytes/);
  });

  it('everything, when the signing secret is not set', async () => {
    const g = await gateway({ secret: null });
    const id = await held(g);
    const body = pressBody({ approvalId: id });
    await expectRefused(g, id, await post(g, body, signed(body)), 503, /WARDEN_SLACK_SIGNING_SECRET/);
  });

  it('a response_url on an allowed host but another port than the entry names is never fetched; the decision stands', async () => {
    const slack = await responseReceiver();
    const g = await gateway(); // responseUrlHosts: ['127.0.0.1'], the default port only
    const id = await held(g);
    const body = pressBody({ approvalId: id, responseUrl: slack.url });
    expect((await post(g, body, signed(body))).status).toBe(200);
    expect(g.rt.approvals.get(id)?.status).toBe('approved');
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.got).toEqual([]);
  });

  it('a response_url on a host not allowed is never fetched', async () => {
    const slack = await responseReceiver();
    const g = await gateway({ receiver: slack });
    const id = await held(g);
    // Same receiver, reached by a name that is not in responseUrlHosts.
    const body = pressBody({ approvalId: id, responseUrl: slack.url.replace('127.0.0.1', 'localhost') });
    expect((await post(g, body, signed(body))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.got).toEqual([]);
  });
});

describe('under attack', () => {
  const TOKEN_PATH = '/actions/T0WARDEN1/123/sEcReTrEsPoNsEtOkEn';

  it('a flood of forged presses from one address writes one audit entry at once, not one each', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id });
    for (let i = 0; i < 40; i++) expect((await post(g, body, signed(body, { secret: `forged-${i}` }))).status).toBe(401);
    expect(refusals(g)).toHaveLength(1);
    expect(g.rt.approvals.get(id)?.status).toBe('pending');
  });

  it('a captured request re-sent with its timestamp or signature spelled otherwise, or a byte added, decides nothing', async () => {
    const g = await gateway();
    const id = await held(g);
    const body = pressBody({ approvalId: id, action: 'warden_deny' });
    const h = signed(body);
    expect((await post(g, body, h)).status).toBe(200);
    const decided = g.rt.audit.list().filter((e) => e.approvalId === id).length;
    const ts = h['x-slack-request-timestamp']!;
    for (const other of [`0${ts}`, `${ts}.0`, `+${ts}`]) expect((await post(g, body, { ...h, 'x-slack-request-timestamp': other })).status).toBe(401);
    expect((await post(g, body, { ...h, 'x-slack-signature': h['x-slack-signature']!.toUpperCase().replace('V0=', 'v0=') })).status).toBe(401);
    expect((await post(g, `${body}&x=1`, h)).status).toBe(401);
    expect((await post(g, body, h)).status).toBe(409);
    expect(g.rt.audit.list().filter((e) => e.approvalId === id)).toHaveLength(decided);
  });

  it('neither the signing secret nor the response_url token path ever reaches the audit', async () => {
    const g = await gateway();
    const id = await held(g);
    const responseUrl = `http://127.0.0.1:9${TOKEN_PATH}`;
    const bodies = [
      pressBody({ approvalId: id, responseUrl, action: 'warden_deny' }), // decided
      pressBody({ approvalId: id, responseUrl, user: 'U0NOBODY1' }), // unmapped
      pressBody({ approvalId: id, responseUrl, team: 'T0OTHER01' }), // other workspace
      pressBody({ approvalId: 'apr_nosuchone', responseUrl }), // unknown approval
      pressBody({ approvalId: id, responseUrl: 'x'.repeat(3001) + TOKEN_PATH }), // malformed
    ];
    for (const b of bodies) await post(g, b, signed(b));
    const audit = JSON.stringify(g.rt.audit.list());
    expect(audit).not.toContain(SECRET);
    expect(audit).not.toContain('sEcReTrEsPoNsEtOkEn');
  });
});
