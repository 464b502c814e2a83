// The Approvals pages: held calls waiting for a human (and recent decisions), one request with
// everything it would do, and the decision. A decision goes through the runtime's ApprovalDecider
// under the signed-in principal (transport `console`), exactly as the CLI and the HTTP API decide:
// the same refusals (own request, the loop, not pending), the same audit entry.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { ApprovalRefused } from '../../policy/approvals.js';
import { REFUSAL_STATUS } from '../approvals-http.js';
import type { Approval } from '../../store/approvals.js';
import type { MountContext } from './console-env.js';
import type { ConsoleDeps, ConsoleEnv } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { configPreview, type ConfigPreview } from './approval-diff.js';
import { MAX_REASON_CHARS, approvalDetail, approvalList, approvalPath, approvalStatus, type DetailMessage } from './approval-views.js';
import { page } from './layout.js';
import { readForm } from './form-input.js';
import { describeIssues } from '../../validation.js';

/** Pending requests shown at once, those expiring first; the count says when there are more. */
const MAX_PENDING_SHOWN = 100;
/** Decided, used and expired requests under "Recent decisions". */
export const RECENT_SHOWN = 20;
/** A preview reads the target; a page reloaded in a loop reads it at most this often per request. */
const PREVIEW_CACHE_MS = 10_000;
const MAX_PREVIEWS_CACHED = 200;

const DecideForm = z.object({
  verdict: z.enum(['approved', 'denied'], { error: 'must be approved or denied' }).describe('the button pressed'),
  reason: z.string().trim().max(MAX_REASON_CHARS).optional().describe('why, for the audit and the requester'),
});

function listed(deps: ConsoleDeps): { pending: Approval[]; pendingTotal: number; recent: Approval[] } {
  const now = new Date();
  const at = now.toISOString();
  const ids = (sql: string, limit: number): Approval[] =>
    (deps.rt.db.prepare(sql).all(at, limit) as Array<{ id: string }>).map(({ id }) => deps.rt.approvals.get(id, now)).filter((a): a is Approval => a !== undefined);
  return {
    pending: ids(`SELECT id FROM approvals WHERE status = 'pending' AND expires_at > ? ORDER BY expires_at LIMIT ?`, MAX_PENDING_SHOWN),
    pendingTotal: deps.rt.approvals.countPending(now),
    // Left pending when decided, or when it expired undecided: newest first by that moment, read in
    // order through approvals_settled (migration 23). The walk steps over the requests still
    // pending (their key, the expiry, is in the future): as many as are waiting, not the table.
    recent: ids(`SELECT id FROM approvals WHERE NOT (status = 'pending' AND expires_at > ?)
      ORDER BY coalesce(decided_at, expires_at) DESC, rowid DESC LIMIT ?`, RECENT_SHOWN),
  };
}

/** The outcome line after a redirect: shown only when the record agrees the viewer decided it. */
function outcomeOf(a: Approval, decided: string | undefined, principal: string): DetailMessage | undefined {
  if ((decided !== 'approved' && decided !== 'denied') || a.decidedBy !== principal) return undefined;
  return decided === 'approved'
    ? { tone: 'ok', text: `Approved by you (${principal}): the call may now run once, with exactly these arguments.` }
    : { tone: 'ok', text: `Denied by you (${principal}): the call will not run.` };
}

export function mountApprovalPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps, ctx: MountContext): void {
  const previews = new Map<string, { at: number; preview: ConfigPreview | undefined }>();
  const previewOf = async (a: Approval): Promise<ConfigPreview | undefined> => {
    // Keyed by status too: once decided, the page says the preview no longer applies, not a stale diff.
    const key = `${a.id}:${a.status}`;
    const hit = previews.get(key);
    if (hit && Date.now() - hit.at < PREVIEW_CACHE_MS) return hit.preview;
    const preview = await configPreview(deps.rt, a);
    if (previews.size >= MAX_PREVIEWS_CACHED) previews.clear();
    previews.set(key, { at: Date.now(), preview });
    return preview;
  };
  const detail = async (c: Context<ConsoleEnv>, a: Approval, message?: DetailMessage, status: 200 | 400 | 403 | 404 | 409 = 200): Promise<Response> => {
    const res = await page(c, deps, { title: `Approval ${a.id}`, section: 'approvals', body: approvalDetail(a, c.get('viewer'), await previewOf(a), message) });
    return status === 200 ? res : new Response(res.body, { status, headers: res.headers });
  };
  const missing = (c: Context<ConsoleEnv>, id: string): Response | Promise<Response> => {
    c.status(404);
    return page(c, deps, { title: 'No such approval', section: 'approvals', body: html`<p class="banner danger" id="decide-outcome">No approval ${id}.</p><p><a href="${CONSOLE_PREFIX}/approvals">All approvals</a></p>` });
  };

  app.get(`${CONSOLE_PREFIX}/approvals`, (c) => {
    const l = listed(deps);
    return page(c, deps, {
      title: 'Approvals', section: 'approvals',
      body: html`<div hx-ext="sse" sse-connect="${CONSOLE_PREFIX}/events">${approvalList(l.pending, l.pendingTotal, l.recent)}</div>`,
    });
  });
  app.get(`${CONSOLE_PREFIX}/approvals/fragment/list`, (c) => {
    const l = listed(deps);
    return c.html(approvalList(l.pending, l.pendingTotal, l.recent));
  });
  app.get(`${CONSOLE_PREFIX}/approvals/:id/fragment`, (c) => {
    const a = deps.rt.approvals.get(c.req.param('id'));
    return a ? c.html(approvalStatus(a)) : c.text('no such approval', 404);
  });
  app.get(`${CONSOLE_PREFIX}/approvals/:id`, (c) => {
    const a = deps.rt.approvals.get(c.req.param('id'));
    if (!a) return missing(c, c.req.param('id'));
    return detail(c, a, outcomeOf(a, c.req.query('decided'), c.get('viewer').principal));
  });

  app.post(`${CONSOLE_PREFIX}/approvals/:id/decide`, ctx.change(), async (c) => {
    const id = c.req.param('id');
    const viewer = c.get('viewer');
    const current = deps.rt.approvals.get(id);
    if (!current) return missing(c, id);
    const form = await readForm(c);
    if (!form.ok) return detail(c, current, { tone: 'danger', text: `Nothing was decided: ${form.problem}` }, 400);
    const parsed = DecideForm.safeParse({ verdict: form.fields.verdict, reason: form.fields.reason });
    if (!parsed.success) {
      return detail(c, current, { tone: 'danger', text: `Nothing was decided: ${describeIssues(parsed.error).join('; ')}` }, 400);
    }
    const { verdict, reason } = parsed.data;
    try {
      deps.rt.decider.decide({ id, verdict, by: viewer.principal, reason: reason || undefined, transport: 'console' });
    } catch (err) {
      if (!(err instanceof ApprovalRefused)) throw err;
      const now = deps.rt.approvals.get(id) ?? current;
      return detail(c, now, { tone: 'danger', text: `Nothing was decided: ${err.refusal.message}` }, REFUSAL_STATUS[err.refusal.code]);
    }
    return c.redirect(`${approvalPath(id)}?decided=${verdict}`, 303);
  });
}
