// Validating a fix from an incident's page: an operator or admin confirms a resolved incident's
// resolution (or withdraws that), through IncidentStore.validate / unvalidate as `warden incidents
// validate` does, so the audit entry reads the same either way. The note is a person's text, shown
// escaped like any other; the card sits outside the live element, so a refresh never wipes a note
// being typed.
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { Incident } from '../../shared/incidents.js';
import { MAX_NOTE_CHARS, ValidationRefused } from '../../store/incident-validation.js';
import { canChange, type ConsoleDeps, type ConsoleEnv, type Viewer } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { readForm } from './form-input.js';
import { csrfField, when, type Html } from './layout.js';

export type ValidationOutcome = 'validated' | 'unvalidated';

/** What the page says after an action; only these keys are read from the query, never its text. */
export const VALIDATION_DONE: Record<ValidationOutcome, string> = {
  validated: 'Fix validated: search_incidents now ranks it above equal matches and says a person confirmed it.',
  unvalidated: 'Validation withdrawn: the fix ranks as any other again.',
};

export type ValidationProblem = { text: string; status: 400 | 404 | 409 };

/**
 * Reads the posted field (`note` or `reason`) and applies the change as the viewer, from the console.
 * A refusal (not resolved, already validated, an empty note) comes back as a problem to show.
 */
export async function changeValidation(c: Context<ConsoleEnv>, deps: ConsoleDeps, id: string, action: ValidationOutcome): Promise<ValidationOutcome | ValidationProblem> {
  const field = action === 'validated' ? 'note' : 'reason';
  const form = await readForm(c);
  if (!form.ok) return { text: form.problem, status: 400 };
  const viewer = c.get('viewer');
  const text = form.fields[field] ?? '';
  try {
    if (action === 'validated') deps.incidents.validate(id, { by: viewer.principal, note: text, transport: 'console' }, deps.rt.audit);
    else deps.incidents.unvalidate(id, { by: viewer.principal, reason: text, transport: 'console' }, deps.rt.audit);
    return action;
  } catch (err) {
    if (!(err instanceof ValidationRefused)) throw err;
    return { text: err.message, status: err.reason === 'unknown' ? 404 : err.reason === 'state' ? 409 : 400 };
  }
}

/** Who validated the fix and when, with their note; or why it is not (yet) validated. */
export function validationFact(i: Incident): Html {
  if (i.validatedAt) {
    return html`<span class="badge badge-ok">validated</span> by <strong>${i.validatedBy ?? '?'}</strong> at ${when(i.validatedAt)}: <q>${i.validatedNote ?? ''}</q>`;
  }
  return html`<span class="muted">${i.status === 'resolved' ? 'not validated' : 'only a resolved incident can be validated'}</span>`;
}

/** The form this viewer may use on this incident: none for readonly, nor for an incident not resolved. */
export function validationCard(i: Incident, viewer: Viewer): Html | string {
  if (!canChange(viewer) || i.status !== 'resolved') return '';
  // incident-views.ts imports this file, so its incidentHref is spelled out here.
  const action = `${CONSOLE_PREFIX}/incidents/${encodeURIComponent(i.id)}/${i.validatedAt ? 'unvalidate' : 'validate'}`;
  if (i.validatedAt) {
    return html`<section class="card" id="validation"><h2>Validated fix</h2>
<p class="muted">Withdraw it if the fix turned out wrong: search_incidents stops boosting it. Audited under your name.</p>
<form id="unvalidate" method="post" action="${action}">${csrfField(viewer)}
<label>Why withdraw it<textarea name="reason" required maxlength="${MAX_NOTE_CHARS}"></textarea></label>
<div class="actions"><button type="submit">Withdraw validation</button></div></form></section>`;
  }
  return html`<section class="card" id="validation"><h2>Validate this fix</h2>
<p class="muted">Confirm the resolution was the right fix: search_incidents ranks validated fixes above equal matches, so the model leans on them. Your note is shown to the model as untrusted text. Audited under your name.</p>
<form id="validate" method="post" action="${action}">${csrfField(viewer)}
<label>What you checked<textarea name="note" required maxlength="${MAX_NOTE_CHARS}" placeholder="e.g. right fix: the OOM came from the nightly batch"></textarea></label>
<div class="actions"><button type="submit">Validate this fix</button></div></form></section>`;
}

/** The banner above the page: a refusal, or what the last action did. */
export function validationBanner(done: string | undefined, problem?: ValidationProblem): Html | string {
  if (problem) return html`<p class="banner danger" id="validation-problem">${problem.text}</p>`;
  if (done !== undefined && Object.hasOwn(VALIDATION_DONE, done)) return html`<p class="banner ok" id="validation-done">${VALIDATION_DONE[done as ValidationOutcome]}</p>`;
  return '';
}
