// How the Audit page shows entries and the chain's state. Every value from an entry (principal,
// target, arguments, results) is interpolated through `html`, so it stays text; long ones are cut.
import { html } from 'hono/html';
import type { AuditEntry, AuditPage, Checkpoint } from '../../store/audit.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { badge, csrfField, when, type Html } from './layout.js';
import type { Viewer } from './console-env.js';
import { filterQuery, type RawFilters } from './audit-query.js';
import type { VerifyRecord, VerifyState } from './audit-verify.js';

/** Characters of a result and of the arguments shown in a row; the whole entry is in `warden audit` and the database. */
export const RESULT_CHARS = 200;
export const ARGS_CHARS = 160;

/** At most `max` characters (whole code points), with an ellipsis when cut. */
export function cap(text: string | null, max: number): string {
  if (text === null) return '';
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}…`;
}

const AUDIT = `${CONSOLE_PREFIX}/audit`;

/** A link narrowing the search to one value, as clicking a cell does. */
function narrow(field: 'principal' | 'tool' | 'target', value: string): Html {
  return html`<a href="${AUDIT}${filterQuery({ [field]: value })}">${value}</a>`;
}

function row(e: AuditEntry): Html {
  return html`<tr data-seq="${e.seq}">
<td class="seq">${e.seq}</td>
<td class="time">${when(e.time)}</td>
<td class="principal">${narrow('principal', e.principal)}</td>
<td class="transport">${e.transport}</td>
<td class="tool">${narrow('tool', e.tool)}</td>
<td class="target">${e.target === null ? html`<span class="muted">-</span>` : narrow('target', e.target)}</td>
<td class="phase">${badge(e.phase)}${e.dryRun ? html` <span class="muted">dry run</span>` : ''}</td>
<td class="decision">${e.decision ?? ''}${e.rule ? html` <span class="muted">${e.rule}</span>` : ''}</td>
<td class="result">${e.errorKind ? html`<span class="badge badge-failed">${e.errorKind}</span> ` : ''}${cap(e.result, RESULT_CHARS)}</td>
<td class="args"><code>${cap(e.args, ARGS_CHARS)}</code></td>
<td class="incident">${e.incidentId ? html`<a href="${CONSOLE_PREFIX}/incidents/${encodeURIComponent(e.incidentId)}">${e.incidentId}</a>` : ''}</td>
</tr>`;
}

function scope(found: AuditPage, raw: RawFilters, paged: boolean): Html {
  const older = found.older === null ? '' : html` <a id="audit-older" href="${AUDIT}${filterQuery(raw, found.older)}">Older entries</a>`;
  const newest = paged ? html` <a id="audit-newest" href="${AUDIT}${filterQuery(raw)}">Newest</a>` : '';
  const archived = found.older === null && found.scannedFrom > 1
    ? html` Entries before ${found.scannedFrom} were archived: they are not searched here (<code>warden audit verify</code> reads them).` : '';
  const what = found.entries.length === 0
    ? html`No entry matches, looking back to entry ${found.scannedFrom}.`
    : html`${found.entries.length} entries, newest first, looking back to entry ${found.scannedFrom}.`;
  return html`<p id="audit-scope" class="muted">${what}${archived}${older}${newest}</p>`;
}

/**
 * The results, as the page shows them and the live fragment replaces them: on the newest page it
 * asks for itself again whenever the live stream says something changed.
 */
export function results(found: AuditPage, raw: RawFilters, live: boolean): Html {
  const refresh = live ? html` hx-get="${AUDIT}/results${filterQuery(raw)}" hx-trigger="sse:changed" hx-swap="outerHTML"` : '';
  return html`<div id="audit-results"${refresh}>
<table id="audit-entries">
<thead><tr><th>#</th><th>Time</th><th>Principal</th><th>Transport</th><th>Tool</th><th>Target</th><th>Phase</th><th>Decision / rule</th><th>Result</th><th>Arguments</th><th>Incident</th></tr></thead>
<tbody>
${found.entries.map(row)}
</tbody>
</table>
${scope(found, raw, raw.before !== undefined)}
</div>`;
}

export function filterForm(raw: RawFilters, problems: readonly string[]): Html {
  const field = (name: keyof RawFilters, label: string, hint: string): Html =>
    html`<label>${label} <input type="text" name="${name}" value="${raw[name] ?? ''}" placeholder="${hint}" maxlength="300"></label>`;
  return html`<form class="filters" id="audit-filters" method="get" action="${AUDIT}">
${field('tool', 'Tool', 'restart_container, or restart_*')}
${field('principal', 'Principal', 'exact name')}
${field('target', 'Target', 'host/container, or host/*')}
${field('incident', 'Incident', 'incident id')}
${field('since', 'Since', '2025-01-31T12:00Z')}
${field('until', 'Until', '2025-01-31 (UTC)')}
<button type="submit">Search</button> <a href="${AUDIT}">Clear</a>
</form>
${problems.length ? html`<div class="banner warn" id="audit-problems"><p>These filters were not used:</p><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>` : ''}
<p class="muted">Values match exactly; a trailing <code>*</code> on a tool or target matches its beginning. Times are UTC unless they name a zone.</p>`;
}

function verifyOutcome(v: VerifyRecord): Html {
  const by = html` <span class="muted">(${when(v.at)}, asked by ${v.by}, ${(v.ms / 1000).toFixed(1)} s)</span>`;
  if (v.outcome.kind === 'unfinished') return html`<span class="badge badge-failed">not finished</span> ${v.outcome.reason}${by}`;
  const r = v.outcome.result;
  const archived = r.archived.segments > 0 ? html` (${r.archived.entries} archived in ${r.archived.segments} segments)` : '';
  const head = r.ok
    ? html`<span class="badge badge-ok">ok</span> ${r.entries} entries${archived}`
    : html`<span class="badge badge-failed">broken</span> at entry ${r.brokenAt}: ${r.reason}`;
  return html`${head}${by}${r.warnings.length ? html`<ul class="warnings">${r.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ''}`;
}

export interface ChainView {
  newest: AuditEntry | undefined;
  checkpoint: Checkpoint | null | 'unreadable';
  /** The live entry the checkpoint names, when the table still holds it. */
  named: AuditEntry | undefined;
  verify: VerifyState;
  waitMs: number;
}

function checkpointText(v: ChainView): Html {
  const cp = v.checkpoint;
  if (cp === 'unreadable') return html`<span class="badge badge-failed">unreadable</span> the anchor file could not be read`;
  if (cp === null) return html`<span class="muted">no anchor file: a cut-off tail could not be detected</span>`;
  const hash = html`<code title="${cp.hash}">${cp.hash.slice(0, 16)}…</code>`;
  const against = v.named === undefined
    ? html`<span class="muted">(not in the live table: archived, or missing; Verify tells which)</span>`
    : v.named.hash === cp.hash ? html`<span class="badge badge-ok">matches</span> the entry`
      : html`<span class="badge badge-failed">differs</span> from the entry's hash: verify the chain`;
  const behind = v.newest && v.newest.seq > cp.seq ? html` <span class="muted">(${v.newest.seq - cp.seq} newer entries since)</span>` : '';
  return html`entry ${cp.seq}, hash ${hash} ${against}${behind}`;
}

/** The chain's state; while a verification runs it polls itself every 2 s. */
export function chain(v: ChainView, viewer: Viewer): Html {
  const running = v.verify.running;
  const poll = running ? html` hx-get="${AUDIT}/chain" hx-trigger="every 2s" hx-swap="outerHTML"` : '';
  const last = v.verify.last ? verifyOutcome(v.verify.last) : html`<span class="muted">not run since this warden started</span>`;
  const button = running
    ? html`<p class="muted">Verifying since ${when(running.since)} (asked by ${running.by})…</p>`
    : html`<form id="audit-verify" method="post" action="${AUDIT}/verify">${csrfField(viewer)}<button type="submit"${v.waitMs > 0 ? ' disabled' : ''}>Verify now</button>${v.waitMs > 0 ? html` <span class="muted">again in ${Math.ceil(v.waitMs / 1000)} s</span>` : ''}</form>`;
  return html`<section id="audit-chain" class="card"${poll}>
<h2>Chain</h2>
<dl class="facts">
<dt>Newest entry</dt><dd id="audit-newest-entry">${v.newest ? html`${v.newest.seq} at ${when(v.newest.time)}` : html`<span class="muted">none</span>`}</dd>
<dt>Last checkpoint</dt><dd id="audit-checkpoint">${checkpointText(v)}</dd>
<dt>Last verify</dt><dd id="audit-last-verify">${last}</dd>
</dl>
${button}
<p class="muted">Verify walks every entry, archived segments included, as <code>warden audit verify</code> does, in a separate process stopped after 2 minutes. The result is kept by this warden process until it restarts.</p>
</section>`;
}
