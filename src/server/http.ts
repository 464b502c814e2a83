// The daemon's HTTP routes on Hono: /mcp, /approvals, /alerts, /metrics, /healthz (and with server.oauth,
// /.well-known/oauth-protected-resource; /mcp then takes OAuth JWTs too, see oauth-http.ts). Every request passes
// the Host/Origin allow-list first (DNS-rebinding protection); every route but /healthz, the
// .well-known metadata (public by RFC 9728), /metrics when configured public and Slack's interactions
// (its request signature instead: slack-interactions.ts) needs a bearer token (request-auth.ts) whose
// role may use it, within its rate. A 401, 403, 429 or OAuth 503 on any
// route but /healthz is audited (refusal-audit.ts groups the floods).
import type { HttpBindings } from '@hono/node-server';
import { validateHostHeader, validateOriginHeader } from '@modelcontextprotocol/server';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { IDLE_QUEUE, Intake } from '../loop/intake.js';
import { IncidentStore } from '../store/incidents.js';
import { SilenceStore } from '../store/silences.js';
import { TokenStore, expiryWarning } from '../store/tokens.js';
import { alertRouteOf, mountAlertRoutes } from './alerts-http.js';
import { listApprovals, decide } from './approvals-http.js';
import { ROUTE_ROLES, type Principal, type Route } from './auth.js';
import { createConsole } from './console/console-app.js';
import { createHealthCheck } from './health.js';
import { createMcpHttp, type McpHttp } from './mcp-http.js';
import { PRM_PATH } from './oauth-config.js';
import { createOAuthGate } from './oauth-http.js';
import type { Metrics } from './metrics.js';
import { RateLimiter, type RateLimit } from './rate-limit.js';
import { ANONYMOUS, RefusalAudit } from './refusal-audit.js';
import { createRequestAuth } from './request-auth.js';
import { SLACK_INTERACTIONS_PATH, createSlackInteractions } from './slack-interactions.js';
import { jsonError } from './responses.js';
import { DatabaseBusy, isBusy } from '../store/busy.js';
import type { Runtime } from './runtime.js';

export interface GatewayOptions {
  allowedHosts: string[];
  allowedOrigins: string[];
  rateLimit: RateLimit;
  maxBodyBytes: number;
  metricsPublic: boolean;
  sessionIdleMs: number;
  /** Bytes the replay buffers of all 2025-11-25 sessions hold together. */
  sessionReplayBytes: number;
  maxSessions: number;
  /** Per caller (Principal.bindKey), see McpHttpOptions. */
  maxSessionsPerToken: number;
  /** The operator console (server.console), its links (server.publicUrl) and whether it is served over TLS. */
  console?: { enabled: boolean; sessionHours: number; publicUrl?: string; secure: boolean };
  /** Where posted alerts go; default: an intake on the runtime's store whose queue wakes nobody. */
  intake?: Intake;
}

type Env = { Bindings: Partial<HttpBindings>; Variables: { who: Principal } };

export interface Gateway {
  fetch: (request: Request, env?: Partial<HttpBindings>) => Response | Promise<Response>;
  metrics: Metrics;
  mcp: McpHttp;
  /** POST /mcp requests whose response has not finished: tool calls under way. */
  inflight(): number;
  /** New requests get 503 from now on. */
  drain(): void;
  /** Closes MCP sessions and per-request servers. */
  close(): Promise<void>;
}

/** The metric label for a path: the route pattern, never the raw path (ids would grow the label set). */
function routeOf(path: string): string {
  if (['/mcp', '/healthz', '/metrics', '/approvals', '/'].includes(path)) return path;
  if (path === '/console' || path.startsWith('/console/')) return '/console';
  if (path === PRM_PATH || path.startsWith(`${PRM_PATH}/`)) return PRM_PATH;
  if (path === SLACK_INTERACTIONS_PATH) return path;
  const decision = /^\/approvals\/[^/]+\/(approve|deny)$/.exec(path);
  return decision ? `/approvals/:id/${decision[1]}` : (alertRouteOf(path) ?? 'other');
}

type Refusal = 401 | 403 | 429 | 503;
const ERROR_OF: Record<Refusal, string> = { 401: 'unauthorized', 403: 'forbidden', 429: 'rate_limited', 503: 'unavailable' };

export function createGateway(rt: Runtime, opts: GatewayOptions): Gateway {
  // Never breaks the request: a warning in the log, once per token a day, while there is time to rotate.
  const tokens = new TokenStore(rt.db, { onExpiringSoon: (t) => rt.log.warn({ tokenId: t.id, principal: t.name, expiresAt: t.expiresAt }, expiryWarning(t)) });
  const { metrics } = rt;
  const limiter = new RateLimiter(opts.rateLimit);
  const pruner = setInterval(() => limiter.prune(), 60_000);
  pruner.unref();
  const mcp = createMcpHttp(rt.guard, rt.log, {
    maxBodyBytes: opts.maxBodyBytes, sessionIdleMs: opts.sessionIdleMs, maxSessions: opts.maxSessions, maxSessionsPerToken: opts.maxSessionsPerToken,
    sessionReplayBytes: opts.sessionReplayBytes, policyChanges: rt.policy,
  });
  const health = createHealthCheck(rt);
  const refusals = new RefusalAudit(rt.audit, rt.log);
  /**
   * A 401, 403, 429 or OAuth 503 on any route but /healthz (tools, approvals, alert intake, metrics,
   * metadata), audited as http.auth; refusal-audit.ts groups a flood into about one entry a minute,
   * so an issuer outage, and who knocked during it, shows in the audit without filling it.
   */
  const refuse = (c: Context<Env>, status: Refusal, reason: string, principal: string, headers: Record<string, string> = {}): Response => {
    const route = routeOf(c.req.path);
    // /healthz is the one route without a token, polled by probes: its Host refusals are only answered.
    if (route !== '/healthz') refusals.record({ route, method: c.req.method, status, principal, remote: c.env?.incoming?.socket.remoteAddress ?? 'unknown', reason });
    return jsonError(status, ERROR_OF[status], reason, headers);
  };
  const oauth = rt.config.server.oauth ? createOAuthGate(rt.config.server.oauth, rt.log) : undefined;
  void oauth?.warm();
  const authenticateRequest = createRequestAuth(tokens, oauth);
  let draining = false;
  let inflight = 0;

  const requireRole = (route: Route): MiddlewareHandler<Env> => async (c, next) => {
    const auth = await authenticateRequest(c.req.header('authorization'), route);
    if (!auth.ok) return refuse(c, auth.status, auth.reason, auth.principal, auth.headers);
    const { who } = auth;
    if (!ROUTE_ROLES[route].includes(who.role)) return refuse(c, 403, `role ${who.role} may not use /${route}`, who.principal);
    const taken = limiter.take(who.principal);
    if (!taken.ok) {
      return refuse(c, 429, `${who.principal} is over ${opts.rateLimit.perMinute} requests a minute (burst ${opts.rateLimit.burst})`, who.principal, {
        'retry-after': String(taken.retryAfterSeconds),
      });
    }
    c.set('who', who);
    await next();
  };

  const app = new Hono<Env>();
  app.use('*', async (c, next) => {
    await next();
    metrics.observeHttp(routeOf(c.req.path), c.res.status);
  });
  app.use('*', async (c, next) => {
    if (draining) return jsonError(503, 'unavailable', 'warden is shutting down', { connection: 'close' });
    // Checked before the token, so the principal is not known here.
    const host = validateHostHeader(c.req.header('host'), opts.allowedHosts);
    if (!host.ok) return refuse(c, 403, `${host.message}; accepted names are set by server.allowedHosts`, ANONYMOUS);
    const origin = validateOriginHeader(c.req.header('origin'), opts.allowedOrigins);
    if (!origin.ok) return refuse(c, 403, `${origin.message}; accepted names are set by server.allowedOrigins`, ANONYMOUS);
    await next();
  });

  app.get('/healthz', async (c) => {
    const h = await health();
    return c.json(h, h.status === 'failing' ? 503 : 200);
  });
  const metricsGate: MiddlewareHandler<Env> = opts.metricsPublic ? async (_c, next) => next() : requireRole('metrics');
  if (oauth) for (const path of oauth.metadataPaths) app.get(path, () => oauth.metadata());
  app.get('/metrics', metricsGate, async (c) => c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }));

  app.all('/mcp', requireRole('mcp'), async (c) => {
    const outgoing = c.env?.outgoing;
    if (c.req.method === 'POST' && outgoing) {
      inflight += 1;
      outgoing.once('close', () => { inflight -= 1; });
    }
    return mcp.handle(c.req.raw, c.get('who'), c.env?.incoming);
  });

  app.get('/approvals', requireRole('approvals'), (c) => listApprovals(rt, c.req.query('all') === '1'));
  app.post('/approvals/:id/approve', requireRole('approvals'), (c) => decide(rt, c.req.raw, c.get('who'), c.req.param('id'), 'approved', opts.maxBodyBytes));
  app.post('/approvals/:id/deny', requireRole('approvals'), (c) => decide(rt, c.req.raw, c.get('who'), c.req.param('id'), 'denied', opts.maxBodyBytes));

  const intake = opts.intake ?? new Intake(new IncidentStore(rt.db), rt.inventory, IDLE_QUEUE, rt.config.loop, rt.log, undefined, new SilenceStore(rt.db, rt.audit));
  mountAlertRoutes(app, {
    intake, auth: requireRole('alerts'), maxBodyBytes: opts.maxBodyBytes, grafanaSecret: rt.config.secrets.grafanaSecret, log: rt.log,
  });

  const consoleOpts = opts.console ?? { enabled: true, sessionHours: 12, secure: false };
  const operatorConsole = consoleOpts.enabled ? createConsole(
    { rt, incidents: new IncidentStore(rt.db), tokens, secure: consoleOpts.secure, ...(consoleOpts.publicUrl ? { publicUrl: consoleOpts.publicUrl } : {}) },
    {
      refuse: (c, status, reason, principal) => refuse(c as Context<Env>, status, reason, principal),
      take: (key) => limiter.take(key).ok,
      sessionHours: consoleOpts.sessionHours,
    },
  ) : undefined;
  if (operatorConsole) app.route('/', operatorConsole.app);

  // No bearer token: Slack cannot send one. Its signature, checked there, is what lets it in.
  const slack = rt.config.integrations.slack ? createSlackInteractions(rt, { maxBodyBytes: opts.maxBodyBytes }) : undefined;
  if (slack) app.post(SLACK_INTERACTIONS_PATH, (c) => slack.handle(c.req.raw, c.env?.incoming?.socket.remoteAddress ?? 'unknown'));

  app.notFound(() => jsonError(404, 'not_found', 'no such route; see /healthz, /mcp, /approvals, /alerts/<source>, /metrics'));
  app.onError((err) => {
    // A refusal a middleware ends the request with (the console's malformed form body): its own answer.
    if (err instanceof HTTPException) return err.getResponse();
    // Another process holds the database's write lock past every wait: the client may retry.
    if (isBusy(err) || err instanceof DatabaseBusy) return jsonError(503, 'busy', 'the database is locked by another process; retry shortly', { 'retry-after': '1' });
    rt.log.error({ err }, 'http handler failed');
    return jsonError(500, 'internal', 'internal error');
  });

  return {
    fetch: (request, env) => app.fetch(request, env ?? {}),
    metrics,
    mcp,
    inflight: () => inflight,
    drain: () => {
      draining = true;
      // Live pages hold their streams open: ended now, so the listener can close.
      void operatorConsole?.close();
    },
    async close() {
      clearInterval(pruner);
      // Before the runtime closes the database: the counts still pending are written.
      await operatorConsole?.close();
      refusals.close();
      slack?.close();
      await mcp.close();
    },
  };
}
