// The console's Incidents pages without a browser: the list and its filters (a bad one named, the
// list then not drawn), one incident's timeline merged from its events, model calls, audit entries
// and changes in time order, untrusted text escaped and capped, the bounds, the live fragments,
// and a readonly viewer seeing the same.
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { alert } from '../support/incidents.js';
import { signIn, type ConsoleClient } from '../support/console-client.js';
import { useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();
const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const where = (service: string | null) => ({ target: service ? `local/${service}` : null, host: service ? 'local' : null, container: service, service });
const fire = (fingerprint: string, over: Partial<NormalizedAlert> = {}): NormalizedAlert => alert({ fingerprint, ...over });

async function operator(g: TestGateway, role: 'operator' | 'readonly' = 'operator'): Promise<ConsoleClient> {
  const { client, res } = await signIn(g.url, g.token(role === 'operator' ? 'olivia' : 'rita', role));
  expect(res.status).toBe(303);
  return client;
}

/** Incident ids listed on a page, in order. */
const listed = (body: string): string[] => [...body.matchAll(/<tr data-incident-id="([^"]+)"/g)].map((m) => m[1]!);
const kinds = (body: string): string[] => [...body.matchAll(/<li class="event" data-kind="([^"]+)"/g)].map((m) => m[1]!);

describe('console incidents list', () => {
  it('lists incidents newest first with links, filtered by status, service and time', async () => {
    const g = await gateway();
    const store = new IncidentStore(g.rt.db);
    const old = new IncidentStore(g.rt.db, () => new Date(Date.now() - 3 * 86_400_000)).create(fire('a:old'), where('web'));
    const db = store.create(fire('a:db'), where('db'));
    store.transition(db.id, 'resolve', 'the source said resolved', { resolution: 'resolved by the source' });
    const web = store.create(fire('a:web'), where('web'));
    const client = await operator(g);

    const all = await client.get('/console/incidents');
    expect(all.status).toBe(200);
    expect(listed(all.body)).toEqual([web.id, db.id, old.id]);
    expect(all.body).toContain(`<a href="/console/incidents/${web.id}">${web.id}</a>`);
    const ids = async (query: string): Promise<string[]> => {
      const res = await client.get(`/console/incidents?${query}`);
      expect(res.status, query).toBe(200);
      return listed(res.body);
    };
    expect(await ids('status=resolved')).toEqual([db.id]);
    expect(await ids('status=active')).toEqual([web.id, old.id]);
    expect(await ids('service=web')).toEqual([web.id, old.id]);
    expect(await ids('since=24h')).toEqual([web.id, db.id]);
    expect(await ids('until=2d')).toEqual([old.id]);
    expect(await ids(`since=${encodeURIComponent(new Date(Date.now() - 4 * 86_400_000).toISOString())}&until=1d&service=web`)).toEqual([old.id]);
    expect(await ids('status=&service=&since=')).toEqual([web.id, db.id, old.id]);
    expect(await ids('service=nothing-here')).toEqual([]);
  });

  it('names a bad filter and lists nothing rather than the unfiltered list', async () => {
    const g = await gateway();
    new IncidentStore(g.rt.db).create(fire('a:web'), where('web'));
    const client = await operator(g);
    const cases: Array<[string, RegExp]> = [
      ['status=bogus', /status: one of active, open/],
      ['since=yesterday', /since: &quot;yesterday&quot; is neither an ISO time/],
      ['until=2026-11-23T10:00', /until: .* is neither an ISO time/],
      ['since=2026-13-45', /since: /],
      ['since=2026-02-30', /since: /],
      ['until=2026-11-23T25:00Z', /until: /],
      ['since=1h&until=2h', /since: since is after until/],
      ['status=open&status=resolved', /status: given 2 times/],
      [`service=${'x'.repeat(201)}`, /service: over 200 characters/],
      [`since=${encodeURIComponent(XSS)}`, /since: &quot;&lt;script&gt;alert\(1\)&lt;\/script&gt;/],
    ];
    for (const [query, message] of cases) {
      const res = await client.get(`/console/incidents?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body, query).toMatch(message);
      expect(res.body, query).toContain('id="filter-errors"');
      expect(listed(res.body), query).toEqual([]);
      expect(res.body, query).not.toContain('id="incident-list"');
      expect(res.body, query).not.toContain('<script>alert');
      const live = await client.get(`/console/incidents/live?${query}`);
      expect(live.status, query).toBe(400);
      expect(listed(live.body), query).toEqual([]);
    }
  });

  it('answers the live fragment with only the list element, keeping the filters in its own refresh URL', async () => {
    const g = await gateway();
    const store = new IncidentStore(g.rt.db);
    const web = store.create(fire('a:web'), where('web'));
    store.create(fire('a:db'), where('db'));
    const client = await operator(g);
    const pageRes = await client.get('/console/incidents?service=web&since=24h');
    expect(pageRes.body).toContain('sse-connect="/console/events"');
    expect(pageRes.body).toContain('hx-get="/console/incidents/live?service=web&amp;since=24h" hx-trigger="sse:changed" hx-swap="outerHTML"');
    const live = await client.get('/console/incidents/live?service=web&since=24h');
    expect(live.status).toBe(200);
    expect(live.body.trimStart()).toMatch(/^<div id="incident-list" /);
    expect(live.body).not.toMatch(/<html|<nav|<header/);
    expect(listed(live.body)).toEqual([web.id]);
    // A change after the page was drawn shows in the next fragment.
    const later = store.create(fire('a:web2'), where('web'));
    expect(listed((await client.get('/console/incidents/live?service=web&since=24h')).body)).toEqual([later.id, web.id]);
  });
});

/** One incident with an entry of every kind, written a few ms apart so their order is plain. */
async function storied(g: TestGateway): Promise<{ id: string; approvalId: string }> {
  const store = new IncidentStore(g.rt.db);
  const step = () => sleep(3);
  const inc = store.create(fire('a:story', { summary: `web is down ${XSS}`, annotations: { description: `annotation ${XSS}` } }), where('web'));
  await step();
  store.transition(inc.id, 'work', 'the agent starts');
  await step();
  store.recordModelCall({ incidentId: inc.id, model: 'claude-test', inputTokens: 1200, outputTokens: 340, latencyMs: 850, costUsd: 0.0123, outcome: 'ok' });
  store.addEvent(inc.id, 'model', `The log says ${XSS}; restarting.`, { turn: 1, inputTokens: 1200, outputTokens: 340, costUsd: 0.0123 });
  await step();
  g.rt.audit.append({ callId: 'c1', principal: 'warden-loop', transport: 'memory', tool: 'container_logs', target: 'local/web', args: {}, argsHash: 'h',
    risk: 'read', decision: 'allow', rule: 'reads', phase: 'completed', result: `last line: ${XSS}`, incidentId: inc.id });
  await step();
  store.addEvent(inc.id, 'tool', `container_logs ok: ${XSS}`, { tool: 'container_logs' });
  await step();
  const beforeRef = g.rt.changes.save(Buffer.from('upstream a'));
  const change = await g.rt.changes.begin({ callId: 'c2', principal: 'warden-loop', incidentId: inc.id, target: 'local/nginx', service: 'web', kind: 'nginx_upstream', summary: 'upstream web -> b', beforeRef, plan: {} });
  await g.rt.changes.update(change.id, { status: 'verified', verification: 'nginx -t ok' });
  await step();
  store.addEvent(inc.id, 'verify', 'verified: web answers 200', { ok: true });
  await step();
  const approval = g.rt.approvals.create({ principal: 'warden-loop', tool: 'restart_container', target: 'local/web', args: '{}', argsHash: 'h2', risk: 'write', rule: 'hold', reason: 'r', ttlMs: 600_000, incidentId: inc.id });
  g.rt.audit.append({ callId: 'c3', principal: 'warden-loop', transport: 'memory', tool: 'restart_container', target: 'local/web', args: {}, argsHash: 'h2',
    risk: 'write', decision: 'approve', rule: 'hold', approvalId: approval.id, phase: 'pending', incidentId: inc.id });
  await step();
  store.transition(inc.id, 'hold', 'restart held', { waitingOn: approval.id });
  await step();
  store.addEvent(inc.id, 'note', 'a note');
  await step();
  store.addEvent(inc.id, 'escalation', `paged a human: ${XSS}`);
  return { id: inc.id, approvalId: approval.id };
}

describe('console incident detail', () => {
  it('shows the facts and every kind of timeline entry in time order, with the pending approval linked', async () => {
    const g = await gateway();
    const { id, approvalId } = await storied(g);
    const client = await operator(g);
    const res = await client.get(`/console/incidents/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<span id="incident-status" class="badge badge-waiting_approval">waiting_approval</span>');
    expect(res.body).toMatch(/<dt>Service<\/dt><dd>web<\/dd>/);
    expect(res.body).toMatch(/<dt>Target<\/dt><dd>local\/web/);
    expect(res.body).toMatch(/id="incident-model">1 calls, 1200 input \/ 340 output tokens, \$0.0123/);
    expect(res.body).toMatch(/id="incident-escalation"><time [^>]+>[^<]+<\/time> paged a human/);
    expect(kinds(res.body)).toEqual(['alert', 'status', 'model-call', 'model', 'audit', 'tool', 'change', 'verify', 'audit', 'status', 'note', 'escalation']);
    expect(res.body).toMatch(/model call <code>claude-test<\/code>: 1200 input \/ 340 output tokens,\s+\$0.0123, 850 ms/);
    expect(res.body).toMatch(/<code>container_logs<\/code> on local\/web: <span class="badge badge-completed">completed<\/span>\s+decision <span class="badge badge-allow">allow<\/span> rule reads by warden-loop/);
    expect(res.body).toMatch(/change <code>chg_[0-9a-f]+<\/code> \(nginx_upstream\) on local\/nginx: <span class="badge badge-verified">verified<\/span>/);
    expect(res.body).toContain('verification: nginx -t ok');
    expect(res.body).toContain(`id="incident-approvals"><li>\n<a href="/console/approvals/${approvalId}">${approvalId}</a>`);
    expect(res.body).toContain('data-expires-at=');
    expect(res.body).toContain(`hx-get="/console/incidents/${id}/live" hx-trigger="sse:changed" hx-swap="outerHTML"`);
  });

  it('escapes an alert annotation, model text, a tool result and a log line, never writing them raw', async () => {
    const g = await gateway();
    const { id } = await storied(g);
    const res = await (await operator(g)).get(`/console/incidents/${id}`);
    expect(res.body).not.toContain('<script>alert(1)');
    expect(res.body).not.toContain('<img src=x');
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;';
    expect(res.body).toContain(`annotation ${escaped}`);
    expect(res.body).toContain(`The log says ${escaped}; restarting.`);
    expect(res.body).toContain(`last line: ${escaped}`);
    expect(res.body).toContain(`container_logs ok: ${escaped}`);
  });

  it('caps a huge model text and says how much was cut', async () => {
    const g = await gateway();
    const store = new IncidentStore(g.rt.db);
    const inc = store.create(fire('a:big'), where('web'));
    store.addEvent(inc.id, 'model', `${'m'.repeat(10_000)}TAIL`);
    const res = await (await operator(g)).get(`/console/incidents/${inc.id}`);
    expect(res.body).toContain(`${'m'.repeat(2_000)}<span class="cut muted"> [8004 more characters cut]</span>`);
    expect(res.body).not.toContain('TAIL');
  });

  it('shows only the newest 500 entries of a huge timeline, and says so', async () => {
    const g = await gateway();
    const store = new IncidentStore(g.rt.db);
    const inc = store.create(fire('a:storm'), where('web'));
    store.atomically(() => { for (let n = 1; n <= 600; n++) store.addEvent(inc.id, 'note', `note ${n}`); });
    const res = await (await operator(g)).get(`/console/incidents/${inc.id}`);
    expect(kinds(res.body)).toHaveLength(500);
    expect(res.body).toContain('id="timeline-cut"');
    expect(res.body).toContain('note 600<');
    expect(res.body).toContain('note 101<');
    expect(res.body).not.toContain('note 100<');
  });

  it('answers an unknown or malformed id with a 404 page', async () => {
    const g = await gateway();
    const client = await operator(g);
    for (const id of ['inc_0000000000', 'nope', '%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'x'.repeat(1_000), '%00', '..%2F..%2Fetc']) {
      const res = await client.get(`/console/incidents/${id}`);
      expect(res.status, id).toBe(404);
      expect(res.body, id).toContain('No such incident');
      expect(res.body, id).not.toContain('<script>alert');
      expect((await client.get(`/console/incidents/${id}/live`)).status, id).toBe(404);
    }
  });

  it('answers the live fragment with only the facts and timeline, as they are now', async () => {
    const g = await gateway();
    const store = new IncidentStore(g.rt.db);
    const inc = store.create(fire('a:live'), where('web'));
    const client = await operator(g);
    expect((await client.get(`/console/incidents/${inc.id}`)).body).toContain('>open</span>');
    store.transition(inc.id, 'resolve', 'verified healthy', { resolution: 'restarted' });
    const live = await client.get(`/console/incidents/${inc.id}/live`);
    expect(live.status).toBe(200);
    expect(live.body.trimStart()).toMatch(/^<div id="incident-live" /);
    expect(live.body).not.toMatch(/<html|<nav|<header|sse-connect/);
    expect(live.body).toContain('<span id="incident-status" class="badge badge-resolved">resolved</span>');
    expect(live.body).toMatch(/id="incident-resolution">restarted</);
    expect(kinds(live.body)).toEqual(['alert', 'status']);
  });

  it('shows a readonly viewer the same pages, with no form but the filters and sign-out', async () => {
    const g = await gateway();
    const { id } = await storied(g);
    const op = await operator(g);
    const ro = await operator(g, 'readonly');
    for (const path of ['/console/incidents', `/console/incidents/${id}`, `/console/incidents/${id}/live`, '/console/incidents/live']) {
      const a = await op.get(path);
      const b = await ro.get(path);
      expect(b.status, path).toBe(200);
      const strip = (body: string): string => body.replace(/<span id="whoami">.*?<\/span><\/span>/, '').replace(/"_csrf" value="[^"]+"|x-csrf-token&quot;:&quot;[^&]+/g, '')
        .replace(/<span data-expires-at[^<]+<time[^<]+<\/time>/g, '');
      expect(strip(b.body), path).toBe(strip(a.body));
      const forms = [...b.body.matchAll(/<form [^>]*>/g)].map((m) => m[0]);
      expect(forms.every((f) => f.includes('class="filters" method="get"') || f.includes('id="logout"')), path).toBe(true);
    }
    expect((await ro.post(`/console/incidents/${id}`, {})).status).not.toBe(200);
  });
});
