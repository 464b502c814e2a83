// The console's pages on a big database: each list costs a page, not the table. Seeds thousands of
// rows, runs the page, and checks the plan SQLite used for each statement the request ran (recorded
// on the gateway's own connection, nothing mocked): no whole-table scan, no sort of everything that
// matched, and the index that narrows the read to the incident asked for. warden runs no ANALYZE, so
// plans do not depend on how many rows there are.
import { describe, expect, it } from 'vitest';
import { signIn } from '../support/console-client.js';
import { useGateways, type TestGateway } from '../support/http-gateway.js';
import { plainSql, readsWholeTable, recordStatements } from '../support/query-plans.js';

const gateway = useGateways();
const N = 20_000;
const BASE = '2026-01-01T00:00:00Z';
const minutes = (expr: string): string => `strftime('%Y-%m-%dT%H:%M:%fZ', '${BASE}', '+' || (${expr}) || ' minutes')`;

/** N resolved incidents one minute apart (service svcK, K = i % 1000), each with one model call at its opening. */
function seedIncidents(g: TestGateway): void {
  g.rt.db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
    INSERT INTO incidents (id, fingerprint, opened_at, updated_at, closed_at, status, source, title, service)
    SELECT printf('inc_%010x', i), 'fp' || i, ${minutes('i')}, ${minutes('i')}, ${minutes('i')}, 'resolved', 'test', 'seeded', 'svc' || (i % 1000) FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
    INSERT INTO model_calls (incident_id, time, model, input_tokens, output_tokens, latency_ms, cost_usd, outcome)
    SELECT printf('inc_%010x', i), ${minutes('i')}, 'm', 1, 1, 1, 0.001, 'ok' FROM n;
  `);
}

describe('console pages on a big database', () => {
  it('the Incidents list (all, live, by service) reads its newest rows through an index, not every incident sorted', async () => {
    const g = await gateway();
    seedIncidents(g);
    const { client } = await signIn(g.url, g.token('rita', 'readonly'));
    const rec = recordStatements(g.rt);
    for (const [path, index] of [['/console/incidents', 'incidents_opened'], ['/console/incidents/live', 'incidents_opened'], ['/console/incidents?service=svc7', 'incidents_service']]) {
      rec.ran.length = 0;
      const res = await client.get(path!);
      expect(res.status).toBe(200);
      const list = rec.matching(/FROM incidents\s/).filter((r) => /ORDER BY opened_at DESC/.test(r.sql));
      expect(list.length, path).toBeGreaterThan(0);
      const plan = list[0]!.plan;
      expect(readsWholeTable(plan), `${path}: ${plainSql(list[0]!.sql)}\n${plan.join('\n')}`).toBe(false);
      expect(plan.join(' | '), path).toContain(index);
    }
    // The list is the newest, newest first.
    expect((await client.get('/console/incidents')).body).toContain(`inc_${(N - 1).toString(16).padStart(10, '0')}`);
    rec.stop();
  });

  it('an old incident\'s page reads its own model calls through model_calls(incident_id), not every call since it opened', async () => {
    const g = await gateway();
    seedIncidents(g);
    const { client } = await signIn(g.url, g.token('rita', 'readonly'));
    const rec = recordStatements(g.rt);
    const res = await client.get('/console/incidents/inc_0000000000');
    expect(res.status).toBe(200);
    const calls = rec.matching(/FROM model_calls/);
    expect(calls.length).toBeGreaterThanOrEqual(2); // the calls shown and their totals
    for (const r of calls) expect(r.plan.join(' | '), plainSql(r.sql)).toMatch(/model_calls USING (COVERING )?INDEX model_calls_incident \(incident_id=/);
    rec.stop();
  });

  it('an incident\'s page finds its changes through changes(incident_id), not by walking the change journal', async () => {
    const g = await gateway();
    g.rt.db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
      INSERT INTO changes (id, created_at, updated_at, call_id, principal, incident_id, target, kind, status, summary, before_ref, plan, owner)
      SELECT printf('chg_%010x', i), ${minutes('i')}, ${minutes('i')}, 'call' || i, 'loop', 'inc_other' || (i % 500), 'local/web-1', 'container_resources',
        'verified', 's', 'ref', '{}', 'x' FROM n;
      INSERT INTO incidents (id, fingerprint, opened_at, updated_at, status, source, title) VALUES ('inc_quiet', 'fp', '2027-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 'open', 'test', 'quiet');
    `);
    const { client } = await signIn(g.url, g.token('rita', 'readonly'));
    const rec = recordStatements(g.rt);
    expect((await client.get('/console/incidents/inc_quiet')).status).toBe(200);
    const changes = rec.matching(/FROM changes/);
    expect(changes.length).toBeGreaterThan(0);
    // `(@incidentId IS NULL OR incident_id = @incidentId)` kept the planner on changes_created, newest to oldest.
    expect(changes[0]!.plan.join(' | '), plainSql(changes[0]!.sql)).toMatch(/changes USING (COVERING )?INDEX changes_incident \(incident_id=/);
    expect(readsWholeTable(changes[0]!.plan)).toBe(false);
    // Other filters still narrow as before.
    expect(g.rt.changes.list({ limit: 3, incidentId: 'inc_other7' }).map((c) => c.incidentId)).toEqual(['inc_other7', 'inc_other7', 'inc_other7']);
    expect(g.rt.changes.list({ limit: 2, status: 'verified', target: 'local/web-1' })).toHaveLength(2);
    expect(g.rt.changes.list({ limit: 2, status: 'rejected' })).toEqual([]);
    rec.stop();
  });

  it('the Approvals page\'s "Recent decisions" walks approvals by when they left pending, not every approval sorted', async () => {
    const g = await gateway();
    g.rt.db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${N - 1})
      INSERT INTO approvals (id, created_at, expires_at, principal, tool, target, args, args_hash, risk, rule, reason, status, decided_by, decided_at)
      SELECT printf('apr_%010x', i), ${minutes('i')}, ${minutes('i + 15')}, 'loop', 'restart_container', 'local/web-1', '{}', 'h', 'medium', 'r', 'held',
        'denied', 'olivia', ${minutes('i + 1')} FROM n;
    `);
    const { client } = await signIn(g.url, g.token('rita', 'readonly'));
    const rec = recordStatements(g.rt);
    const res = await client.get('/console/approvals');
    expect(res.status).toBe(200);
    const recent = rec.matching(/FROM approvals WHERE NOT/);
    expect(recent.length).toBeGreaterThan(0);
    expect(readsWholeTable(recent[0]!.plan), recent[0]!.plan.join('\n')).toBe(false);
    expect(recent[0]!.plan.join(' | ')).toContain('approvals_settled');
    // The newest decision is listed.
    expect(res.body).toContain(`apr_${(N - 1).toString(16).padStart(10, '0')}`);
    rec.stop();
  });
});
