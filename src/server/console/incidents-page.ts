// The Incidents pages: the list with its filters, and one incident with its whole timeline, each
// with a live fragment route that answers with only the element the page refreshes on `changed`.
// Reads only: nothing here changes an incident, so every signed-in role sees the same pages.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { ConsoleDeps, ConsoleEnv } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { parseIncidentFilter } from './incident-filters.js';
import { readStory } from './incident-timeline.js';
import { LIST_CAP, filterErrors, incidentBody, incidentList, incidentLive, listBody } from './incident-views.js';
import { page } from './layout.js';

/** Ids are `inc_` and hex (newIncidentId); anything far from that is not looked up at all. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;

// The mount context (change guard, live hub) is not needed: nothing here changes anything, and the
// hub is reached by URL. Not importing its type from console-app.ts keeps the import graph acyclic.
export function mountIncidentPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps, _ctx?: unknown): void {
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

  app.get(`${base}/:id`, (c) => {
    const incident = find(c, deps);
    if (!incident) return notFound(c, deps);
    return page(c, deps, { title: `Incident ${incident.id}`, section: 'incidents', body: incidentBody(readStory(deps, incident)) });
  });

  app.get(`${base}/:id/live`, (c) => {
    const incident = find(c, deps);
    if (!incident) return c.html(html`<p id="incident-live" class="muted">No such incident.</p>`, 404);
    return c.html(incidentLive(readStory(deps, incident)));
  });
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
