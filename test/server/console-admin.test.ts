// The console's Admin page: the kill switch (on: operator or admin; off: admin), pausing and resuming
// the loop (admin), and tokens (admin revokes; never a secret or hash on the page). Each change goes
// through the same switch as the command line, audited under the viewer's name from the console;
// a readonly viewer sees no form and its posts are refused.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/policy/call.js';
import { TokenStore } from '../../src/store/tokens.js';
import { signIn } from '../support/console-client.js';
import { useGateways } from '../support/http-gateway.js';

const gateway = useGateways();
const XSS = '<script>alert("ks")</script><img src=x onerror=alert(1)>';
/** restart_container allowed outright, so only the switches stand between a caller and Docker. */
const POLICY = 'rules:\n  - name: allow-restart\n    tool: restart_container\n    decision: allow\n';
const ALICE: Caller = { principal: 'alice', role: 'operator', transport: 'memory' };
const LOOP: Caller = { principal: 'loop', role: 'operator', transport: 'loop' };

async function world() {
  const g = await gateway.custom({ policy: POLICY });
  const as = async (principal: string, role: 'readonly' | 'operator' | 'admin') => {
    const token = g.token(principal, role);
    const { client } = await signIn(g.url, token);
    const admin = await client.get('/console/admin');
    expect(admin.status).toBe(200);
    return { client, token, admin };
  };
  return { g, as };
}

const entries = (g: Awaited<ReturnType<typeof world>>['g'], tool: string) => g.rt.audit.list({ limit: 200 }).filter((e) => e.tool === tool);

describe('console admin: the kill switch', () => {
  it('switched on by an operator, denies every write at its next call, audited under the operator from the console, the reason escaped', async () => {
    const { g, as } = await world();
    expect(await g.rt.guard.call(ALICE, 'restart_container', { container: 'web-1' })).toMatchObject({ ok: true });
    const op = await as('olga', 'operator');
    expect(op.admin.body).toMatch(/<form id="killswitch"[^>]* action="\/console\/admin\/killswitch\/on"/);
    const res = await op.client.post('/console/admin/killswitch/on', { reason: XSS });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/admin?done=killswitch-on');
    expect(g.rt.killSwitch.state()).toMatchObject({ on: true, by: 'olga', reason: XSS });
    const denied = await g.rt.guard.call(ALICE, 'restart_container', { container: 'web-1' });
    expect(denied).toMatchObject({ ok: false, kind: 'denied' });
    expect((denied as { message: string }).message).toMatch(/killSwitch/);
    expect(entries(g, 'killswitch.on')).toEqual([expect.objectContaining({ principal: 'olga', transport: 'console', target: 'killswitch', result: XSS })]);
    const page = await op.client.get('/console/admin?done=killswitch-on');
    const banner = /<p class="banner danger" id="killswitch-banner">[^\n]*<\/p>/.exec(page.body)?.[0] ?? '';
    expect(banner).toContain('&lt;script&gt;alert(&quot;ks&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).toContain('id="admin-done"');
    for (const key of ['constructor', '__proto__', '<script>']) expect((await op.client.get(`/console/admin?done=${encodeURIComponent(key)}`)).body).not.toContain('id="admin-done"');
    // Elsewhere in the console the banner says the same, escaped.
    expect((await op.client.get('/console/health')).body).toContain('id="killswitch-banner"');
  });

  it('an operator cannot switch it off (403, audited); an admin can, and writes run again', async () => {
    const { g, as } = await world();
    const op = await as('olga', 'operator');
    await op.client.post('/console/admin/killswitch/on', { reason: 'bad deploy' });
    const opPage = await op.client.get('/console/admin');
    expect(opPage.body).not.toMatch(/killswitch\/off/);
    expect((await op.client.post('/console/admin/killswitch/off', { reason: 'I think it is fine' })).status).toBe(403);
    expect(g.rt.killSwitch.isOn()).toBe(true);
    expect(g.rt.audit.list({ limit: 200 }).some((e) => e.tool === 'http.auth' && e.principal === 'olga')).toBe(true);
    const ad = await as('ada', 'admin');
    expect(ad.admin.body).toMatch(/<form id="killswitch"[^>]* action="\/console\/admin\/killswitch\/off"/);
    expect((await ad.client.post('/console/admin/killswitch/off', { reason: 'rolled back' })).status).toBe(303);
    expect(g.rt.killSwitch.state()).toMatchObject({ on: false, by: 'ada', reason: 'rolled back' });
    expect(entries(g, 'killswitch.off')).toEqual([expect.objectContaining({ principal: 'ada', transport: 'console' })]);
    expect(await g.rt.guard.call(ALICE, 'restart_container', { container: 'web-1' })).toMatchObject({ ok: true });
  });

  it('refuses a switch without a reason, or with a blank or oversized one, and changes nothing', async () => {
    const { g, as } = await world();
    const op = await as('olga', 'operator');
    for (const reason of ['', '   \n ', 'x'.repeat(501)]) {
      const res = await op.client.post('/console/admin/killswitch/on', { reason });
      expect(res.status).toBe(400);
      expect(res.body).toMatch(/id="admin-problem">reason: /);
    }
    expect((await op.client.post('/console/admin/killswitch/on', {})).status).toBe(400);
    expect(g.rt.killSwitch.isOn()).toBe(false);
    expect(entries(g, 'killswitch.on')).toEqual([]);
  });

  it('shows a readonly viewer every switch and no form, and refuses each of its posts', async () => {
    const { g, as } = await world();
    const ro = await as('rita', 'readonly');
    const victim = g.token('vic', 'operator');
    const victimId = new TokenStore(g.rt.db).active('vic')[0]!.id;
    expect(ro.admin.body).toContain('id="killswitch-state"');
    expect(ro.admin.body).toContain('id="loop-state"');
    expect(ro.admin.body).toContain('id="admin-rules"');
    expect(ro.admin.body).not.toMatch(/<form id="killswitch"|<form id="loop-pause"|<form class="revoke"/);
    expect(ro.admin.body).toMatch(/<tr data-token-id="\d+" data-status="active"/);
    for (const path of ['/console/admin/killswitch/on', '/console/admin/killswitch/off', '/console/admin/loop/pause', '/console/admin/loop/resume', `/console/admin/tokens/${victimId}/revoke`]) {
      expect((await ro.client.post(path, { reason: 'x' })).status, path).toBe(403);
    }
    expect(g.rt.killSwitch.isOn()).toBe(false);
    expect(g.rt.safeMode.isOn()).toBe(false);
    expect(new TokenStore(g.rt.db).check(victim)).toMatchObject({ ok: true });
    expect(entries(g, 'killswitch.on').length + entries(g, 'loop.pause').length + entries(g, 'tokens.revoke').length).toBe(0);
  });

  it('a second "on" (a double submit, a page loaded before someone switched) keeps who set it and why, and says so', async () => {
    const { g, as } = await world();
    const olga = await as('olga', 'operator');
    const omar = await as('omar', 'operator'); // his page offers "on": loaded before olga switched
    expect((await olga.client.post('/console/admin/killswitch/on', { reason: `db corruption ${XSS}` })).status).toBe(303);
    const res = await omar.client.post('/console/admin/killswitch/on', { reason: 'x' });
    expect(res.headers.get('location')).toBe('/console/admin?done=killswitch-already-on');
    expect(g.rt.killSwitch.state()).toMatchObject({ on: true, by: 'olga', reason: `db corruption ${XSS}` });
    expect(entries(g, 'killswitch.on')).toEqual([expect.objectContaining({ principal: 'olga' })]);
    const page = await omar.client.get(res.headers.get('location')!);
    const done = /<p class="banner warn" id="admin-done">([^\n]*)<\/p>/.exec(page.body)?.[1];
    expect(done).toBe('The kill switch was already on (by olga: db corruption &lt;script&gt;alert(&quot;ks&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;): nothing changed, and the switch that stands keeps its reason.');
    const ada = await as('ada', 'admin');
    await ada.client.post('/console/admin/killswitch/off', { reason: 'fixed' });
    expect((await ada.client.post('/console/admin/killswitch/off', { reason: 'again' })).headers.get('location')).toBe('/console/admin?done=killswitch-already-off');
    expect(entries(g, 'killswitch.off')).toHaveLength(1);
    expect(g.rt.killSwitch.state()).toMatchObject({ on: false, by: 'ada', reason: 'fixed' });
  });

  it('answers a malformed form body 400, with the CSRF token in the body or in a header, and switches nothing', async () => {
    const { g, as } = await world();
    const { client } = await as('ada', 'admin');
    for (const [label, extra] of [['CSRF in the body', {}], ['CSRF in the header', { 'x-csrf-token': client.csrf()! }]] as const) {
      for (const type of ['multipart/form-data', 'multipart/form-data; boundary=XYZ']) {
        const res = await client.postRaw('/console/admin/killswitch/on', 'not multipart at all', type, extra);
        expect(res.status, `${label}, ${type}: ${res.body.slice(0, 200)}`).toBe(400);
        expect(res.body, label).toContain('malformed form body');
      }
    }
    expect(g.rt.killSwitch.isOn()).toBe(false);
    expect(entries(g, 'killswitch.on')).toEqual([]);
  });

  it('refuses a reason given twice with 400 naming it, rather than switching with one of them', async () => {
    const { g, as } = await world();
    const { client } = await as('olga', 'operator');
    const res = await client.postRaw('/console/admin/killswitch/on', 'reason=harmless&reason=other', 'application/x-www-form-urlencoded', { 'x-csrf-token': client.csrf()! });
    expect(res.status).toBe(400);
    expect(res.body).toContain('id="admin-problem">reason: given 2 times; give it once');
    expect(g.rt.killSwitch.isOn()).toBe(false);
  });
});

describe('console admin: pausing the loop', () => {
  it('an admin pauses (the loop\'s writes become dry runs) and resumes it, each audited from the console; an operator may do neither', async () => {
    const { g, as } = await world();
    const op = await as('olga', 'operator');
    expect(op.admin.body).not.toContain('<form id="loop-pause"');
    expect((await op.client.post('/console/admin/loop/pause', { reason: 'x' })).status).toBe(403);
    const ad = await as('ada', 'admin');
    expect(ad.admin.body).toMatch(/<form id="loop-pause"[^>]* action="\/console\/admin\/loop\/pause"/);
    expect((await ad.client.post('/console/admin/loop/pause', { reason: `db migration ${XSS}` })).headers.get('location')).toBe('/console/admin?done=loop-paused');
    expect(g.rt.safeMode.state()).toMatchObject({ on: true, by: 'ada', reason: `db migration ${XSS}` });
    expect(await g.rt.guard.call(LOOP, 'restart_container', { container: 'web-1' })).toMatchObject({ ok: true, dryRun: true });
    expect(await g.rt.guard.call(ALICE, 'restart_container', { container: 'web-1' })).toMatchObject({ ok: true, dryRun: false });
    expect(entries(g, 'loop.pause')).toEqual([expect.objectContaining({ principal: 'ada', transport: 'console', target: 'loop' })]);
    const paused = await ad.client.get('/console/admin');
    expect(paused.body).toMatch(/<form id="loop-pause"[^>]* action="\/console\/admin\/loop\/resume"/);
    expect(paused.body).toContain('db migration &lt;script&gt;');
    expect(paused.body).not.toContain('<script>alert');
    // A second pause (another tab) keeps the first one's reason.
    expect((await ad.client.post('/console/admin/loop/pause', { reason: 'again' })).headers.get('location')).toBe('/console/admin?done=loop-already-paused');
    expect(entries(g, 'loop.pause')).toHaveLength(1);
    expect((await ad.client.post('/console/admin/loop/resume', { reason: 'migration done' })).headers.get('location')).toBe('/console/admin?done=loop-resumed');
    expect(g.rt.safeMode.state()).toMatchObject({ on: false, by: 'ada', reason: 'migration done' });
    expect(entries(g, 'loop.arm')).toEqual([expect.objectContaining({ principal: 'ada', transport: 'console' })]);
    expect(await g.rt.guard.call(LOOP, 'restart_container', { container: 'web-1' })).toMatchObject({ ok: true, dryRun: false });
    expect(g.rt.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('console admin: tokens', () => {
  it('lists tokens without their secrets or hashes; an admin revokes one and its holder is signed out', async () => {
    const { g, as } = await world();
    const bob = await as('bob', 'operator');
    const ad = await as('ada', 'admin');
    const page = await ad.client.get('/console/admin');
    for (const secret of [bob.token, ad.token]) {
      expect(page.body).not.toContain(secret);
      expect(page.body).not.toContain(secret.slice(4, 24));
      expect(page.body).not.toContain(createHash('sha256').update(secret).digest('hex'));
    }
    expect(page.body).not.toMatch(/wdn_[A-Za-z0-9_-]{20}/);
    const bobId = new TokenStore(g.rt.db).active('bob')[0]!.id;
    expect(page.body).toMatch(new RegExp(`<tr data-token-id="${bobId}" data-status="active">[\\s\\S]*?<form class="revoke" method="post" action="/console/admin/tokens/${bobId}/revoke">`));
    expect(bob.admin.body).not.toContain('<form class="revoke"');
    expect((await bob.client.post(`/console/admin/tokens/${bobId}/revoke`, {})).status).toBe(403);
    const res = await ad.client.post(`/console/admin/tokens/${bobId}/revoke`, {});
    expect(res.headers.get('location')).toBe('/console/admin?done=token-revoked');
    expect(new TokenStore(g.rt.db).check(bob.token)).toMatchObject({ ok: false, why: 'revoked' });
    expect((await bob.client.get('/console/admin')).status).toBe(303);
    expect(entries(g, 'tokens.revoke')).toEqual([expect.objectContaining({ principal: 'ada', transport: 'console', target: 'bob' })]);
    expect((await ad.client.post(`/console/admin/tokens/${bobId}/revoke`, {})).status).toBe(409);
    expect((await ad.client.post('/console/admin/tokens/999999/revoke', {})).status).toBe(404);
    for (const id of ['0', '-1', '1e3', '0x10', '01', `${bobId}.0`, '9'.repeat(40)]) {
      expect((await ad.client.post(`/console/admin/tokens/${id}/revoke`, {})).status, id).toBe(404);
    }
    expect(entries(g, 'tokens.revoke')).toHaveLength(1);
  });

  it('an admin revoking the token of their own session is signed out at once', async () => {
    const { g, as } = await world();
    const ad = await as('ada', 'admin');
    const ownId = new TokenStore(g.rt.db).active('ada')[0]!.id;
    expect(ad.admin.body).toContain('Revoke (signs you out)');
    const res = await ad.client.post(`/console/admin/tokens/${ownId}/revoke`, {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login');
    expect(ad.client.cookie()).toBeUndefined();
    expect(new TokenStore(g.rt.db).check(ad.token)).toMatchObject({ ok: false, why: 'revoked' });
    expect(entries(g, 'tokens.revoke')).toEqual([expect.objectContaining({ principal: 'ada', target: 'ada', transport: 'console' })]);
  });
});
