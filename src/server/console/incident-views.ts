// The Incidents pages' HTML: the filter form and list, and one incident's facts and timeline. Each
// live part is one element with an id that its fragment route answers with alone (hx-swap
// outerHTML), so a refresh replaces exactly what the page first drew.
import { html } from 'hono/html';
import type { Incident } from '../../shared/incidents.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { FILTER_FIELDS, STATUS_CHOICES, filterQuery, type FilterInput } from './incident-filters.js';
import { capped, timelineEntry, usd } from './incident-entries.js';
import { TIMELINE_CAP, type IncidentStory } from './incident-timeline.js';
import { validationFact } from './incident-validate.js';
import { badge, when, type Html } from './layout.js';

/** Incidents the list shows at most: the newest that match. */
export const LIST_CAP = 200;
const LIVE = '/console/events';

export function incidentHref(id: string): string {
  return `${CONSOLE_PREFIX}/incidents/${encodeURIComponent(id)}`;
}

export function filterForm(input: FilterInput): Html {
  const label: Record<(typeof FILTER_FIELDS)[number], string> = { status: 'Status', service: 'Service', since: 'Opened since', until: 'Opened until' };
  return html`<form class="filters" method="get" action="${CONSOLE_PREFIX}/incidents">
<label>${label.status}<select name="status"><option value="">any</option>${STATUS_CHOICES.map((s) => html`<option value="${s}"${input.status === s ? ' selected' : ''}>${s}</option>`)}</select></label>
<label>${label.service}<input name="service" value="${input.service ?? ''}" placeholder="web"></label>
<label>${label.since}<input name="since" value="${input.since ?? ''}" placeholder="24h or 2026-11-23T10:00Z"></label>
<label>${label.until}<input name="until" value="${input.until ?? ''}" placeholder="1h or 2026-11-23"></label>
<button type="submit">Filter</button> <a href="${CONSOLE_PREFIX}/incidents">clear</a>
</form>`;
}

/** Why the filters were refused: the list is not drawn at all, so nothing reads as filtered that is not. */
export function filterErrors(errors: string[]): Html {
  return html`<div class="banner danger" id="filter-errors" role="alert"><p>The filters were not applied; no incidents are listed until they are fixed:</p>
<ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>`;
}

/** The list as its live element; `input` rides along in the fragment's URL so a refresh keeps the filters. */
export function incidentList(rows: Incident[], input: FilterInput): Html {
  const shown = rows.slice(0, LIST_CAP);
  const filtered = Object.keys(input).length > 0;
  return html`<div id="incident-list" hx-get="${CONSOLE_PREFIX}/incidents/live${filterQuery(input)}" hx-trigger="sse:changed" hx-swap="outerHTML">
${shown.length === 0 ? html`<p class="muted">No incidents${filtered ? ' match these filters' : ' yet'}.</p>` : html`<table id="incidents">
<thead><tr><th>Incident</th><th>Status</th><th>Severity</th><th>Service</th><th>Target</th><th>Title</th><th>Opened</th><th>Closed</th><th>Alerts</th></tr></thead>
<tbody>${shown.map(row)}</tbody></table>`}
${rows.length > LIST_CAP ? html`<p class="muted" id="list-cut">Showing the newest ${LIST_CAP}; older incidents match too: narrow the filters (since, until).</p>` : ''}
</div>`;
}

function row(i: Incident): Html {
  return html`<tr data-incident-id="${i.id}"><td><a href="${incidentHref(i.id)}">${i.id}</a></td><td>${badge(i.status)}</td><td>${i.severity}</td>
<td>${i.service ?? '-'}</td><td>${i.target ?? '-'}</td><td>${capped(i.title, 200)}</td><td>${when(i.openedAt)}</td><td>${when(i.closedAt)}</td><td>${i.alertCount}</td></tr>`;
}

/** The facts and the timeline, refreshed together: a status change and its event arrive at once. */
export function incidentLive(story: IncidentStory): Html {
  const i = story.incident;
  return html`<div id="incident-live" hx-get="${incidentHref(i.id)}/live" hx-trigger="sse:changed" hx-swap="outerHTML">
<section class="card">${facts(story)}</section>
${pendingList(story)}
<h2>Timeline</h2>
${story.cut ? html`<p class="muted" id="timeline-cut">Showing the newest ${TIMELINE_CAP} entries; older ones are not shown (warden incidents show ${i.id}, or the audit page, has them).</p>` : ''}
<ol id="timeline">${story.entries.map(timelineEntry)}</ol>
</div>`;
}

function facts(story: IncidentStory): Html {
  const i = story.incident;
  const m = story.models;
  return html`<dl class="facts">
<dt>Status</dt><dd><span id="incident-status" class="badge badge-${i.status}">${i.status}</span></dd>
<dt>Title</dt><dd>${capped(i.title, 200)}</dd>
<dt>Severity</dt><dd>${i.severity} <span class="muted">from ${i.source}</span></dd>
<dt>Service</dt><dd>${i.service ?? '-'}</dd>
<dt>Target</dt><dd>${i.target ?? '-'}${i.host ? html` <span class="muted">(host ${i.host}${i.container ? html`, container ${i.container}` : ''})</span>` : ''}</dd>
<dt>Opened</dt><dd>${when(i.openedAt)}</dd>
<dt>Updated</dt><dd>${when(i.updatedAt)}</dd>
<dt>Closed</dt><dd>${when(i.closedAt)}</dd>
<dt>Resolution</dt><dd id="incident-resolution">${i.resolution ? capped(i.resolution) : html`<span class="muted">-</span>`}</dd>
<dt>Validated</dt><dd id="incident-validation">${validationFact(i)}</dd>
<dt>Escalation</dt><dd id="incident-escalation">${story.escalation ? html`${when(story.escalation.time)} ${capped(story.escalation.summary)}` : html`<span class="muted">-</span>`}</dd>
<dt>Summary</dt><dd>${capped(i.summary)}</dd>
<dt>Alerts</dt><dd>${i.alertCount}</dd>
<dt>Attempts</dt><dd>${i.attempts}${i.flaps ? html` <span class="muted">(re-opened ${i.flaps} times)</span>` : ''}</dd>
${i.parentId ? html`<dt>Waits on</dt><dd><a href="${incidentHref(i.parentId)}">${i.parentId}</a></dd>` : ''}
${i.waitingOn ? html`<dt>Held call</dt><dd><a href="${CONSOLE_PREFIX}/approvals/${encodeURIComponent(i.waitingOn)}">${i.waitingOn}</a></dd>` : ''}
<dt>Model</dt><dd id="incident-model">${m.calls} calls, ${m.inputTokens} input / ${m.outputTokens} output tokens, ${usd(m.costUsd)}</dd>
</dl>`;
}

function pendingList(story: IncidentStory): Html | string {
  if (story.pending.length === 0) return '';
  return html`<h2>Waiting for a decision</h2><ul id="incident-approvals">${story.pending.map((a) => html`<li>
<a href="${CONSOLE_PREFIX}/approvals/${encodeURIComponent(a.id)}">${a.id}</a>: <code>${a.tool}</code> on ${a.target ?? '-'}, asked by ${a.principal};
expires <span data-expires-at="${a.expiresAt}">${when(a.expiresAt)}</span></li>`)}</ul>`;
}

/** The whole detail page body: the live element inside the SSE connection. */
export function incidentBody(story: IncidentStory): Html {
  return html`<p><a href="${CONSOLE_PREFIX}/incidents">All incidents</a></p>
<div hx-ext="sse" sse-connect="${LIVE}">${incidentLive(story)}</div>`;
}

export function listBody(input: FilterInput, list: Html | string): Html {
  return html`${filterForm(input)}<div hx-ext="sse" sse-connect="${LIVE}">${list}</div>`;
}
