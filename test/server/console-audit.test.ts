// The console's Audit page: each filter narrows the search, nothing typed is a pattern, pages go
// back by seq with bounded work, bad values are named, entries stay text, and the chain's state
// (anchor checkpoint, an on-demand verification) is shown to every role.
import { describe, expect, it, vi } from 'vitest';
import type { IsolatedReply } from '../../src/adapters/isolated-child.js';
import { ChainVerifier, VERIFY_COOLDOWN_MS } from '../../src/server/console/audit-verify.js';
import type { AuditInput } from '../../src/store/audit.js';
import { AUDIT_SEARCH_WINDOW } from '../../src/store/audit.js';
import { signIn, type ConsoleClient } from '../support/console-client.js';
import { useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();

let calls = 0;
function entry(over: Partial<AuditInput>): AuditInput {
  calls += 1;
  return { callId: `c${calls}`, principal: 'alice', transport: 'http', tool: 'list_containers', target: 'local/*', args: {}, argsHash: 'h', phase: 'completed', result: 'ok', ...over };
}

interface Row { seq: number; principal: string; tool: string; target: string }

function cell(cells: string, cls: string): string {
  return new RegExp(`<td class="${cls}">(?:<a [^>]*>)?([^<]*)`).exec(cells)?.[1] ?? '';
}

function rows(body: string): Row[] {
  return [...body.matchAll(/<tr data-seq="(\d+)">([\s\S]*?)<\/tr>/g)].map(([, seq, cells]) => ({
    seq: Number(seq), principal: cell(cells!, 'principal'), tool: cell(cells!, 'tool'), target: cell(cells!, 'target'),
  }));
}

async function viewer(g: TestGateway, role: 'readonly' | 'operator' = 'readonly'): Promise<ConsoleClient> {
  const { client } = await signIn(g.url, g.token('viewer', role));
  return client;
}

describe('console audit search', () => {
  it('narrows by tool, principal, target, incident and time, each alone, newest first', async () => {
    const g = await gateway();
    const a = g.rt.audit;
    a.append(entry({ tool: 'restart_container', principal: 'bob', target: 'local/web', incidentId: 'inc-1' }));
    a.append(entry({ tool: 'restart_container', principal: 'carol', target: 'local/db' }));
    a.append(entry({ tool: 'list_containers', principal: 'bob', target: 'edge/*', incidentId: 'inc-2' }));
    const client = await viewer(g);
    const get = async (q: string): Promise<Row[]> => rows((await client.get(`/console/audit?${q}`)).body);

    const all = await get('');
    expect(all.map((r) => r.seq)).toEqual([...all.map((r) => r.seq)].sort((x, y) => y - x));
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect((await get('tool=restart_container')).map((r) => r.target)).toEqual(['local/db', 'local/web']);
    expect((await get('tool=restart_*')).map((r) => r.target)).toEqual(['local/db', 'local/web']);
    expect((await get('principal=bob')).map((r) => r.tool)).toEqual(['list_containers', 'restart_container']);
    expect((await get('target=local/web')).map((r) => r.principal)).toEqual(['bob']);
    expect((await get('target=local/*')).map((r) => r.target)).toEqual(['local/db', 'local/web']);
    expect((await get('incident=inc-2')).map((r) => r.target)).toEqual(['edge/*']);
    expect((await get('principal=bob&tool=restart_container')).map((r) => r.target)).toEqual(['local/web']);
    expect(await get('principal=Bob')).toEqual([]);
    expect(await get('tool=restart')).toEqual([]);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await get(`since=${encodeURIComponent(future)}`)).toEqual([]);
    expect((await get(`until=${encodeURIComponent(future)}&principal=carol`)).length).toBe(1);
    expect(await get('until=2000-01-01&principal=carol')).toEqual([]);
  });

  it('takes % _ * and brackets in a value as plain characters, never as a pattern', async () => {
    const g = await gateway();
    for (const principal of ['ops_1', 'opsX1', 'ops%', 'ops%more']) g.rt.audit.append(entry({ principal }));
    g.rt.audit.append(entry({ target: 'web_a/x' }));
    g.rt.audit.append(entry({ target: 'webXa/x' }));
    g.rt.audit.append(entry({ target: 'w[e]b/x' }));
    const client = await viewer(g);
    const get = async (q: string): Promise<Row[]> => rows((await client.get(`/console/audit?${q}`)).body);
    expect((await get('principal=ops_1')).map((r) => r.principal)).toEqual(['ops_1']);
    expect((await get(`principal=${encodeURIComponent('ops%')}`)).map((r) => r.principal)).toEqual(['ops%']);
    expect((await get(`principal=${encodeURIComponent('%')}`))).toEqual([]);
    expect((await get(`target=${encodeURIComponent('web_*')}`)).map((r) => r.target)).toEqual(['web_a/x']);
    expect((await get(`target=${encodeURIComponent('w[e]b/*')}`)).map((r) => r.target)).toEqual(['w[e]b/x']);
    expect((await get(`target=${encodeURIComponent('w?b*')}`))).toEqual([]);
  });

  it('pages back by seq, 50 at a time, and stops at the oldest entry', async () => {
    const g = await gateway();
    g.rt.audit.atomically(() => { for (let i = 0; i < 120; i += 1) g.rt.audit.append(entry({ principal: 'pager' })); });
    const client = await viewer(g);
    const seen: number[] = [];
    let path: string | undefined = '/console/audit?principal=pager';
    let pages = 0;
    while (path) {
      const body: string = (await client.get(path)).body;
      const page = rows(body);
      expect(page.length).toBeLessThanOrEqual(50);
      seen.push(...page.map((r) => r.seq));
      // Only the newest page follows new entries.
      if (pages > 0) expect(body).not.toContain('sse-connect');
      path = /<a id="audit-older" href="([^"]+)"/.exec(body)?.[1]?.replaceAll('&amp;', '&');
      pages += 1;
      expect(pages).toBeLessThan(6);
    }
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    expect(seen).toEqual([...seen].sort((x, y) => y - x));
  });

  it('examines a bounded window per page: a rare match beyond it is one "older" link away', async () => {
    const g = await gateway();
    g.rt.audit.append(entry({ tool: 'rare_tool' }));
    g.rt.audit.atomically(() => { for (let i = 0; i < AUDIT_SEARCH_WINDOW + 10; i += 1) g.rt.audit.append(entry({ principal: 'filler' })); });
    const client = await viewer(g);
    const first = (await client.get('/console/audit?tool=rare_tool')).body;
    expect(rows(first)).toEqual([]);
    expect(first).toMatch(/No entry matches, looking back to entry \d+/);
    const older = /<a id="audit-older" href="([^"]+)"/.exec(first)![1]!.replaceAll('&amp;', '&');
    expect(rows((await client.get(older)).body).map((r) => r.tool)).toEqual(['rare_tool']);
  });

  it('names each bad filter value and searches with the others', async () => {
    const g = await gateway();
    g.rt.audit.append(entry({ principal: 'bob' }));
    const client = await viewer(g);
    const res = await client.get('/console/audit?since=yesterday&until=2025-02-30&before=-3&principal=bob');
    expect(res.status).toBe(400);
    const problems = /<div class="banner warn" id="audit-problems">([\s\S]*?)<\/div>/.exec(res.body)![1]!;
    expect(problems).toMatch(/since: expected an ISO date/);
    expect(problems).toMatch(/until: expected an ISO date/);
    expect(problems).toMatch(/before: expected an entry number/);
    expect(rows(res.body).map((r) => r.principal)).toEqual(['bob']);
    const late = await client.get('/console/audit?since=2025-02-01&until=2025-01-01');
    expect(late.body).toMatch(/since: 2025-02-01T00:00:00.000Z is after until/);
    const huge = await client.get(`/console/audit?target=${'x'.repeat(300)}`);
    expect(huge.body).toMatch(/target: longer than 256 characters/);
  });

  it('refuses a time past the year 9999 once its zone is applied, naming the field, instead of matching nothing', async () => {
    const g = await gateway();
    g.rt.audit.append(entry({ principal: 'bob' }));
    const client = await viewer(g);
    const all = rows((await client.get('/console/audit/results')).body).length;
    expect(all).toBeGreaterThan(0);
    // 9999-12-31T23:30-05:00 is 10000-01-01T04:30Z: toISOString writes "+010000-...", which sorts before every stored time.
    for (const [field, value] of [['until', '9999-12-31T23:30-05:00'], ['since', '9999-12-31T23:30-05:00'], ['until', '9999-12-31T23:59-00:01']]) {
      const q = `${field}=${encodeURIComponent(value!)}`;
      const res = await client.get(`/console/audit?${q}`);
      expect(res.status, q).toBe(400);
      expect(/<div class="banner warn" id="audit-problems">([\s\S]*?)<\/div>/.exec(res.body)?.[1], q).toContain(`${field}: expected an ISO date or date-time`);
      // Left out of the search, as every bad value is: everything matches, and the page said why.
      expect(rows((await client.get(`/console/audit/results?${q}`)).body), q).toHaveLength(all);
    }
    // The last moment that is still in range is taken.
    expect((await client.get(`/console/audit?until=${encodeURIComponent('9999-12-31T23:59:59Z')}`)).status).toBe(200);
  });

  it('refuses a filter given twice, naming it, rather than searching with one of its values', async () => {
    const g = await gateway();
    g.rt.audit.append(entry({ principal: 'bob' }));
    g.rt.audit.append(entry({ principal: 'carol' }));
    const client = await viewer(g);
    const res = await client.get('/console/audit?principal=bob&principal=carol&tool=list_containers');
    expect(res.status).toBe(400);
    expect(/<div class="banner warn" id="audit-problems">([\s\S]*?)<\/div>/.exec(res.body)?.[1]).toContain('principal: given 2 times; give it once');
    expect(rows(res.body).map((r) => r.principal).sort()).toEqual(['bob', 'carol']);
    expect((await client.get('/console/audit?principal=bob&principal=')).status).toBe(200); // an empty value is "any", not a second one
    expect((await client.get('/console/audit?before=5&before=6')).body).toContain('before: given 2 times; give it once');
  });

  it('shows an entry\'s result, arguments and names as text, cut to their caps', async () => {
    const g = await gateway();
    g.rt.audit.append(entry({
      principal: '<b>mallory</b>', target: 'local/<img src=x onerror=alert(1)>', incidentId: '"><script>alert(3)</script>',
      args: { cmd: '<script>alert(2)</script>' }, result: `<script>alert(1)</script>${'y'.repeat(500)}`,
    }));
    const client = await viewer(g);
    const body = (await client.get('/console/audit?principal=%3Cb%3Emallory%3C%2Fb%3E')).body;
    expect(rows(body)).toHaveLength(1);
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('&lt;b&gt;mallory&lt;/b&gt;');
    expect(body).toContain('local/&lt;img src=x onerror=alert(1)&gt;');
    expect(body).not.toMatch(/<script>alert|<img src=x|<b>mallory/);
    expect(body).not.toContain('y'.repeat(201));
    expect(body).toContain(`${'y'.repeat(100)}…`);
    expect(body).toContain(`/console/incidents/${encodeURIComponent('"><script>alert(3)</script>')}`);
  });

  it('follows new entries on the newest page only, through its live fragment', async () => {
    const g = await gateway();
    const client = await viewer(g);
    const newest = (await client.get('/console/audit?tool=list_containers')).body;
    expect(newest).toContain('sse-connect="/console/events"');
    expect(newest).toContain('hx-get="/console/audit/results?tool=list_containers"');
    g.rt.audit.append(entry({ principal: 'late' }));
    const fragment = await client.get('/console/audit/results?tool=list_containers');
    expect(fragment.body.trimStart()).toMatch(/^<div id="audit-results" hx-get=/);
    expect(fragment.body).not.toContain('<html');
    expect(rows(fragment.body).map((r) => r.principal)).toEqual(['late']);
    const older = (await client.get('/console/audit?before=3')).body;
    expect(older).not.toContain('sse-connect');
    expect(older).not.toContain('hx-get="/console/audit/results');
  });
});

describe('console audit chain state', () => {
  async function verified(client: ConsoleClient): Promise<string> {
    for (let i = 0; i < 100; i += 1) {
      const body = (await client.get('/console/audit/chain')).body;
      if (!body.includes('Verifying since')) return /<dd id="audit-last-verify">([\s\S]*?)<\/dd>/.exec(body)![1]!;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the verification did not end');
  }

  it('shows the anchor checkpoint and verifies the chain on demand, for a readonly viewer too', async () => {
    const g = await gateway();
    g.rt.audit.append(entry({}));
    const client = await viewer(g, 'readonly');
    const page = (await client.get('/console/audit')).body;
    const head = g.rt.audit.readCheckpoint()!;
    expect(page).toMatch(new RegExp(`<dd id="audit-checkpoint">entry ${head.seq}, hash <code title="${head.hash}">`));
    expect(page).toContain('matches</span> the entry');
    expect(page).toContain('not run since this warden started');
    expect(page).toContain('<form id="audit-verify" method="post" action="/console/audit/verify">');
    const res = await client.post('/console/audit/verify', {});
    expect(res.status).toBe(303);
    const result = await verified(client);
    expect(result).toMatch(/<span class="badge badge-ok">ok<\/span> \d+ entries/);
    expect(result).toContain('asked by viewer');
    // Right after one, the button waits out the cooldown.
    expect((await client.get('/console/audit/chain')).body).toMatch(/<button type="submit" disabled>Verify now<\/button> <span class="muted">again in \d+ s/);
  });

  it('reports a chain broken behind warden\'s back', async () => {
    const g = await gateway();
    g.rt.audit.append(entry({ result: 'first' }));
    const victim = g.rt.audit.search({}, 1).entries[0]!.seq;
    g.rt.audit.append(entry({ result: 'second' }));
    g.rt.db.exec('DROP TRIGGER audit_no_update');
    g.rt.db.prepare(`UPDATE audit SET result = 'rewritten' WHERE seq = ?`).run(victim);
    const client = await viewer(g, 'operator');
    await client.get('/console/audit');
    expect((await client.post('/console/audit/verify', {})).status).toBe(303);
    expect(await verified(client)).toMatch(new RegExp(`broken</span> at entry ${victim}: entry ${victim} was altered`));
  });

  it('refuses a verification asked from another site or without the CSRF token', async () => {
    const g = await gateway();
    const client = await viewer(g);
    await client.get('/console/audit');
    expect((await client.post('/console/audit/verify', {}, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await client.post('/console/audit/verify', { _csrf: '' })).status).toBe(403);
    expect((await client.get('/console/audit/chain')).body).toContain('not run since this warden started');
  });
});

describe('console audit: the verification cooldown', () => {
  it('lasts at least as long as the last walk took, so clicks keep a core busy at most about half the time', async () => {
    // Only Date is faked: the walk "takes" 60 s by moving the clock while the child is asked.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const start = Date.parse('2026-03-01T00:00:00Z');
      vi.setSystemTime(start);
      let walkMs = 60_000;
      const reply: IsolatedReply = { ok: true, reply: { ok: true, result: { ok: true, entries: 1, warnings: [] } } };
      // The child process the verifier forks, standing in for one whose walk takes walkMs.
      const fork = () => ({
        request: async () => { vi.setSystemTime(Date.now() + walkMs); return reply; },
        close: async () => undefined,
      });
      const verifier = new ChainVerifier({ readCheckpoint: () => null }, '/nonexistent', fork);
      const first = await verifier.start('rita')!;
      expect(first.ms).toBe(walkMs);
      const ended = Date.parse(first.at);
      expect(verifier.waitMs(ended + VERIFY_COOLDOWN_MS + 1)).toBeGreaterThan(0);
      expect(verifier.waitMs(ended + walkMs - 1)).toBe(1);
      expect(verifier.waitMs(ended + walkMs)).toBe(0);
      expect(verifier.start('rita')).toBeUndefined();
      // A short walk: the fixed cooldown still holds.
      vi.setSystemTime(ended + walkMs);
      walkMs = 10;
      const second = await verifier.start('rita')!;
      expect(verifier.waitMs(Date.parse(second.at) + VERIFY_COOLDOWN_MS - 1)).toBe(1);
      expect(verifier.waitMs(Date.parse(second.at) + VERIFY_COOLDOWN_MS)).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
