// The operator console (docs/console.md): server-rendered pages under /console, mounted on the
// gateway's app so it shares its port, TLS and Host/Origin checks. Every page needs a session
// (login.ts); every change passes requireChange (same origin, CSRF token, role) and then the same
// decider, switch or store call the command line makes, so the audit reads the same either way.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { CHANGE_ROLES, type ConsoleDeps, type ConsoleEnv, type MountContext } from './console-env.js';
import { ConsoleSessions } from './console-sessions.js';
import { CONSOLE_PREFIX, consoleHeaders, noStore, requireChange, requireSession, type ChangeRefusal } from './console-security.js';
import { assetResponse } from './assets.js';
import { LiveEvents } from './live-events.js';
import { mountLogin, type LoginRefusal } from './login.js';
import { mountIncidentPages } from './incidents-page.js';
import { mountApprovalPages } from './approvals-page.js';
import { mountAuditPage } from './audit-page.js';
import { mountFleetPage } from './fleet-page.js';
import { mountAdminPage } from './admin-page.js';
import { mountHealthPage } from './health-page.js';
import { mountReportPage } from './report-page.js';

/** Form posts to the console are small: a reason, a few fields. */
const MAX_FORM_BYTES = 64 * 1024;

export interface ConsoleHooks {
  /** Audits a refused request as the gateway's other refusals (http.auth). */
  refuse: (c: Context, status: 401 | 403 | 429, reason: string, principal: string) => Response;
  /** The gateway's rate limiter: false when `key` is over its rate. */
  take: (key: string) => boolean;
  sessionHours: number;
}

export interface ConsoleApp {
  app: Hono<ConsoleEnv>;
  sessions: ConsoleSessions;
  /** Ends live streams and whatever pages started (a verification's child process). */
  close(): Promise<void>;
}

export function createConsole(deps: ConsoleDeps, hooks: ConsoleHooks): ConsoleApp {
  const app = new Hono<ConsoleEnv>();
  const sessions = new ConsoleSessions(deps.tokens, hooks.sessionHours * 3_600_000);
  const live = new LiveEvents(deps.rt.db);
  const refuseChange: ChangeRefusal = (c, status, reason) => hooks.refuse(c, status, reason, c.get('viewer').principal);
  const refuseLogin: LoginRefusal = (c, status, reason, principal) => { hooks.refuse(c, status, reason, principal ?? 'anonymous'); };

  const headers = consoleHeaders(deps.secure);
  for (const path of ['/', CONSOLE_PREFIX, `${CONSOLE_PREFIX}/*`]) app.use(path, headers, noStore);
  app.get('/', (c) => c.redirect(`${CONSOLE_PREFIX}/incidents`, 302));
  app.get(CONSOLE_PREFIX, (c) => c.redirect(`${CONSOLE_PREFIX}/incidents`, 302));
  app.post(`${CONSOLE_PREFIX}/*`, bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text(`form over ${MAX_FORM_BYTES} bytes`, 413) }));
  app.get(`${CONSOLE_PREFIX}/assets/:name`, (c) => assetResponse(c.req.param('name'), c.req.header('if-none-match')));
  mountLogin(app, deps, sessions, refuseLogin, refuseChange, hooks.take, { refuse: hooks.refuse, take: hooks.take });

  const gate = { refuse: hooks.refuse, take: hooks.take };
  app.use(`${CONSOLE_PREFIX}/*`, requireSession(sessions, deps.secure, gate));
  app.get(`${CONSOLE_PREFIX}/events`, (c) => {
    const { sessionId } = c.get('viewer');
    return live.handle(c, sessionId, () => sessions.alive(sessionId));
  });
  const closers: Array<() => void | Promise<void>> = [];
  const ctx: MountContext = { change: (roles = CHANGE_ROLES) => requireChange(refuseChange, roles), live, onClose: (fn) => { closers.push(fn); } };
  mountIncidentPages(app, deps, ctx);
  mountApprovalPages(app, deps, ctx);
  mountAuditPage(app, deps, ctx);
  mountFleetPage(app, deps, ctx);
  mountAdminPage(app, deps, ctx);
  mountHealthPage(app, deps, ctx);
  mountReportPage(app, deps, ctx);
  return {
    app,
    sessions,
    async close() {
      live.close();
      await Promise.allSettled(closers.splice(0).map(async (fn) => fn()));
    },
  };
}
