// The Health page's sections, each from the function that already answers it elsewhere: /healthz's
// check, `warden status`'s recorded checks (server/recorded-health.ts), the loop's daily budget
// (IncidentStore.costSince from midnight UTC, as loop/budget.ts counts it), the monitors' saved
// states. Nothing here judges anew; it shows.
import { html } from 'hono/html';
import { startOfUtcDay } from '../../loop/budget.js';
import type { HealthCheck } from '../../shared/health-checks.js';
import { MonitorStateStore } from '../../store/monitor-states.js';
import type { Health } from '../health.js';
import type { RecordedHealth } from '../recorded-health.js';
import type { ConsoleDeps } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { badge, when, type Html } from './layout.js';

const LEVEL_CLASS: Record<HealthCheck['level'], string> = { ok: 'ok', warn: 'pending', fail: 'failed' };
const BAD_STATES = new Set(['down', 'firing', 'unknown']);
/** Monitors shown; a fleet with more lists the rest with `warden monitors status`. */
const MAX_MONITORS = 200;

export function gatewaySection(h: Health): Html {
  return html`<section class="card" id="health-gateway" data-status="${h.status}">
<h2>warden ${badge(h.status)}</h2>
<dl class="facts">
<dt>Database</dt><dd>${h.db}</dd>
<dt>Audit</dt><dd>${h.audit === 'ok' ? 'writable' : html`<strong>cannot be written: every call is refused</strong>`}</dd>
<dt>Docker (local)</dt><dd>${h.docker.local}</dd>
<dt>Breakers open</dt><dd>${h.breakersOpen}</dd>
</dl>
${h.warnings?.length ? html`<ul class="warnings">${h.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ''}
</section>`;
}

export interface Spend {
  todayUsd: number;
  budgetUsd: number;
  since: string;
}

export function spendToday(deps: ConsoleDeps, now: Date): Spend {
  const since = startOfUtcDay(now);
  return { todayUsd: deps.incidents.costSince(since), budgetUsd: deps.rt.config.loop.budgets.dailyUsd, since: since.toISOString() };
}

export function spendSection(s: Spend): Html {
  const spent = s.budgetUsd > 0 && s.todayUsd >= s.budgetUsd;
  const pct = s.budgetUsd > 0 ? Math.round((s.todayUsd / s.budgetUsd) * 100) : spent ? 100 : 0;
  return html`<section class="card" id="health-spend" data-spent-usd="${s.todayUsd.toFixed(4)}" data-budget-usd="${s.budgetUsd.toFixed(2)}">
<h2>Model spend today ${spent ? badge('failed') : pct >= 80 ? badge('pending') : ''}</h2>
<p><strong>$${s.todayUsd.toFixed(2)}</strong> of $${s.budgetUsd.toFixed(2)} (${pct} %) since ${when(s.since)}</p>
<meter min="0" max="${Math.max(s.budgetUsd, 0.01)}" low="${s.budgetUsd * 0.8}" high="${s.budgetUsd * 0.95}" value="${Math.min(s.todayUsd, Math.max(s.budgetUsd, 0.01))}">${pct} %</meter>
<p class="muted">An estimate from each model response's tokens at the configured prices (loop.budgets). ${spent
    ? 'The daily budget is spent: the loop makes no model request until midnight UTC; incidents still open and escalate.'
    : 'Past the budget the loop makes no model request until midnight UTC.'}</p>
</section>`;
}

export function loopSection(deps: ConsoleDeps, rec: RecordedHealth): Html {
  const cfg = deps.rt.config.loop;
  const s = rec.safeMode;
  const watch = (name: string): Html => {
    const w = rec.watches.find((r) => r.name === name);
    return w ? html`${w.ok ? 'ok' : html`<strong>failed</strong>`} at ${when(w.at)}${w.detail ? html`: ${w.detail}` : ''}` : html`<span class="muted">never recorded</span>`;
  };
  return html`<section class="card" id="health-loop">
<h2>Loop ${!cfg.enabled ? badge('off') : s.on ? badge('degraded') : badge('running')}</h2>
<dl class="facts">
<dt>Configured</dt><dd>${cfg.enabled ? html`on, model ${cfg.model}, up to ${cfg.concurrency} incidents at once` : 'off (loop.enabled: false): alerts are recorded, nobody acts on them'}</dd>
<dt>Safe mode</dt><dd>${s.on ? html`ON${s.by ? html` by ${s.by}` : ''} at ${when(s.at)}: ${s.reason ?? ''} (<a href="${CONSOLE_PREFIX}/admin">resume on Admin</a>)` : 'off: its writes run as the policy decides'}</dd>
<dt>Watchdog</dt><dd>${watch('watchdog')}</dd>
<dt>Heartbeat</dt><dd>${cfg.heartbeat ? watch('heartbeat') : html`<span class="muted">not configured (loop.heartbeat)</span>`}</dd>
<dt>Docker events</dt><dd>${cfg.watchDockerEvents ? 'watched on every Docker host of the inventory while the loop runs; a broken stream shows in the heartbeat and the log' : 'not watched (loop.watchDockerEvents: false)'}</dd>
</dl>
</section>`;
}

export function monitorsSection(deps: ConsoleDeps): Html {
  const cfg = deps.rt.config.loop;
  const rows = new MonitorStateStore(deps.rt.db).list();
  const bad = rows.filter((m) => BAD_STATES.has(m.state));
  const shown = [...bad, ...rows.filter((m) => !BAD_STATES.has(m.state))].slice(0, MAX_MONITORS);
  return html`<section class="card" id="health-monitors">
<h2>Monitors</h2>
<p class="muted">${cfg.monitors ? `${rows.length} recorded, ${bad.length} down, firing or unreadable.` : 'Off (loop.monitors: false).'}</p>
${shown.length === 0 ? '' : html`<table id="monitors"><thead><tr><th>Monitor</th><th>Kind</th><th>Watches</th><th>State</th><th>Since</th><th>Checked</th><th>Detail</th></tr></thead><tbody>
${shown.map((m) => html`<tr data-monitor-id="${m.id}"><td>${m.id}</td><td>${m.kind}</td><td>${m.subject}</td><td>${badge(m.state === 'up' ? 'ok' : m.state === 'down' || m.state === 'firing' ? 'failed' : m.state === 'ok' ? 'ok' : 'pending')} ${m.state}</td>
<td>${when(m.since)}</td><td>${when(m.checkedAt)}</td><td>${m.detail}</td></tr>`)}
</tbody></table>`}
${rows.length > shown.length ? html`<p class="muted">${rows.length - shown.length} more: <code>warden monitors status</code>.</p>` : ''}
</section>`;
}

export function workSection(rec: RecordedHealth, auditProblem: { at: string; error: string } | undefined): Html {
  const o = rec.outbox;
  return html`<section class="card" id="health-work">
<h2>Open work</h2>
<dl class="facts">
<dt>Approvals pending</dt><dd><a href="${CONSOLE_PREFIX}/approvals" id="approvals-pending">${rec.approvals.pending}</a></dd>
<dt>Incidents open</dt><dd>${Object.entries(rec.incidents).map(([status, n]) => `${n} ${status}`).join(', ') || 'none'}</dd>
<dt>Notifications undelivered</dt><dd id="outbox-pending">${o.pending}${o.oldestPending ? html`, the oldest from ${when(o.oldestPending)}` : ''}</dd>
<dt>Given up (24 h)</dt><dd>${o.failed}${o.lastFailure ? html`; the last, ${o.lastFailure.event} to ${o.lastFailure.hook}: ${o.lastFailure.error ?? 'no error recorded'}` : ''}</dd>
<dt>Audit writes</dt><dd id="audit-write">${auditProblem ? html`<strong>failed</strong> at ${when(auditProblem.at)}: ${auditProblem.error}` : 'no failure since the last good write'}</dd>
</dl>
</section>`;
}

/** `warden status`'s checks, in its order and words. */
export function checksSection(checks: readonly HealthCheck[]): Html {
  return html`<section class="card" id="health-checks">
<h2>Checks (as <code>warden status</code> shows them)</h2>
<table id="checks"><thead><tr><th>Result</th><th>Check</th><th>Detail</th></tr></thead><tbody>
${checks.map((c) => html`<tr data-level="${c.level}"><td><span class="badge badge-${LEVEL_CLASS[c.level]}">${c.level === 'fail' ? 'FAIL' : c.level}</span></td><td>${c.name}</td><td>${c.detail}</td></tr>`)}
</tbody></table>
</section>`;
}
