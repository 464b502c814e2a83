// The Admin page: the kill switch, pausing and resuming the loop, and the tokens. Who may do what is
// fixed here and stated on the page: stopping writes is open to anyone who may change anything;
// letting them run again, the loop's pause and resume, and revoking tokens are an admin's. Every
// action is a POST through ctx.change (same origin, CSRF token, role), then a redirect (PRG).
import type { Context, Hono } from 'hono';
import { deleteCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { MountContext } from './console-env.js';
import type { ConsoleDeps, ConsoleEnv } from './console-env.js';
import { CONSOLE_PREFIX, sessionCookieName } from './console-security.js';
import { killSwitchCard, loopCard, readReason, switchKill, switchLoop, type SwitchOutcome } from './admin-switches.js';
import { revokeFromConsole, tokenIdOf, tokensTable } from './admin-tokens.js';
import { page } from './layout.js';

const ADMIN = `${CONSOLE_PREFIX}/admin`;

/** Who set the switch that stands, and why, as the database holds it now. */
function standing(deps: ConsoleDeps): string {
  const ks = deps.rt.killSwitch.state();
  return ks.by ? ` (by ${ks.by}${ks.reason ? `: ${ks.reason}` : ''})` : '';
}

/**
 * What the page says after an action; only these keys are read from the query, never its text. A
 * text computed from `deps` reads the database when the page is shown (escaped like any text).
 */
const DONE: Record<SwitchOutcome | 'token-revoked', { text: string | ((deps: ConsoleDeps) => string); tone: 'ok' | 'warn' | 'danger' }> = {
  'killswitch-on': { text: 'Kill switch ON: every warden process denies every write from its next call.', tone: 'danger' },
  'killswitch-off': { text: 'Kill switch off: writes are decided by the policy again.', tone: 'ok' },
  'killswitch-already-on': { text: (deps) => `The kill switch was already on${deps.rt.killSwitch.isOn() ? standing(deps) : ''}: nothing changed, and the switch that stands keeps its reason.`, tone: 'warn' },
  'killswitch-already-off': { text: (deps) => `The kill switch was already off${deps.rt.killSwitch.isOn() ? '' : standing(deps)}: nothing changed.`, tone: 'warn' },
  'loop-paused': { text: "Loop paused: its writes are dry runs until someone resumes it.", tone: 'warn' },
  'loop-already-paused': { text: 'The loop was paused already: the pause that stands keeps its reason.', tone: 'warn' },
  'loop-resumed': { text: 'Loop resumed: its writes run again as the policy decides.', tone: 'ok' },
  'loop-not-paused': { text: 'The loop was not paused: nothing to resume.', tone: 'warn' },
  'token-revoked': { text: 'Token revoked: every session and client using it is refused from its next request.', tone: 'ok' },
};

const RULES = html`<p class="muted" id="admin-rules">Who may: <strong>switch the kill switch on</strong>: operator or admin (anyone who may change something may stop every write).
<strong>Switch it off, pause or resume the loop, revoke a token</strong>: admin only. A readonly viewer sees this page and changes nothing. Every action is audited under your name and notified.</p>`;

function render(c: Context<ConsoleEnv>, deps: ConsoleDeps, problem?: { text: string; status: 400 | 404 | 409 }): Response | Promise<Response> {
  const viewer = c.get('viewer');
  const key = c.req.query('done') ?? '';
  const found = Object.hasOwn(DONE, key) ? DONE[key as keyof typeof DONE] : undefined;
  const done = found && { tone: found.tone, text: typeof found.text === 'string' ? found.text : found.text(deps) };
  if (problem) c.status(problem.status);
  return page(c, deps, {
    title: 'Admin',
    section: 'admin',
    body: html`${problem ? html`<p class="banner danger" id="admin-problem">${problem.text}</p>` : done ? html`<p class="banner ${done.tone}" id="admin-done">${done.text}</p>` : ''}
${RULES}
<div class="grid">
${killSwitchCard(deps, viewer)}
${loopCard(deps, viewer)}
</div>
${tokensTable(deps, viewer)}`,
  });
}

const after = (c: Context<ConsoleEnv>, done: keyof typeof DONE): Response => c.redirect(`${ADMIN}?done=${done}`, 303);

export function mountAdminPage(app: Hono<ConsoleEnv>, deps: ConsoleDeps, ctx: MountContext): void {
  app.get(ADMIN, (c) => render(c, deps));

  // Stopping every write: any role that may change anything. Letting them run again: admin.
  for (const [state, roles] of [['on', undefined], ['off', ['admin'] as const]] as const) {
    app.post(`${ADMIN}/killswitch/${state}`, ctx.change(roles), async (c) => {
      const r = await readReason(c);
      if (!r.ok) return render(c, deps, { text: r.problem, status: 400 });
      return after(c, switchKill(deps, c.get('viewer'), state === 'on', r.reason));
    });
  }

  for (const action of ['pause', 'resume'] as const) {
    app.post(`${ADMIN}/loop/${action}`, ctx.change(['admin']), async (c) => {
      const r = await readReason(c);
      if (!r.ok) return render(c, deps, { text: r.problem, status: 400 });
      return after(c, switchLoop(deps, c.get('viewer'), action === 'pause', r.reason));
    });
  }

  app.post(`${ADMIN}/tokens/:id/revoke`, ctx.change(['admin']), (c) => {
    const id = tokenIdOf(c.req.param('id'));
    if (id === undefined) return render(c, deps, { text: 'token id: a positive whole number', status: 404 });
    const out = revokeFromConsole(deps, c.get('viewer'), id);
    if ('problem' in out) return render(c, deps, { text: out.problem, status: out.status });
    if (!out.own) return after(c, 'token-revoked');
    // The session's own token: it ended with the token (sessions re-check it on every request).
    deleteCookie(c, sessionCookieName(deps.secure), { path: '/', secure: deps.secure });
    return c.redirect(`${CONSOLE_PREFIX}/login`, 303);
  });
}
