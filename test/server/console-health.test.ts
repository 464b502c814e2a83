// The console's Health page: /healthz's answer, `warden status`'s checks, the loop (safe mode, its
// watches), model spend today against the daily budget, open work, and the monitors; a live
// fragment re-renders it. Every recorded string (a monitor's detail, a safe-mode reason) is escaped.
import { describe, expect, it } from 'vitest';
import { readRecordedHealth, recordedChecks } from '../../src/server/recorded-health.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { MonitorStateStore } from '../../src/store/monitor-states.js';
import { signIn } from '../support/console-client.js';
import { useGateways } from '../support/http-gateway.js';

const gateway = useGateways();
const XSS = '<script>alert("health")</script>';

const call = (costUsd: number) => ({ incidentId: 'inc-1', model: 'claude-test', inputTokens: 1_000, outputTokens: 200, latencyMs: 900, costUsd, outcome: 'ok' });

describe('console health', () => {
  it("shows today's model spend against the daily budget, not counting yesterday's", async () => {
    const g = await gateway.custom({ config: 'loop:\n  budgets:\n    dailyUsd: 5\n' });
    const { client } = await signIn(g.url, g.token('rita', 'readonly'));
    const before = await client.get('/console/health');
    expect(before.status).toBe(200);
    expect(before.body).toContain('<strong>$0.00</strong> of $5.00 (0 %)');
    const yesterday = new Date(Date.now() - 86_400_000 - 60_000);
    new IncidentStore(g.rt.db, () => yesterday).recordModelCall(call(100));
    const incidents = new IncidentStore(g.rt.db);
    incidents.recordModelCall(call(1));
    incidents.recordModelCall(call(0.25));
    const page = await client.get('/console/health');
    expect(page.body).toContain('<strong>$1.25</strong> of $5.00 (25 %)');
    expect(page.body).toMatch(/id="health-spend" data-spent-usd="1.2500" data-budget-usd="5.00"/);
    expect(page.body).toMatch(/<meter [^>]*max="5"[^>]*value="1.25"/);
    incidents.recordModelCall(call(4));
    const spent = await client.get('/console/health/live');
    expect(spent.body).toContain('<strong>$5.25</strong> of $5.00 (105 %)');
    expect(spent.body).toContain('The daily budget is spent');
  });

  it("shows warden status's checks, the loop's safe mode and the monitors, every recorded string escaped, and no form", async () => {
    const g = await gateway();
    const now = new Date().toISOString();
    new MonitorStateStore(g.rt.db).replace([
      { id: 'probe:shop', kind: 'probe', subject: 'shop', state: 'down', since: now, checkedAt: now, value: null, detail: `HTTP 500 ${XSS}`, updatedBy: 'test:1' },
      { id: 'tls:shop', kind: 'tls', subject: 'shop', state: 'ok', since: now, checkedAt: now, value: 40, detail: '40 days left', updatedBy: 'test:1' },
    ]);
    g.rt.safeMode.set(true, 'warden', `5 writes failed ${XSS}`, { rule: `5 writes failed ${XSS}` }, () => undefined);
    const { client } = await signIn(g.url, g.token('rita', 'readonly'));
    const page = await client.get('/console/health');
    expect(page.status).toBe(200);
    const expected = recordedChecks(readRecordedHealth(g.rt.db, new Date()), undefined, new Date());
    for (const c of expected) expect(page.body, c.name).toContain(`<td>${c.name}</td>`);
    expect(page.body).toMatch(/<tr data-level="fail"><td><span class="badge badge-failed">FAIL<\/span><\/td><td>safe mode<\/td>/);
    expect(page.body).toMatch(/<tr data-level="warn"><td><span class="badge badge-pending">warn<\/span><\/td><td>monitors<\/td><td>1 down: probe:shop<\/td>/);
    expect(page.body).toContain('<tr data-monitor-id="probe:shop">');
    expect(page.body).toContain('HTTP 500 &lt;script&gt;alert(&quot;health&quot;)&lt;/script&gt;');
    expect(page.body).toContain('5 writes failed &lt;script&gt;');
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).toMatch(/id="health-gateway" data-status="degraded"/);
    expect(page.body).not.toMatch(/<form (?!id="logout")/);
  });

  it('counts pending approvals and a failed audit write, and refreshes as a fragment on the live stream', async () => {
    const g = await gateway();
    g.rt.approvals.create({ principal: 'bob', tool: 'restart_container', target: 'local/web-1', args: '{}', argsHash: 'h', risk: 'write', rule: 'r', reason: 'needs a human', ttlMs: 600_000 });
    const { client } = await signIn(g.url, g.token('olga', 'operator'));
    const page = await client.get('/console/health');
    expect(page.body).toContain('<div hx-ext="sse" sse-connect="/console/events"><div id="health-live" hx-get="/console/health/live" hx-trigger="sse:changed, every 15s" hx-swap="outerHTML"');
    expect(page.body).toMatch(/id="approvals-pending">1</);
    expect(page.body).toContain('<dd id="audit-write">no failure since the last good write</dd>');
    g.rt.approvals.create({ principal: 'bob', tool: 'restart_container', target: 'local/db', args: '{}', argsHash: 'h2', risk: 'write', rule: 'r', reason: 'again', ttlMs: 600_000 });
    const fragment = await client.get('/console/health/live', { 'hx-request': 'true' });
    expect(fragment.status).toBe(200);
    expect(fragment.body.startsWith('<div id="health-live"')).toBe(true);
    expect(fragment.body).not.toContain('<html');
    expect(fragment.body).toMatch(/id="approvals-pending">2</);
    const anonymous = await fetch(new URL('/console/health/live', g.url), { headers: { 'hx-request': 'true' } });
    expect(anonymous.status).toBe(401);
    // A full disk: the database takes no more pages, so no audit entry can be written.
    g.rt.db.exec('VACUUM');
    g.rt.db.pragma(`max_page_count = ${g.rt.db.pragma('page_count', { simple: true }) as number}`);
    expect(() => g.rt.audit.append({ callId: 'c', principal: 'p', transport: 'cli', tool: 't', target: null, args: { pad: 'x'.repeat(50_000) }, argsHash: '', phase: 'completed' })).toThrow();
    const full = await client.get('/console/health/live');
    expect(full.body).toMatch(/<dd id="audit-write"><strong>failed<\/strong> at <time[^>]*>[^<]*<\/time>: database or disk is full<\/dd>/);
    expect(full.body).toMatch(/id="health-gateway" data-status="failing"/);
  });
});
