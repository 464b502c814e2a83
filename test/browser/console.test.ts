// The operator console in a real headless Chromium against `warden serve` with the loop on: an
// alert about a crashed container opens an incident, the scripted model asks to restart it, the
// policy holds the restart, and a human signs in, sees the held call, approves it, and watches the
// loop run it and the incident resolve; the audit shows both under their principals. Around that:
// script in an alert annotation and in container logs stays text, a cross-site or cross-origin form
// post is refused, a readonly user can change nothing, and the session cookie cannot be read or
// sent cross-site. The tests run in order against one world: the refusals come before the approval,
// so "still pending" means the refused request really changed nothing.
import type { HTTPResponse } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, useChromium, type WatchedPage } from '../support/browser.js';
import {
  ANNOTATION_XSS, LOG_XSS, PRINCIPALS, attr, servePages, startConsoleWorld, type ConsoleWorld, type Pages,
} from '../support/console-world.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';

const chromium = useChromium();
let dockerd: Dockerd | undefined;
let world: ConsoleWorld;
let attacker: Pages;
beforeAll(async () => {
  dockerd = await startDockerd();
  world = await startConsoleWorld(dockerd);
  attacker = await servePages({});
});
afterAll(async () => {
  await attacker?.close();
  await world?.close();
  await dockerd?.stop();
});

const SESSION_COOKIE = 'warden_session';
const operator = PRINCIPALS.operator;

async function signIn(token: string): Promise<{ w: WatchedPage; res: HTTPResponse | null }> {
  const w = await chromium().newPage();
  await w.page.goto(`${world.url}/console/login`);
  await screenshot(w.page, 'login');
  await w.page.type('form#login input[name=token]', token);
  const [res] = await Promise.all([w.page.waitForNavigation(), w.page.click('form#login button[type=submit]')]);
  return { w, res };
}

async function visit(w: WatchedPage, path: string): Promise<HTTPResponse | null> {
  const res = await w.page.goto(`${world.url}${path}`, { waitUntil: 'load' });
  expect(res?.status(), `GET ${path}`).toBe(200);
  return res;
}

/** Nothing ran that the page did not ship, nothing was refused, and nothing came from elsewhere. */
async function expectNoScriptRan(w: WatchedPage): Promise<void> {
  // A refused handler or a broken image reports a moment after `load`.
  await new Promise((r) => setTimeout(r, 300));
  expect(w.scriptTraces()).toEqual([]);
  expect(w.seen.requests.filter((u) => !u.startsWith(`${world.url}/`))).toEqual([]);
  const scripts = await w.page.$$eval('script', (els) => els.map((e) => e.getAttribute('src') ? (e as unknown as { src: string }).src : `inline: ${e.textContent}`));
  expect(scripts.every((s) => s.startsWith(`${world.url}/console/assets/`)), scripts.join('\n')).toBe(true);
}

const text = (w: WatchedPage, selector = 'body'): Promise<string> => w.page.$eval(selector, (e) => (e as unknown as { innerText: string }).innerText);
const pending = (): string | undefined => world.approvals().find((a) => a.id === world.approvalId)?.status;
const sessionCookie = async (w: WatchedPage) => (await w.context.cookies()).find((c) => c.name === SESSION_COOKIE);
const csrfOf = (w: WatchedPage): Promise<string> => w.page.$eval('form#logout input[name=_csrf]', (e) => e.getAttribute('value') ?? '');
const decidePath = (): string => `/console/approvals/${world.approvalId}/decide`;

describe('the operator console in a browser', () => {
  let op: WatchedPage;

  it('refuses a token that is not one, and an alerts-role token; neither gets a session', async () => {
    const bad = await signIn('wdn_not-a-real-token-at-all-0123456789abcdef');
    expect(bad.res?.status()).toBe(401);
    expect(new URL(bad.w.page.url()).pathname).toBe('/console/login');
    expect(await sessionCookie(bad.w)).toBeUndefined();
    await bad.w.close();

    const alerts = await signIn(world.tokens.alerts);
    expect(alerts.res?.status()).toBe(403);
    expect(await sessionCookie(alerts.w)).toBeUndefined();
    expect(await text(alerts.w)).toMatch(/alerts/);
    await alerts.w.close();
  });

  it('signs the operator in with an HttpOnly, SameSite=Strict session cookie that expires', async () => {
    const { w, res } = await signIn(world.tokens.operator);
    op = w;
    expect(res?.status()).toBe(200);
    expect(new URL(op.page.url()).pathname).toBe('/console/incidents');
    expect(await text(op, '#whoami')).toMatch(new RegExp(`${operator}[\\s\\S]*operator`));
    const cookie = await sessionCookie(op);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', secure: false, session: false });
    const hoursLeft = (cookie!.expires * 1000 - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(11);
    expect(hoursLeft).toBeLessThanOrEqual(12);
    // HttpOnly: the page's own script cannot read it.
    expect(await op.page.evaluate('document.cookie')).not.toContain(SESSION_COOKIE);
    expect(world.audit().some((e) => e.tool === 'console.login' && e.principal === operator)).toBe(true);
    await expectNoScriptRan(op);
  });

  it('shows the alert annotation and the container log line as text: no script of theirs runs', async () => {
    await visit(op, '/console/incidents');
    const list = await text(op);
    expect(list).toContain('<script>alert(2)</script>');
    await expectNoScriptRan(op);
    await screenshot(op.page, 'incidents');

    await visit(op, `/console/incidents/${world.parked.id}`);
    expect((await text(op, '#incident-status')).trim()).toBe('waiting_approval');
    const detail = await text(op);
    expect(detail).toContain(ANNOTATION_XSS);
    expect(detail).toContain(LOG_XSS);
    expect(await op.page.$$('img')).toHaveLength(0);
    expect(await op.page.$$eval('#timeline li.event', (els) => els.map((e) => e.getAttribute('data-kind')))).toEqual(
      expect.arrayContaining(['alert', 'model', 'tool']),
    );
    await expectNoScriptRan(op);
  });

  it('lists the call the loop holds, with its tool, target and arguments, and a form to decide it', async () => {
    await visit(op, '/console/approvals');
    const item = `article.approval[data-approval-id="${world.approvalId}"]`;
    expect(await text(op, item)).toMatch(/restart_container[\s\S]*local\/console-web/);
    await Promise.all([op.page.waitForNavigation(), op.page.click(`${item} a[href="/console/approvals/${world.approvalId}"]`)]);
    expect(new URL(op.page.url()).pathname).toBe(`/console/approvals/${world.approvalId}`);
    const detail = await text(op);
    expect(detail).toMatch(/restart_container/);
    expect(detail).toMatch(/local\/console-web/);
    expect(detail).toMatch(/hold-web-restarts/);
    expect(detail).toMatch(/"?timeoutSeconds"?\s*:\s*1/);
    expect(detail).toContain(world.parked.id);
    expect(await op.page.$('form.decide textarea[name=reason]')).not.toBeNull();
    expect(await op.page.$('form.decide button[name=verdict][value=approved]')).not.toBeNull();
    expect(await op.page.$('form.decide button[name=verdict][value=denied]')).not.toBeNull();
    const expires = await op.page.$eval('[data-expires-at]', (e) => e.getAttribute('data-expires-at'));
    expect(Date.parse(expires!)).toBeGreaterThan(Date.now());
    await expectNoScriptRan(op);
    await screenshot(op.page, 'approval');
  });

  it('gives a readonly user no decide form, and refuses its decide POST with a valid CSRF token', async () => {
    const { w: ro, res } = await signIn(world.tokens.readonly);
    expect(res?.status()).toBe(200);
    await visit(ro, `/console/approvals/${world.approvalId}`);
    expect(await text(ro)).toMatch(/restart_container/);
    expect(await ro.page.$('form.decide')).toBeNull();
    expect(await ro.page.$('button[name=verdict]')).toBeNull();

    // The same request the form would send, from the console's own origin with the session's token.
    const status = await ro.page.evaluate(async (path, csrf) => {
      const r = await fetch(path, { method: 'POST', body: new URLSearchParams({ _csrf: csrf, verdict: 'approved', reason: 'readonly tries' }), redirect: 'manual' });
      return r.status;
    }, decidePath(), await csrfOf(ro));
    expect(status).toBe(403);
    // And the JSON API with its bearer token.
    const api = await fetch(`${world.url}/approvals/${world.approvalId}/approve`, { method: 'POST', headers: { authorization: `Bearer ${world.tokens.readonly}` } });
    expect(api.status).toBe(403);
    expect(pending()).toBe('pending');
    await ro.close();
  });

  it('refuses a form posted from another origin or site, even carrying a stolen CSRF token; the call stays held', async () => {
    await visit(op, `/console/approvals/${world.approvalId}`);
    const csrf = await csrfOf(op);
    const form = (token: string | null): string => `<form method="post" action="${attr(`${world.url}${decidePath()}`)}">
<input name="verdict" value="approved"><input name="reason" value="csrf">${token === null ? '' : `<input name="_csrf" value="${attr(token)}">`}
</form><script>document.forms[0].submit()</script>`;
    const evil = await servePages({ '/no-token': { body: form(null) }, '/stolen-token': { body: form(csrf) } });
    try {
      // Another port of 127.0.0.1 is the same site: the SameSite=Strict cookie goes along, and only
      // the origin check and the token stand in the way.
      for (const [base, path, want] of [
        [evil.url, '/no-token', 403], [evil.url, '/stolen-token', 403], [evil.crossSiteUrl, '/stolen-token', 401],
      ] as const) {
        const answered = op.page.waitForResponse((r) => r.url().endsWith(decidePath()) && r.request().method() === 'POST');
        await op.page.goto(`${base}${path}`);
        expect((await answered).status(), `${base}${path}`).toBe(want);
      }
    } finally {
      await evil.close();
    }

    // Outside a browser, a forged Origin or Sec-Fetch-Site with the real cookie and token.
    const cookie = await sessionCookie(op);
    const forged = async (headers: Record<string, string>): Promise<number> => (await fetch(`${world.url}${decidePath()}`, {
      method: 'POST', redirect: 'manual',
      headers: { cookie: `${SESSION_COOKIE}=${cookie!.value}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ _csrf: csrf, verdict: 'approved', reason: 'forged' }).toString(),
    })).status;
    expect(await forged({ origin: 'http://evil.example' })).toBe(403);
    expect(await forged({ 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await forged({ origin: world.url, 'x-csrf-token': 'wrong' })).toBe(403);

    expect(pending()).toBe('pending');
    expect(world.audit().filter((e) => e.approvalId === world.approvalId && e.phase === 'approved')).toEqual([]);
    // The refused posts logged their 403s and 401 to this tab's console, as they should.
    op.forget();
  });

  it('approves with a reason; the loop runs the call, the incident resolves live, and the audit shows who decided', async () => {
    const watcher = await chromium().newPage(op.context);
    await visit(watcher, `/console/incidents/${world.parked.id}`);
    expect((await text(watcher, '#incident-status')).trim()).toBe('waiting_approval');

    // A background tab gets no animation frames, which clicks wait for: the deciding tab in front.
    await op.page.bringToFront();
    await visit(op, `/console/approvals/${world.approvalId}`);
    await op.page.type('form.decide textarea[name=reason]', 'logs show a one-off crash; restart is safe');
    const answered = op.page.waitForResponse((r) => r.url().endsWith(decidePath()) && r.request().method() === 'POST');
    await op.page.click('form.decide button[name=verdict][value=approved]');
    expect((await answered).status()).toBeLessThan(400);

    const done = await world.waitIncident(['resolved']);
    expect(done.resolution).toMatch(new RegExp(`restart_container .* approved by ${operator}; verified`));
    world.api.assertDone();
    // Pushed over the page's event stream: the tab was never reloaded.
    await watcher.page.waitForFunction("document.querySelector('#incident-status')?.textContent?.trim() === 'resolved'", { timeout: 20_000, polling: 200 });
    await expectNoScriptRan(watcher);
    await watcher.close();

    await visit(op, `/console/incidents/${world.parked.id}`);
    expect((await text(op, '#incident-status')).trim()).toBe('resolved');
    expect(await text(op, '#timeline')).toContain(`approved by ${operator}`);
    await screenshot(op.page, 'incident');

    const entries = world.audit();
    expect(entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ principal: operator, tool: 'restart_container', phase: 'approved', approvalId: world.approvalId }),
      expect.objectContaining({ principal: 'loop', tool: 'restart_container', phase: 'completed', approvalId: world.approvalId }),
    ]));

    const rows = async (query: string): Promise<string[]> => {
      await visit(op, `/console/audit?${query}`);
      return op.page.$$eval('table#audit-entries tr[data-seq]', (trs) => trs.map((tr) => (tr as unknown as { innerText: string }).innerText.replace(/\s+/g, ' ')));
    };
    const byOperator = await rows(`principal=${operator}`);
    expect(byOperator.some((r) => r.includes('restart_container') && r.includes('approved') && r.includes('local/console-web'))).toBe(true);
    expect(byOperator.every((r) => r.includes(operator))).toBe(true);
    const byTool = await rows('tool=restart_container');
    expect(byTool.some((r) => r.includes('loop') && r.includes('completed'))).toBe(true);
    expect(byTool.some((r) => r.includes(operator) && r.includes('approved'))).toBe(true);
    await expectNoScriptRan(op);
    await screenshot(op.page, 'audit');
  });

  it('shows fleet, admin and health to an admin, with the kill switch and loop pause forms', async () => {
    const { w: admin } = await signIn(world.tokens.admin);
    await visit(admin, '/console/fleet');
    expect(await text(admin)).toMatch(/local/);
    await expectNoScriptRan(admin);
    await screenshot(admin.page, 'fleet');

    await visit(admin, '/console/admin');
    expect(await admin.page.$('form#killswitch')).not.toBeNull();
    expect(await admin.page.$('form#loop-pause')).not.toBeNull();
    expect(await text(admin)).not.toContain(world.tokens.operator);
    await expectNoScriptRan(admin);
    await screenshot(admin.page, 'admin');

    await visit(admin, '/console/health');
    expect(await text(admin)).toMatch(/loop/i);
    await expectNoScriptRan(admin);
    await screenshot(admin.page, 'health');
    await admin.close();
  });

  it('after a walk through every page, signs out: the session ends, and the next page asks to sign in again', async () => {
    await op.page.bringToFront();
    // Each page holds an event stream; pages left behind must let theirs go, or the browser's six
    // connections to this host fill up and the sign-out post below waits for one until it times out.
    for (const section of ['incidents', 'approvals', 'audit', 'fleet', 'admin', 'health', 'incidents', 'approvals']) {
      await visit(op, `/console/${section}`);
    }
    await Promise.all([op.page.waitForNavigation(), op.page.click('form#logout button[type=submit]')]);
    expect(new URL(op.page.url()).pathname).toBe('/console/login');
    await op.page.goto(`${world.url}/console/approvals`);
    expect(new URL(op.page.url()).pathname).toBe('/console/login');
    expect(world.audit().some((e) => e.tool === 'console.logout' && e.principal === operator)).toBe(true);
    await op.close();
  });
});
