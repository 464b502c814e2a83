// The Incidents pages: the list with its filters, and one incident with its whole timeline, each
// with a live fragment route that answers with only the element the page refreshes on `changed`.
// Reads, and one change: an operator or admin validates a resolved incident's fix (or withdraws
// that) through ctx.change, then a redirect (PRG); a readonly viewer sees the state and no form.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { ConsoleDeps, ConsoleEnv, MountContext } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { parseIncidentFilter } from './incident-filters.js';
import { readStory } from './incident-timeline.js';
import { changeValidation, validationBanner, validationCard, type ValidationProblem } from './incident-validate.js';
import { LIST_CAP, filterErrors, incidentBody, incidentList, incidentLive, listBody } from './incident-views.js';
import { page } from './layout.js';

/** Ids are `inc_` and hex (newIncidentId); anything far from that is not looked up at all. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;

// The live hub is reached by URL; the change guard (ctx.change) guards the validation posts.
export function mountIncidentPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps, ctx: MountContext): void {
  const base = `${CONSOLE_PREFIX}/incidents`;

  app.get(base, (c) => {
    const parsed = parseIncidentFilter(c.req.queries());
    if (!parsed.ok) {
      c.status(400);
      return page(c, deps, { title: 'Incidents', section: 'incidents', body: html`${filterErrors(parsed.errors)}${listBody(parsed.input, '')}` });
    }
    const rows = deps.incidents.list({ ...parsed.filter, limit: LIST_CAP + 1 });
    return page(c, deps, { title: 'Incidents', section: 'incidents', body: listBody(parsed.input, incidentList(rows, parsed.input)) });
  });

  // Before `/:id`: "live" is never an incident id, but the router must see this route first.
  app.get(`${base}/live`, (c) => {
    const parsed = parseIncidentFilter(c.req.queries());
    if (!parsed.ok) return c.html(filterErrors(parsed.errors), 400);
    return c.html(incidentList(deps.incidents.list({ ...parsed.filter, limit: LIST_CAP + 1 }), parsed.input));
  });

  app.get(`${base}/:id`, (c) => detail(c, deps));

  for (const action of ['validate', 'unvalidate'] as const) {
    app.post(`${base}/:id/${action}`, ctx.change(), async (c) => {
      const incident = find(c, deps);
      if (!incident) return notFound(c, deps);
      const out = await changeValidation(c, deps, incident.id, action === 'validate' ? 'validated' : 'unvalidated');
      if (typeof out !== 'string') return detail(c, deps, out);
      return c.redirect(`${base}/${encodeURIComponent(incident.id)}?done=${out}`, 303);
    });
  }

  app.get(`${base}/:id/live`, (c) => {
    const incident = find(c, deps);
    if (!incident) return c.html(html`<p id="incident-live" class="muted">No such incident.</p>`, 404);
    return c.html(incidentLive(readStory(deps, incident)));
  });
}

function detail(c: Context<ConsoleEnv>, deps: ConsoleDeps, problem?: ValidationProblem): Response | Promise<Response> {
  const incident = find(c, deps);
  if (!incident) return notFound(c, deps);
  if (problem) c.status(problem.status);
  const banner = validationBanner(c.req.query('done'), problem);
  return page(c, deps, { title: `Incident ${incident.id}`, section: 'incidents', body: html`${banner}${incidentBody(readStory(deps, incident))}${validationCard(incident, c.get('viewer'))}` });
}

function find(c: Context<ConsoleEnv>, deps: ConsoleDeps) {
  const id = c.req.param('id') ?? '';
  return ID.test(id) ? deps.incidents.get(id) : undefined;
}

function notFound(c: Context<ConsoleEnv>, deps: ConsoleDeps): Response | Promise<Response> {
  c.status(404);
  return page(c, deps, {
    title: 'No such incident',
    section: 'incidents',
    body: html`<p>There is no incident <code>${(c.req.param('id') ?? '').slice(0, 80)}</code>. <a href="${CONSOLE_PREFIX}/incidents">All incidents</a></p>`,
  });
}
