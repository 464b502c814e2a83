// How each kind of timeline entry reads on an incident's page. Everything in an entry came from
// outside (alert annotations, model text, tool results, log lines): it is interpolated through
// `html` (escaped) and capped, with the cut said, so one huge entry cannot bury the rest.
import { html } from 'hono/html';
import type { TimelineEvent } from '../../shared/incidents.js';
import type { AuditEntry } from '../../store/audit.js';
import type { ChangeRecord } from '../../store/changes.js';
import type { RecordedModelCall } from '../../store/incidents.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { entryKind, type TimelineEntry } from './incident-timeline.js';
import { badge, when, type Html } from './layout.js';

/** Characters of one summary, result or detail shown before the cut. */
export const TEXT_CAP = 2_000;
const RESULT_CAP = 300;
const DATA_CAP = 1_500;

/** `text` up to `max` characters, then how much was cut. Never splits a surrogate pair. */
export function capped(text: string, max = TEXT_CAP): Html {
  if (text.length <= max) return html`${text}`;
  const head = text.slice(0, max).replace(/[\uD800-\uDBFF]$/, '');
  return html`${head}<span class="cut muted"> [${text.length - head.length} more characters cut]</span>`;
}

export function usd(n: number): string {
  return `$${n >= 1 ? n.toFixed(2) : n.toFixed(4)}`;
}

export function timelineEntry(e: TimelineEntry): Html {
  const body = e.kind === 'event' ? eventBody(e.event)
    : e.kind === 'model-call' ? modelCallBody(e.call)
      : e.kind === 'audit' ? auditBody(e.entry)
        : changeBody(e.change);
  return html`<li class="event" data-kind="${entryKind(e)}">${when(e.time)} ${badge(entryKind(e))} ${body}</li>`;
}

function eventBody(ev: TimelineEvent): Html {
  const tokens = ev.kind === 'model' ? modelFigures(ev.data) : '';
  return html`<span class="summary">${capped(ev.summary)}</span>${tokens}${details(ev.data)}`;
}

/** A model turn's event carries its tokens and cost (agent.ts): shown beside its text. */
function modelFigures(data: unknown): Html | string {
  if (typeof data !== 'object' || data === null) return '';
  const d = data as Record<string, unknown>;
  if (typeof d.inputTokens !== 'number' || typeof d.outputTokens !== 'number') return '';
  const cost = typeof d.costUsd === 'number' ? `, ${usd(d.costUsd)}` : '';
  return html` <span class="muted">(${d.inputTokens} in / ${d.outputTokens} out tokens${cost})</span>`;
}

function details(data: unknown): Html | string {
  if (data === null || data === undefined) return '';
  let text: string;
  try {
    text = JSON.stringify(data, null, 1);
  } catch {
    return '';
  }
  return html`<details><summary>details</summary><pre>${capped(text, DATA_CAP)}</pre></details>`;
}

function modelCallBody(c: RecordedModelCall): Html {
  return html`<span class="summary">model call <code>${c.model}</code>: ${c.inputTokens} input / ${c.outputTokens} output tokens,
 ${usd(c.costUsd)}, ${c.latencyMs} ms, ${badge(c.outcome.startsWith('error') ? 'failed' : 'ok')} <span class="muted">${c.outcome}</span></span>`;
}

function auditBody(a: AuditEntry): Html {
  const approval = a.approvalId ? html` approval <a href="${CONSOLE_PREFIX}/approvals/${encodeURIComponent(a.approvalId)}">${a.approvalId}</a>` : '';
  return html`<span class="summary"><code>${a.tool}</code> on ${a.target ?? '-'}: ${badge(a.phase)}
 ${a.decision ? html`decision ${badge(a.decision)}` : ''}${a.rule ? html` rule ${a.rule}` : ''} by ${a.principal}${approval}${a.dryRun ? ' (dry run)' : ''}${a.durationMs !== null ? html` in ${a.durationMs} ms` : ''}
 <a class="muted" href="${CONSOLE_PREFIX}/audit?incident=${encodeURIComponent(a.incidentId ?? '')}">#${a.seq}</a></span>
${a.result ? html`<div class="result">${a.errorKind ? html`[${a.errorKind}] ` : ''}${capped(a.result, RESULT_CAP)}</div>` : ''}`;
}

function changeBody(ch: ChangeRecord): Html {
  const steps = ([['validation', ch.validation], ['verification', ch.verification], ['rollback', ch.rollback]] as const)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => html`<div class="result">${k}: ${capped(v!, RESULT_CAP)}</div>`);
  return html`<span class="summary">change <code>${ch.id}</code> (${ch.kind}) on ${ch.target}: ${badge(ch.status)} by ${ch.principal}, updated ${when(ch.updatedAt)}: ${capped(ch.summary, RESULT_CAP)}</span>${steps}`;
}
