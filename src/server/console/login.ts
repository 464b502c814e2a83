// Signing in and out of the console: a warden token (readonly, operator or admin) typed once into a
// form is exchanged for a session cookie; the token itself is never stored in the browser. Both are
// audited (console.login, console.logout), refusals like the gateway's other 401s. A pre-session
// cookie and the same value in the form guard the sign-in form itself against login CSRF.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { canonicalJson, sha256 } from '../../store/canonical.js';
import { isReservedPrincipal } from '../../shared/roles.js';
import { bearerToken } from '../auth.js';
import { CONSOLE_ROLES, type ConsoleDeps, type ConsoleEnv } from './console-env.js';
import { SessionsFull, sameSecret, type ConsoleSessions } from './console-sessions.js';
import { CONSOLE_PREFIX, formField, requireChange, requireSession, safeNext, sameOrigin, sessionCookieName, type ChangeRefusal, type SessionGate } from './console-security.js';
import { barePage } from './layout.js';

const LOGIN_COOKIE = 'warden_login';

export interface LoginRefusal {
  (c: Context, status: 401 | 403 | 429, reason: string, principal?: string): void;
}

function loginForm(c: Context, next: string, problem?: string, status: 200 | 401 | 403 | 429 = 200): Response | Promise<Response> {
  const nonce = randomBytes(24).toString('base64url');
  setCookie(c, LOGIN_COOKIE, nonce, { httpOnly: true, sameSite: 'Strict', path: `${CONSOLE_PREFIX}/login`, maxAge: 600, secure: new URL(c.req.url).protocol === 'https:' });
  return barePage(c, 'Sign in', html`${problem ? html`<p class="banner danger" id="login-problem">${problem}</p>` : ''}
<form id="login" method="post" action="${CONSOLE_PREFIX}/login">
<input type="hidden" name="_login" value="${nonce}">
<input type="hidden" name="next" value="${next}">
<label>Token <input type="password" name="token" autocomplete="off" required autofocus placeholder="wdn_..."></label>
<button type="submit">Sign in</button>
</form>
<p class="muted">A token of role readonly, operator or admin: <code>warden tokens create --principal NAME --role operator</code>. It is exchanged for a session cookie and not kept in the browser.</p>`, status);
}

function audit(deps: ConsoleDeps, tool: 'console.login' | 'console.logout', principal: string, args: Record<string, unknown>, result: string): void {
  deps.rt.audit.append({
    callId: `console:${randomUUID()}`, principal, transport: 'http', tool, target: 'console', args, argsHash: sha256(canonicalJson(args)), phase: 'completed', result,
  });
}

export function mountLogin(
  app: Hono<ConsoleEnv>, deps: ConsoleDeps, sessions: ConsoleSessions, refuse: LoginRefusal, refuseChange: ChangeRefusal, take: (key: string) => boolean, gate: SessionGate,
): void {
  const cookie = sessionCookieName(deps.secure);
  app.get(`${CONSOLE_PREFIX}/login`, (c) => loginForm(c, safeNext(c.req.query('next'))));
  app.post(`${CONSOLE_PREFIX}/login`, async (c) => {
    const remote = c.env?.incoming?.socket.remoteAddress ?? 'unknown';
    const next = safeNext(await formField(c, 'next'));
    if (!take(`login:${remote}`)) {
      refuse(c, 429, 'too many sign-in attempts from this address');
      return loginForm(c, next, 'Too many sign-in attempts: wait a minute.', 429);
    }
    const nonce = await formField(c, '_login');
    const expected = getCookie(c, LOGIN_COOKIE);
    if (!sameOrigin(c) || !nonce || !expected || !sameSecret(nonce, expected)) {
      refuse(c, 403, 'sign-in form not from this console (cross-site or stale form)');
      return loginForm(c, next, 'That sign-in form was stale or came from another site: try again.', 403);
    }
    const token = bearerToken(`Bearer ${(await formField(c, 'token'))?.trim() ?? ''}`);
    const checked = token ? deps.tokens.check(token) : undefined;
    if (!checked?.ok) {
      const principal = checked && 'name' in checked ? checked.name : undefined;
      refuse(c, 401, `console sign-in refused: ${checked ? checked.why : 'malformed'} token`, principal);
      return loginForm(c, next, 'Sign-in refused: that token is not a valid warden token.', 401);
    }
    if (isReservedPrincipal(checked.token.name)) {
      refuse(c, 403, `token of principal ${checked.token.name}, a name reserved for warden itself`, checked.token.name);
      return loginForm(c, next, 'That token names one of warden\'s own principals and cannot sign in: revoke it.', 403);
    }
    if (!CONSOLE_ROLES.includes(checked.token.role)) {
      refuse(c, 403, `role ${checked.token.role} may not sign in to the console`, checked.token.name);
      return loginForm(c, next, `A token of role ${checked.token.role} cannot sign in to the console.`, 403);
    }
    // Signing in again ends the session this browser held: it never lingers beside the new one.
    const previous = getCookie(c, cookie);
    if (previous) sessions.destroy(previous);
    let session;
    try {
      session = sessions.create(checked.token);
    } catch (err) {
      if (!(err instanceof SessionsFull)) throw err;
      refuse(c, 429, err.message, checked.token.name);
      return loginForm(c, next, 'Too many console sessions are open: try again later.', 429);
    }
    audit(deps, 'console.login', checked.token.name, { tokenId: checked.token.id, role: checked.token.role, remote },
      `${checked.token.name} (${checked.token.role}) signed in to the console from ${remote}`);
    deleteCookie(c, LOGIN_COOKIE, { path: `${CONSOLE_PREFIX}/login` });
    setCookie(c, cookie, session.id, {
      httpOnly: true, sameSite: 'Strict', path: '/', secure: deps.secure, expires: new Date(session.expiresAt),
    });
    return c.redirect(next, 303);
  });
  app.post(`${CONSOLE_PREFIX}/logout`, requireSession(sessions, deps.secure, gate), requireChange(refuseChange, CONSOLE_ROLES), (c) => {
    const viewer = c.get('viewer');
    sessions.destroy(viewer.sessionId);
    audit(deps, 'console.logout', viewer.principal, { tokenId: viewer.tokenId }, `${viewer.principal} signed out of the console`);
    deleteCookie(c, cookie, { path: '/', secure: deps.secure });
    return c.redirect(`${CONSOLE_PREFIX}/login`, 303);
  });
}
