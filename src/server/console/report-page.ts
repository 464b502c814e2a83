// The Report page: `warden report`'s figures (docs/report.md) for incidents opened since a time
// (a duration back from now or an ISO time; default 30d), and the top recurring causes. Reads
// only; every string from outside (services, causes) is escaped by the template.
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { incidentReport, type IncidentReport } from '../../store/incident-report.js';
import { REPORT_METRICS_MAX_INCIDENTS } from '../report-metrics.js';
import { formatRate, formatSeconds, type DurationFigure, type RateFigure } from '../../store/report-figures.js';
import type { ConsoleDeps, ConsoleEnv } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { singleQueryValues } from './form-input.js';
import { parseTimeFilter } from './incident-filters.js';
import { page, when, type Html } from './layout.js';

const DEFAULT_SINCE = '30d';
const MAX_SINCE_CHARS = 200;

/** The `since` asked for as a stored time, or the problems to name back. */
export function parseReportSince(queries: Record<string, string[]>, now: Date): { ok: true; since: string; text: string } | { ok: false; errors: string[]; text: string } {
  const { values, problems } = singleQueryValues(queries, ['since'] as const);
  const text = values.since ?? DEFAULT_SINCE;
  if (problems.length > 0) return { ok: false, errors: problems, text: text.slice(0, MAX_SINCE_CHARS) };
  if (text.length > MAX_SINCE_CHARS) return { ok: false, errors: [`since: over ${MAX_SINCE_CHARS} characters`], text: text.slice(0, MAX_SINCE_CHARS) };
  const since = parseTimeFilter(text, now);
  if (since === undefined) return { ok: false, errors: [`since: "${text.slice(0, 40)}" is neither an ISO time (2026-11-01T00:00Z) nor a duration back from now (30d, 12h, 2w)`], text };
  if (since > now.toISOString()) return { ok: false, errors: [`since: "${text.slice(0, 40)}" is in the future`], text };
  return { ok: true, since, text };
}

function sinceForm(text: string): Html {
  return html`<form class="filters" method="get" action="${CONSOLE_PREFIX}/report">
<label>Incidents opened since<input name="since" value="${text}" placeholder="30d or 2026-11-01T00:00Z"></label>
<button type="submit">Show</button> <a href="${CONSOLE_PREFIX}/report">last 30 days</a>
</form>`;
}

const durationRow = (name: string, key: string, f: DurationFigure): Html =>
  html`<tr data-figure="${key}"><th scope="row">${name}</th><td>${formatSeconds(f.meanSeconds)}</td><td>${formatSeconds(f.medianSeconds)}</td><td>${formatSeconds(f.p90Seconds)}</td><td>${f.count}</td></tr>`;
const rateRow = (name: string, key: string, f: RateFigure): Html =>
  html`<tr data-figure="${key}"><th scope="row">${name}</th><td>${formatRate(f.rate)}</td><td>${f.count} of ${f.of}</td></tr>`;

export function reportBody(r: IncidentReport): Html {
  const n = r.incidents;
  return html`<p id="report-window">Incidents opened since ${when(r.since)}: <strong>${n.opened}</strong> (open ${n.open}, resolved ${n.resolved}, escalated ${n.escalated}).
Still-open incidents count in MTTD and recurrence, not in the MTTRs or the rates. docs/report.md defines each figure.</p>
${r.capped ? html`<p class="banner warn" id="report-capped">Only the newest ${n.opened} incidents were read: the figures cover those opened since ${when(r.coveredFrom)}.</p>` : ''}
<h2>Durations</h2>
<table id="report-durations"><thead><tr><th></th><th>Mean</th><th>Median</th><th>p90</th><th>Incidents</th></tr></thead><tbody>
${durationRow('MTTD (alert start to opened)', 'mttd', r.mttd)}
${durationRow('MTTR to running (first passing verification)', 'mttrRunning', r.mttrRunning)}
${durationRow('MTTR to resolved', 'mttrResolved', r.mttrResolved)}
</tbody></table>
<h2>Rates</h2>
<table id="report-rates"><thead><tr><th></th><th>Rate</th><th>Incidents</th></tr></thead><tbody>
${rateRow('Auto-fix (resolved, no person decided)', 'autoFix', r.autoFix)}
${rateRow('Escalation', 'escalation', r.escalation)}
${rateRow('False positive (resolved, no write ran)', 'falsePositive', r.falsePositive)}
${rateRow(`Recurrence (within ${r.recurrence.windowDays} days)`, 'recurrence', r.recurrence)}
</tbody></table>
<h2>Top recurring causes</h2>
${r.patterns.length === 0 ? html`<p class="muted" id="report-patterns">No cause was seen twice on one service.</p>` : html`<table id="report-patterns">
<thead><tr><th>Service</th><th>Cause (normalised)</th><th>Incidents</th><th>Last seen</th><th>Newest</th></tr></thead><tbody>
${r.patterns.map((p) => html`<tr><td>${p.service}</td><td>${p.cause}</td><td>${p.count}</td><td>${when(p.lastSeen)}</td><td><a href="${CONSOLE_PREFIX}/incidents/${encodeURIComponent(p.example)}">${p.example}</a></td></tr>`)}
</tbody></table>`}
<h2>Model spend</h2>
<p id="report-spend">$${r.modelSpend.costUsd.toFixed(4)} in ${r.modelSpend.calls} calls (${r.modelSpend.inputTokens} input, ${r.modelSpend.outputTokens} output tokens).</p>
${r.modelSpend.byModel.length === 0 ? '' : html`<table id="report-models"><thead><tr><th>Model</th><th>Calls</th><th>Cost</th></tr></thead><tbody>
${r.modelSpend.byModel.map((m) => html`<tr><td>${m.model}</td><td>${m.calls}</td><td>$${m.costUsd.toFixed(4)}</td></tr>`)}
</tbody></table>`}`;
}

// Nothing here changes anything: the mount context (change guard, live hub) is not needed.
export function mountReportPage(app: Hono<ConsoleEnv>, deps: ConsoleDeps, _ctx?: unknown): void {
  app.get(`${CONSOLE_PREFIX}/report`, (c) => {
    const now = new Date();
    const parsed = parseReportSince(c.req.queries(), now);
    if (!parsed.ok) {
      c.status(400);
      return page(c, deps, {
        title: 'Report', section: 'report',
        body: html`${sinceForm(parsed.text)}<div class="banner danger" id="filter-errors" role="alert"><p>No figures until the filter is fixed:</p>
<ul>${parsed.errors.map((e) => html`<li>${e}</li>`)}</ul></div>`,
      });
    }
    // Read on the server's event loop, like a /metrics refresh: the newest 10,000 incidents at most (the page says when capped).
    const report = incidentReport(deps.rt.db, { since: parsed.since, now, maxIncidents: REPORT_METRICS_MAX_INCIDENTS });
    return page(c, deps, { title: 'Report', section: 'report', body: html`${sinceForm(parsed.text)}${reportBody(report)}` });
  });
}
