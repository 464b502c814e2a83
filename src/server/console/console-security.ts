// The console's browser-facing defences, in one place: a strict Content-Security-Policy (scripts and
// styles from warden only, nothing inline, no eval), no framing, no sniffing, no caching of pages;
// the session check; and the CSRF check every change passes (same-origin by Origin/Sec-Fetch-Site
// when the browser sends them, and always the session's token).
import { getCookie } from 'hono/cookie';
import type { Context, MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { Role } from '../../shared/roles.js';
import { CHANGE_ROLES, type ConsoleEnv, type Viewer } from './console-env.js';
import { sameSecret, type ConsoleSessions } from './console-sessions.js';
import { formFieldOrRefuse } from './form-input.js';

export const CONSOLE_PREFIX = '/console';

export function sessionCookieName(secure: boolean): string {
  // __Host- binds the cookie to this exact origin (Secure, Path=/, no Domain): only possible under TLS.
  return secure ? '__Host-warden_session' : 'warden_session';
}

/** HSTS only when warden itself serves TLS: over plain HTTP it would pin a scheme this origin does not have. */
export function consoleHeaders(secure: boolean): MiddlewareHandler<ConsoleEnv> {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    crossOriginEmbedderPolicy: false,
    // Not no-referrer: under it a browser sends `Origin: null` with every form post, and the
    // same-origin check below would refuse the console's own forms. same-origin keeps URLs from
    // leaking to other sites and leaves Origin intact.
    referrerPolicy: 'same-origin',
    xFrameOptions: 'DENY',
    strictTransportSecurity: secure ? 'max-age=15552000' : false,
    permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
  });
}

/** Pages hold live operational data: never kept by the browser or a proxy. */
export const noStore: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  await next();
  if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
};

/**
 * A path inside the console to return to after signing in, normalised as the browser would (dot
 * segments, `%2e`, backslashes); anything that leaves the console or this origin is dropped.
 */
export function safeNext(next: string | undefined): string {
  const fallback = `${CONSOLE_PREFIX}/incidents`;
  if (!next || !next.startsWith('/') || next.length > 2_000) return fallback;
  let url: URL;
  try {
    url = new URL(next, 'http://console.invalid');
  } catch {
    return fallback;
  }
  return url.origin === 'http://console.invalid' && url.pathname.startsWith(`${CONSOLE_PREFIX}/`) && !url.pathname.startsWith(`${CONSOLE_PREFIX}/login`)
    ? `${url.pathname}${url.search}` : fallback;
}

export interface SessionGate {
  /** Audits a refusal as the gateway's others (http.auth, grouped). */
  refuse: (c: Context, status: 401 | 429, reason: string, principal: string) => Response;
  /** The gateway's per-principal rate limiter: false when over. */
  take: (key: string) => boolean;
}

/**
 * Sets `viewer`. Without a live session a page redirects to the sign-in form and anything else
 * (a post, a fragment, the live stream) is refused 401, audited; a viewer is held to its
 * principal's rate, the same bucket its bearer token draws from.
 */
export function requireSession(sessions: ConsoleSessions, secure: boolean, gate: SessionGate): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const viewer = sessions.viewer(getCookie(c, sessionCookieName(secure)));
    if (!viewer) {
      if (c.req.method === 'GET' && c.req.header('accept')?.includes('text/html') && c.req.header('hx-request') === undefined) {
        const url = new URL(c.req.url);
        return c.redirect(`${CONSOLE_PREFIX}/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
      }
      return gate.refuse(c, 401, 'no console session: sign in at /console/login', 'anonymous');
    }
    if (!gate.take(viewer.principal)) return gate.refuse(c, 429, `${viewer.principal} is over its request rate`, viewer.principal);
    c.set('viewer', viewer);
    await next();
  };
}

/**
 * Whether an unsafe request comes from this console's own pages: a browser's Sec-Fetch-Site must be
 * same-origin and its Origin name the host this request was sent to (the Host header, which the
 * gateway's allow-list checked: behind a TLS-terminating proxy the scheme differs, the host does not).
 * A client that sends neither (curl) still needs the session's token.
 */
export function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false; // `null` (a sandboxed frame, a redirect across origins) or garbage
  }
  return host !== '' && host.toLowerCase() === (c.req.header('host') ?? new URL(c.req.url).host).toLowerCase();
}

export type ChangeRefusal = (c: Context<ConsoleEnv>, status: 403, reason: string) => Response;

/**
 * For every POST of a signed-in viewer: same origin, the session's CSRF token (form field `_csrf`
 * or header `x-csrf-token`), and a role in `roles`. Each refusal is audited by `refuse`.
 */
export function requireChange(refuse: ChangeRefusal, roles: readonly Role[] = CHANGE_ROLES): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const viewer: Viewer = c.get('viewer');
    if (!sameOrigin(c)) return refuse(c, 403, 'cross-site request refused (Origin/Sec-Fetch-Site is not this console)');
    const sent = c.req.header('x-csrf-token') ?? await formField(c, '_csrf');
    if (!sent || !sameSecret(sent, viewer.csrf)) return refuse(c, 403, 'missing or wrong CSRF token: reload the page and try again');
    if (!roles.includes(viewer.role)) return refuse(c, 403, `role ${viewer.role} may not do this from the console (it needs ${roles.join(' or ')})`);
    await next();
  };
}

/**
 * One field of a urlencoded or multipart form; Hono caches the parsed body, so handlers read it again
 * for free. A body that does not parse, or a field given twice, ends the request: 400 naming it (form-input.ts).
 */
export async function formField(c: Context, name: string): Promise<string | undefined> {
  return formFieldOrRefuse(c, name);
}
