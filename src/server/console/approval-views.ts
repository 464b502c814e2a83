// The HTML of the Approvals pages: a request's card in the list, its facts, the decision form and
// the configuration diff. Every value comes from the store or a caller (args, reasons, targets are
// untrusted) and is interpolated through `html`, so it is escaped; nothing here uses `raw`.
import { html } from 'hono/html';
import type { Approval } from '../../store/approvals.js';
import type { ConfigPreview } from './approval-diff.js';
import { canChange, type Viewer } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { badge, csrfField, when, type Html } from './layout.js';

/** Arguments shown on the page; past this the rest is cut (the audit keeps them whole). */
export const MAX_ARGS_CHARS = 64 * 1024;
/** A decision's reason, as the HTTP API caps it. */
export const MAX_REASON_CHARS = 1000;

export const approvalPath = (id: string): string => `${CONSOLE_PREFIX}/approvals/${encodeURIComponent(id)}`;
const incidentPath = (id: string): string => `${CONSOLE_PREFIX}/incidents/${encodeURIComponent(id)}`;

function incidentLink(a: Approval): Html {
  return a.incidentId ? html`<a class="incident" href="${incidentPath(a.incidentId)}">${a.incidentId}</a>` : html`<span class="muted">none (asked directly)</span>`;
}

function expiry(a: Approval): Html {
  return a.status === 'pending'
    ? html`<span class="expiry" data-expires-at="${a.expiresAt}">${when(a.expiresAt)}</span>`
    : html`${when(a.expiresAt)}`;
}

/** One request in the list: the DOM contract's `article.approval[data-approval-id]`. */
export function approvalCard(a: Approval): Html {
  return html`<article class="approval" data-approval-id="${a.id}" data-status="${a.status}">
<h3><a href="${approvalPath(a.id)}"><code class="tool">${a.tool}</code> on <span class="target">${a.target ?? '-'}</span></a> ${badge(a.status)}</h3>
<dl class="facts">
<dt>Asked by</dt><dd class="principal">${a.principal}</dd>
<dt>Incident</dt><dd>${incidentLink(a)}</dd>
<dt>Rule</dt><dd class="rule"><code>${a.rule}</code> (${a.risk})</dd>
${a.status === 'pending'
    ? html`<dt>Expires</dt><dd>${expiry(a)}</dd>`
    : html`<dt>Decided</dt><dd class="decided">${a.decidedBy ?? '-'} ${when(a.decidedAt ?? (a.status === 'expired' ? a.expiresAt : null))}</dd>`}
</dl>
</article>`;
}

/** The live part of the list page; the fragment route returns exactly this element. */
export function approvalList(pending: Approval[], pendingTotal: number, recent: Approval[]): Html {
  return html`<div id="approvals-live" hx-get="${CONSOLE_PREFIX}/approvals/fragment/list" hx-trigger="sse:changed" hx-swap="outerHTML">
<h2>Pending <span class="muted" id="pending-count">(${pendingTotal})</span></h2>
${pending.length ? pending.map(approvalCard) : html`<p class="muted" id="no-pending">Nothing waits for a decision.</p>`}
${pendingTotal > pending.length ? html`<p class="muted">Showing the ${pending.length} that expire first of ${pendingTotal}.</p>` : ''}
<h2>Recent decisions</h2>
<div id="recent-approvals">${recent.length ? recent.map(approvalCard) : html`<p class="muted">None yet.</p>`}</div>
</div>`;
}

function prettyArgs(args: string): string {
  let text: string;
  try {
    text = JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    text = args; // stored by warden as canonical JSON; shown as it is if that ever breaks
  }
  return text.length > MAX_ARGS_CHARS ? `${text.slice(0, MAX_ARGS_CHARS)}\n... (${text.length - MAX_ARGS_CHARS} more characters; the audit entry keeps them all)` : text;
}

/** Status and decision facts; refreshed live so a decision made elsewhere shows up. */
export function approvalStatus(a: Approval): Html {
  return html`<dl class="facts" id="approval-status" hx-get="${approvalPath(a.id)}/fragment" hx-trigger="sse:changed" hx-swap="outerHTML" data-status="${a.status}">
<dt>Status</dt><dd>${badge(a.status)}</dd>
<dt>Expires</dt><dd>${expiry(a)}</dd>
<dt>Decided by</dt><dd id="decided-by">${a.decidedBy ?? html`<span class="muted">-</span>`}</dd>
<dt>Decided at</dt><dd>${when(a.decidedAt)}</dd>
<dt>Decision reason</dt><dd id="decision-reason">${a.decisionReason ?? html`<span class="muted">-</span>`}</dd>
<dt>Used at</dt><dd>${when(a.usedAt)}</dd>
</dl>`;
}

function facts(a: Approval): Html {
  return html`<dl class="facts" id="approval-facts">
<dt>Id</dt><dd><code>${a.id}</code></dd>
<dt>Tool</dt><dd><code class="tool">${a.tool}</code></dd>
<dt>Target</dt><dd class="target">${a.target ?? '-'}</dd>
<dt>Asked by</dt><dd class="principal">${a.principal}</dd>
<dt>Incident</dt><dd>${incidentLink(a)}</dd>
<dt>Risk</dt><dd>${a.risk}</dd>
<dt>Matched rule</dt><dd class="rule"><code>${a.rule}</code></dd>
<dt>Why it was held</dt><dd id="approval-reason">${a.reason}</dd>
<dt>Asked at</dt><dd>${when(a.createdAt)}</dd>
<dt>Arguments hash</dt><dd><code>${a.argsHash}</code></dd>
</dl>`;
}

function previewSection(p: ConfigPreview | undefined): Html {
  if (!p) return html``;
  if (p.kind === 'unavailable') return html`<h2>What it would change</h2><p class="muted" id="config-diff-unavailable">No diff: ${p.why}.</p>`;
  const rows = p.patch.split('\n').map((line) => {
    const cls = line.startsWith('+') && !line.startsWith('+++') ? 'diff-add' : line.startsWith('-') && !line.startsWith('---') ? 'diff-del' : '';
    return cls ? html`<span class="${cls}">${line}</span>\n` : html`${line}\n`;
  });
  return html`<h2>What it would change</h2>
<pre id="config-diff">${rows}</pre>
${p.note ? html`<p class="muted">${p.note}.</p>` : ''}`;
}

/** The form, for a viewer who may decide a request that still waits; otherwise a line saying why not. */
function decideForm(a: Approval, viewer: Viewer): Html {
  if (a.status !== 'pending') return html``;
  if (!canChange(viewer)) return html`<p class="muted" id="decide-readonly">Signed in as ${viewer.role}: you can see this request but not decide it.</p>`;
  const own = viewer.principal === a.principal
    ? html`<p class="banner warn">You asked for this call: you may deny it, but another person must approve it.</p>` : '';
  return html`<h2>Decide</h2>${own}
<form class="decide" method="post" action="${approvalPath(a.id)}/decide">
${csrfField(viewer)}
<label>Reason (for the audit and the requester, up to ${MAX_REASON_CHARS} characters)
<textarea name="reason" maxlength="${MAX_REASON_CHARS}"></textarea></label>
<div class="actions">
<button type="submit" name="verdict" value="approved">Approve</button>
<button type="submit" name="verdict" value="denied">Deny</button>
</div>
</form>`;
}

export interface DetailMessage {
  tone: 'ok' | 'danger';
  text: string;
}

export function approvalDetail(a: Approval, viewer: Viewer, preview: ConfigPreview | undefined, message?: DetailMessage): Html {
  return html`${message ? html`<p class="banner ${message.tone}" id="decide-outcome">${message.text}</p>` : ''}
<p><a href="${CONSOLE_PREFIX}/approvals">All approvals</a></p>
<div class="grid">
<section class="card">${facts(a)}</section>
<section class="card" hx-ext="sse" sse-connect="${CONSOLE_PREFIX}/events">${approvalStatus(a)}</section>
</div>
<h2>Exact arguments</h2>
<pre id="approval-args">${prettyArgs(a.args)}</pre>
${previewSection(preview)}
${decideForm(a, viewer)}`;
}
