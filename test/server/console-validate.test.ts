// Validating a fix from the console: an operator or admin on a resolved incident's page validates it
// with a note (or withdraws that), through ctx.change (CSRF, same origin, role), audited under the
// viewer from the console; the note is escaped; a readonly viewer sees the state and no form, and its
// posts are refused; an incident that is not resolved offers no form and refuses the post naming why.
import { describe, expect, it } from 'vitest';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { alert } from '../support/incidents.js';
import { signIn, type ConsoleClient } from '../support/console-client.js';
import { useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();
const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const WHERE = { target: 'local/db', host: 'local', container: 'db', service: 'db' };
const fire = (fingerprint: string, over: Partial<NormalizedAlert> = {}): NormalizedAlert => alert({ fingerprint, ...over });

async function as(g: TestGateway, principal: string, role: 'operator' | 'readonly' | 'admin'): Promise<ConsoleClient> {
  const { client, res } = await signIn(g.url, g.token(principal, role));
  expect(res.status).toBe(303);
  return client;
}

async function world() {
  const g = await gateway();
  const store = new IncidentStore(g.rt.db);
  const resolved = store.create(fire('a:db'), WHERE);
  store.transition(resolved.id, 'resolve', 'restarted db', { resolution: 'restarted db; healthy for 15 s' });
  const open = store.create(fire('a:web'), { ...WHERE, target: 'local/web', container: 'web', service: 'web' });
  const entries = (tool: string) => g.rt.audit.list({ limit: 200 }).filter((e) => e.tool === tool);
  return { g, store, resolved, open, entries };
}

const path = (id: string, action = '') => `/console/incidents/${id}${action}`;

describe('console: validating a fix', () => {
  it('an operator validates a resolved incident with a note: audited from the console, shown escaped, the form gone', async () => {
    const { g, store, resolved, entries } = await world();
    const op = await as(g, 'olga', 'operator');
    const before = await op.get(path(resolved.id));
    expect(before.body).toMatch(new RegExp(`<form id="validate" method="post" action="/console/incidents/${resolved.id}/validate">`));
    expect(before.body).toContain('not validated');

    const res = await op.post(path(resolved.id, '/validate'), { note: `right fix ${XSS}` });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${path(resolved.id)}?done=validated`);
    expect(store.get(resolved.id)).toMatchObject({ validatedBy: 'olga', validatedNote: `right fix ${XSS}` });
    expect(entries('incident.validate')).toEqual([expect.objectContaining({ principal: 'olga', transport: 'console', incidentId: resolved.id })]);

    const after = await op.get(res.headers.get('location')!);
    expect(after.body).toContain('id="validation-done"');
    const fact = /<dd id="incident-validation">([^\n]*)<\/dd>/.exec(after.body)?.[1] ?? '';
    expect(fact).toContain('by <strong>olga</strong>');
    expect(fact).toContain('right fix &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(after.body).toContain(`<code>incident.validate</code> on ${resolved.id}`); // in the timeline, note escaped too
    expect(after.body).not.toContain('<script>alert');
    expect(after.body).not.toContain('<img src=x');
    expect(after.body).not.toContain('<form id="validate"');
    expect(after.body).toContain('<form id="unvalidate"');
    // The live fragment carries the same state.
    expect((await op.get(path(resolved.id, '/live'))).body).toContain('by <strong>olga</strong>');
  });

  it('a second validation (a double submit, another operator) is refused 409 naming the first, and an admin can withdraw it', async () => {
    const { g, store, resolved, entries } = await world();
    const olga = await as(g, 'olga', 'operator');
    const omar = await as(g, 'omar', 'operator');
    await olga.get(path(resolved.id));
    await omar.get(path(resolved.id)); // his page offers the form: loaded before olga validated
    expect((await olga.post(path(resolved.id, '/validate'), { note: 'right fix' })).status).toBe(303);
    const again = await omar.post(path(resolved.id, '/validate'), { note: 'me too' });
    expect(again.status).toBe(409);
    expect(again.body).toMatch(/id="validation-problem">[^<]*already validated by olga/);
    expect(store.get(resolved.id)!.validatedBy).toBe('olga');
    expect(entries('incident.validate')).toHaveLength(1);

    const ada = await as(g, 'ada', 'admin');
    await ada.get(path(resolved.id));
    expect((await ada.post(path(resolved.id, '/unvalidate'), { reason: '' })).status).toBe(400);
    const res = await ada.post(path(resolved.id, '/unvalidate'), { reason: 'it came back' });
    expect(res.headers.get('location')).toBe(`${path(resolved.id)}?done=unvalidated`);
    expect(store.get(resolved.id)!.validatedAt).toBeNull();
    expect(entries('incident.unvalidate')).toEqual([expect.objectContaining({ principal: 'ada', transport: 'console' })]);
  });

  it('offers no form on an incident that is not resolved, and refuses its post 409 naming why', async () => {
    const { g, store, open, entries } = await world();
    const op = await as(g, 'olga', 'operator');
    const page = await op.get(path(open.id));
    expect(page.body).not.toContain('<form id="validate"');
    expect(page.body).toContain('only a resolved incident can be validated');
    const res = await op.post(path(open.id, '/validate'), { note: 'looks fine' });
    expect(res.status).toBe(409);
    expect(res.body).toMatch(/is still open: a fix can be validated once the incident is resolved/);
    expect(store.get(open.id)!.validatedAt).toBeNull();
    expect(entries('incident.validate')).toEqual([]);
  });

  it('refuses an empty note 400 naming the field, and an unknown incident 404', async () => {
    const { g, store, resolved, entries } = await world();
    const op = await as(g, 'olga', 'operator');
    await op.get(path(resolved.id));
    const empty = await op.post(path(resolved.id, '/validate'), { note: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatch(/note: required/);
    expect((await op.post(path(resolved.id, '/validate'), {})).status).toBe(400);
    expect((await op.post(path('inc_0000000000', '/validate'), { note: 'x' })).status).toBe(404);
    expect(store.get(resolved.id)!.validatedAt).toBeNull();
    expect(entries('incident.validate')).toEqual([]);
  });

  it('shows a readonly viewer the state and no form, and refuses its post', async () => {
    const { g, store, resolved, entries } = await world();
    store.validate(resolved.id, { by: 'alice', note: 'right fix', transport: 'cli' }, g.rt.audit);
    const ro = await as(g, 'rita', 'readonly');
    const page = await ro.get(path(resolved.id));
    expect(page.body).toMatch(/<dd id="incident-validation">[^\n]*by <strong>alice<\/strong>[^\n]*right fix/);
    expect(page.body).not.toMatch(/<form id="(un)?validate"/);
    expect((await ro.post(path(resolved.id, '/unvalidate'), { reason: 'x' })).status).toBe(403);
    expect(store.get(resolved.id)!.validatedBy).toBe('alice');
    expect(entries('incident.unvalidate')).toEqual([]);
  });

  it('refuses a post without the CSRF token or from another origin, validating nothing', async () => {
    const { g, store, resolved, entries } = await world();
    const op = await as(g, 'olga', 'operator');
    await op.get(path(resolved.id));
    expect((await op.post(path(resolved.id, '/validate'), { note: 'x', _csrf: '' })).status).toBe(403);
    expect((await op.post(path(resolved.id, '/validate'), { note: 'x', _csrf: 'guess' })).status).toBe(403);
    expect((await op.post(path(resolved.id, '/validate'), { note: 'x' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(store.get(resolved.id)!.validatedAt).toBeNull();
    expect(entries('incident.validate')).toEqual([]);
  });
});
