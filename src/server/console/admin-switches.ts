// The Admin page's two switches in front of every write: the kill switch (every process, every
// caller) and pausing the loop (its safe mode). Cards show each switch as the database and the
// policy file hold it; the actions switch through policy/switches.ts, as `warden killswitch` and
// `warden loop arm` do, so the audit and the notification read the same either way.
import type { Context } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { armLoop, flipKillSwitch, pauseLoop } from '../../policy/switches.js';
import type { ConsoleDeps, ConsoleEnv, Viewer } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { csrfField, when, type Html } from './layout.js';
import { readForm } from './form-input.js';

/** A reason goes into the audit, a notification and the banner on every page: say it in a few lines. */
export const MAX_REASON_CHARS = 500;
const Reason = z.string().trim().min(1, 'say why: a reason is required').max(MAX_REASON_CHARS, `at most ${MAX_REASON_CHARS} characters`);

/** The form's `reason`, or why it cannot be used (naming the field). */
export async function readReason(c: Context<ConsoleEnv>): Promise<{ ok: true; reason: string } | { ok: false; problem: string }> {
  const form = await readForm(c);
  if (!form.ok) return { ok: false, problem: form.problem };
  const parsed = Reason.safeParse(form.fields.reason ?? '');
  return parsed.success ? { ok: true, reason: parsed.data } : { ok: false, problem: `reason: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
}

export type SwitchOutcome = 'killswitch-on' | 'killswitch-off' | 'killswitch-already-on' | 'killswitch-already-off' | 'loop-paused' | 'loop-already-paused' | 'loop-resumed' | 'loop-not-paused';

export function switchKill(deps: ConsoleDeps, viewer: Viewer, on: boolean, reason: string): SwitchOutcome {
  // Already so (a double submit, a page loaded before someone else switched): the standing switch keeps its author and reason.
  if (!flipKillSwitch(deps.rt, on, viewer.principal, reason, 'console')) return on ? 'killswitch-already-on' : 'killswitch-already-off';
  return on ? 'killswitch-on' : 'killswitch-off';
}

export function switchLoop(deps: ConsoleDeps, viewer: Viewer, pause: boolean, reason: string): SwitchOutcome {
  const d = { store: deps.rt.safeMode, audit: deps.rt.audit, notifier: deps.rt.notifier };
  if (pause) return pauseLoop(d, viewer.principal, reason, 'console') ? 'loop-paused' : 'loop-already-paused';
  return armLoop(d, viewer.principal, reason, 'console') ? 'loop-resumed' : 'loop-not-paused';
}

const reasonField = (label: string): Html => html`<label>${label}
<textarea name="reason" required maxlength="${MAX_REASON_CHARS}" placeholder="why, for the audit and the notification"></textarea></label>`;

const canStop = (viewer: Viewer): boolean => viewer.role === 'operator' || viewer.role === 'admin';

/** The kill switch as the database and the policy file hold it; the form offers what this viewer may do. */
export function killSwitchCard(deps: ConsoleDeps, viewer: Viewer): Html {
  const ks = deps.rt.killSwitch.state();
  const fromFile = deps.rt.policy.current().killSwitch;
  const fileError = deps.rt.policy.lastError();
  const effective = ks.on || fromFile;
  // Anyone who may change anything may stop every write; only an admin lets writes run again.
  const offer = ks.on ? (viewer.role === 'admin' ? 'off' : undefined) : canStop(viewer) ? 'on' : undefined;
  const form = offer === undefined ? '' : html`<form id="killswitch" method="post" action="${CONSOLE_PREFIX}/admin/killswitch/${offer}">
${csrfField(viewer)}
${reasonField(offer === 'on' ? 'Why stop every write' : 'Why writes may run again')}
<div class="actions">${offer === 'on'
    ? html`<button type="submit" class="danger">Switch kill switch ON</button>`
    : html`<button type="submit">Switch kill switch off</button>`}</div>
${offer === 'off' && fromFile ? html`<p class="muted">The policy file sets <code>killSwitch: true</code> too: writes stay stopped until it is removed from the file.</p>` : ''}
</form>`;
  return html`<section class="card" id="killswitch-state" data-on="${String(effective)}">
<h2>Kill switch ${effective ? html`<span class="badge badge-failing">ON</span>` : html`<span class="badge badge-ok">off</span>`}</h2>
<p class="muted">While it is on, every warden process (stdio, serve, the loop) denies every call that is not a read, at its next call.</p>
<dl class="facts">
<dt>Database</dt><dd>${ks.on ? 'on' : 'off'}${ks.by ? html` (${ks.on ? 'set' : 'cleared'} by <strong>${ks.by}</strong> at ${when(ks.at)}${ks.reason ? html`: <q>${ks.reason}</q>` : ''})` : ''}</dd>
<dt>Policy file</dt><dd>${fileError !== undefined ? html`invalid, so every write is denied: ${fileError}` : fromFile ? html`on (<code>killSwitch: true</code>)` : 'off'}</dd>
</dl>
${form}
</section>`;
}

/** The loop's safe mode (paused or tripped), its recent write outcomes, and the pause/resume form for an admin. */
export function loopCard(deps: ConsoleDeps, viewer: Viewer, now = new Date()): Html {
  const s = deps.rt.safeMode.state();
  const windowMinutes = deps.rt.config.loop.safeMode.windowMinutes;
  const since = new Date(now.getTime() - windowMinutes * 60_000).toISOString();
  const recent = deps.rt.safeMode.outcomesSince(since > (s.at ?? '') ? since : s.at ?? since, 20).reverse();
  const rule = typeof s.evidence === 'object' && s.evidence !== null && 'rule' in s.evidence ? String((s.evidence as { rule: unknown }).rule) : undefined;
  const form = viewer.role !== 'admin' ? '' : html`<form id="loop-pause" method="post" action="${CONSOLE_PREFIX}/admin/loop/${s.on ? 'resume' : 'pause'}">
${csrfField(viewer)}
${reasonField(s.on ? 'Why it is safe for the loop to act again' : 'Why pause the loop')}
<div class="actions">${s.on
    ? html`<button type="submit" name="action" value="resume">Resume the loop</button>`
    : html`<button type="submit" class="danger" name="action" value="pause">Pause the loop</button>`}</div>
</form>`;
  return html`<section class="card" id="loop-state" data-safe-mode="${String(s.on)}">
<h2>Loop ${s.on ? html`<span class="badge badge-degraded">paused (safe mode)</span>` : html`<span class="badge badge-running">armed</span>`}</h2>
<p class="muted">Paused, the loop still investigates and escalates; its writes are dry runs until a person resumes it. warden pauses it by itself when its writes keep failing (loop.safeMode in the config).${deps.rt.config.loop.enabled ? '' : ' The loop is switched off in the config (loop.enabled: false).'}</p>
<dl class="facts">
<dt>State</dt><dd>${s.on ? 'paused' : 'armed'}${s.by ? html` (${s.on ? 'paused' : 'last re-armed'} by <strong>${s.by}</strong> at ${when(s.at)}${s.reason ? html`: <q>${s.reason}</q>` : ''})` : ''}</dd>
${rule ? html`<dt>Tripped by</dt><dd>${rule}</dd>` : ''}
</dl>
${form}
<h3>The loop's writes since ${when(since > (s.at ?? '') ? since : s.at)}</h3>
${recent.length === 0 ? html`<p class="muted">None.</p>` : html`<table id="loop-outcomes"><thead><tr><th>Time</th><th>Result</th><th>Stage</th><th>Tool</th><th>Target</th><th>Incident</th><th>Detail</th></tr></thead><tbody>
${recent.map((o) => html`<tr><td>${when(o.time)}</td><td>${o.ok ? html`<span class="badge badge-ok">ok</span>` : html`<span class="badge badge-failed">failed</span>`}</td><td>${o.stage}</td><td>${o.tool}</td><td>${o.target ?? '-'}</td>
<td>${o.incidentId ? html`<a href="${CONSOLE_PREFIX}/incidents/${encodeURIComponent(o.incidentId)}">${o.incidentId}</a>` : '-'}</td><td>${o.detail}</td></tr>`)}
</tbody></table>`}
</section>`;
}
