// The console's Report page without a browser: the seeded history's figures (the same as `warden
// report`), the top recurring causes escaped, the `since` filter (a bad one named, no figures drawn),
// and the Report link in the navigation.
import { describe, expect, it } from 'vitest';
import { IncidentStore } from '../../src/store/incidents.js';
import { alert } from '../support/incidents.js';
import { signIn, type ConsoleClient } from '../support/console-client.js';
import { useGateways, type TestGateway } from '../support/http-gateway.js';
import { seedReportHistory } from '../support/report-history.js';

const gateway = useGateways();
const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';

async function viewer(g: TestGateway, role: 'operator' | 'readonly' = 'readonly'): Promise<ConsoleClient> {
  const { client, res } = await signIn(g.url, g.token(role === 'operator' ? 'olivia' : 'rita', role));
  expect(res.status).toBe(303);
  return client;
}

/** The cells of the row `data-figure="key"`, tags stripped. */
function cells(body: string, key: string): string[] {
  const row = new RegExp(`<tr data-figure="${key}">(.*?)</tr>`, 's').exec(body)?.[1] ?? '';
  return [...row.matchAll(/<td>(.*?)<\/td>/gs)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
}

describe('console report page', () => {
  it('shows the figures of the last 30 days, the recurring causes and the spend', async () => {
    const g = await gateway();
    seedReportHistory(g.rt.db, new Date(), g.rt.audit);
    const client = await viewer(g);
    const res = await client.get('/console/report');
    expect(res.status).toBe(200);
    expect(res.body).toContain('<a href="/console/report" aria-current="page">Report</a>');
    expect(res.body).toMatch(/id="report-window">Incidents opened since <time[^>]*>[^<]+<\/time>: <strong>8<\/strong> \(open 1, resolved 5, escalated 2\)/);
    // test/support/report-history.ts works each of these out.
    expect(cells(res.body, 'mttd')).toEqual(['37.5s', '20s', '1m30s', '6']);
    expect(cells(res.body, 'mttrRunning')).toEqual(['2m7s', '1m', '4m12s', '3']);
    expect(cells(res.body, 'mttrResolved')).toEqual(['1m36s', '45s', '3m48s', '5']);
    expect(cells(res.body, 'autoFix')).toEqual(['57.1%', '4 of 7']);
    expect(cells(res.body, 'escalation')).toEqual(['28.6%', '2 of 7']);
    expect(cells(res.body, 'falsePositive')).toEqual(['42.9%', '3 of 7']);
    expect(cells(res.body, 'recurrence')).toEqual(['50.0%', '4 of 8']);
    const causes = [...res.body.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td>(\d+)<\/td>/g)].map((m) => [m[1], m[2], m[3]]);
    expect(causes).toEqual([['api', 'api: http # from /health at &lt;time&gt;', '2'], ['db', 'db unhealthy: &lt;value&gt; took # ms', '2'], ['web', 'web-# exited with code 137', '2']]);
    expect(res.body).toContain('$0.0410 in 4 calls (10000 input, 650 output tokens)');
  });

  it('narrows the window with since, and names a bad one without drawing figures', async () => {
    const g = await gateway();
    seedReportHistory(g.rt.db, new Date(), g.rt.audit);
    const client = await viewer(g);
    const week = await client.get('/console/report?since=16d');
    expect(week.status).toBe(200);
    expect(week.body).toMatch(/<strong>2<\/strong> \(open 1, resolved 1, escalated 0\)/); // F and I
    expect(week.body).toContain('value="16d"');
    const cases: Array<[string, RegExp]> = [
      ['since=yesterday', /since: &quot;yesterday&quot; is neither an ISO time/],
      ['since=2999-01-01T00:00Z', /since: &quot;2999-01-01T00:00Z&quot; is in the future/],
      ['since=1d&since=2d', /since: given 2 times/],
      [`since=${'9'.repeat(300)}`, /since: over 200 characters/],
      [`since=${encodeURIComponent(XSS)}`, /since: &quot;&lt;script&gt;alert\(1\)&lt;\/script&gt;/],
    ];
    for (const [query, message] of cases) {
      const res = await client.get(`/console/report?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body, query).toMatch(message);
      expect(res.body, query).not.toContain('id="report-durations"');
      expect(res.body, query).not.toContain('<script>alert');
    }
  });

  it('escapes services and causes from alerts', async () => {
    const g = await gateway();
    const store = new IncidentStore(g.rt.db);
    const where = { target: null, host: null, container: null, service: XSS };
    for (const n of [1, 2]) store.create(alert({ fingerprint: `x:${n}`, summary: `${XSS} failed ${n} times` }), where);
    const client = await viewer(g, 'operator');
    const res = await client.get('/console/report');
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('<script>alert');
    expect(res.body).not.toContain('<img src=x');
    expect(res.body).toContain('<td>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</td>');
    expect(res.body).toContain('&lt;script&gt;alert(#)&lt;/script&gt;&lt;img src=x onerror=alert(#)&gt; failed # times');
  });

  it('says there is nothing to count rather than dividing by zero', async () => {
    const g = await gateway();
    const client = await viewer(g);
    const res = await client.get('/console/report');
    expect(res.status).toBe(200);
    expect(cells(res.body, 'mttd')).toEqual(['-', '-', '-', '0']);
    expect(cells(res.body, 'autoFix')).toEqual(['-', '0 of 0']);
    expect(res.body).toContain('No cause was seen twice on one service.');
    expect(res.body).not.toMatch(/NaN|Infinity/);
  });
});
