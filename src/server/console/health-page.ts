// The Health page: what /healthz, `warden status` and the loop's budget say, on one screen that
// refreshes itself (the live fragment re-renders on every change the console's stream reports, and
// every 15 s for what changes without an audit entry: a monitor, a watch, Docker). Reads only.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import { createHealthCheck } from '../health.js';
import { readRecordedHealth, recordedChecks, tokenExpiryCheck } from '../recorded-health.js';
import type { MountContext } from './console-env.js';
import type { ConsoleDeps, ConsoleEnv } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { checksSection, gatewaySection, loopSection, monitorsSection, spendSection, spendToday, workSection } from './health-sections.js';
import { page, when, type Html } from './layout.js';

const LIVE = `${CONSOLE_PREFIX}/health/live`;

async function live(deps: ConsoleDeps, check: ReturnType<typeof createHealthCheck>): Promise<Html> {
  const now = new Date();
  const health = await check();
  const rec = readRecordedHealth(deps.rt.db, now);
  const checks = [...recordedChecks(rec, deps.rt.config.loop.heartbeat?.intervalSeconds, now), tokenExpiryCheck(deps.rt.db, now)];
  return html`<div id="health-live" hx-get="${LIVE}" hx-trigger="sse:changed, every 15s" hx-swap="outerHTML" data-at="${now.toISOString()}">
<p class="muted">As of ${when(now.toISOString())}.</p>
<div class="grid">
${gatewaySection(health)}
${loopSection(deps, rec)}
${spendSection(spendToday(deps, now))}
${workSection(rec, deps.rt.audit.writeProblem())}
</div>
${checksSection(checks)}
${monitorsSection(deps)}
</div>`;
}

export function mountHealthPage(app: Hono<ConsoleEnv>, deps: ConsoleDeps, _ctx: MountContext): void {
  // One check for the console, with /healthz's caching: many open pages still ping Docker once a second at most.
  const check = createHealthCheck(deps.rt);
  app.get(`${CONSOLE_PREFIX}/health`, async (c) => page(c, deps, {
    title: 'Health',
    section: 'health',
    body: html`<div hx-ext="sse" sse-connect="${CONSOLE_PREFIX}/events">${await live(deps, check)}</div>`,
  }));
  app.get(LIVE, async (c: Context<ConsoleEnv>) => c.html(await live(deps, check)));
}
