// `warden report`'s figures on /metrics: the seeded history's numbers from the gateway's own
// runtime, read at most once a minute, and absent (not a failed scrape) when the read fails.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/server/metrics.js';
import { REPORT_METRICS_MAX_INCIDENTS, REPORT_METRICS_WINDOW_MS } from '../../src/server/report-metrics.js';
import { ApprovalStore } from '../../src/store/approvals.js';
import { openDb, type Db } from '../../src/store/db.js';
import { incidentReport, type IncidentReport } from '../../src/store/incident-report.js';
import { request, useGateways } from '../support/http-gateway.js';
import { tempDir } from '../support/processes.js';
import { seedReportHistory } from '../support/report-history.js';

const gateway = useGateways();
const opened: Db[] = [];
afterEach(() => { for (const db of opened.splice(0)) db.close(); });

/** `name{labels} value` lines of one metric family. */
const family = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('report metrics', () => {
  it('serves the figures of the last 30 days on /metrics', async () => {
    const g = await gateway();
    seedReportHistory(g.rt.db, new Date(), g.rt.audit);
    const res = await request(g.url, '/metrics', { token: g.token('prom', 'readonly') });
    expect(res.status).toBe(200);
    // Worked out in test/support/report-history.ts.
    expect(family(res.body, 'warden_incidents')).toEqual([
      'warden_incidents{state="opened"} 8', 'warden_incidents{state="open"} 1', 'warden_incidents{state="closed"} 7',
      'warden_incidents{state="resolved"} 5', 'warden_incidents{state="escalated"} 2',
    ]);
    expect(family(res.body, 'warden_incidents_mttd_seconds')).toEqual([
      'warden_incidents_mttd_seconds{stat="mean"} 37.5', 'warden_incidents_mttd_seconds{stat="median"} 20', 'warden_incidents_mttd_seconds{stat="p90"} 90',
    ]);
    expect(family(res.body, 'warden_incidents_mttr_seconds')).toEqual([
      'warden_incidents_mttr_seconds{stage="running",stat="mean"} 126.667', 'warden_incidents_mttr_seconds{stage="running",stat="median"} 60',
      'warden_incidents_mttr_seconds{stage="running",stat="p90"} 252', 'warden_incidents_mttr_seconds{stage="resolved",stat="mean"} 96',
      'warden_incidents_mttr_seconds{stage="resolved",stat="median"} 45', 'warden_incidents_mttr_seconds{stage="resolved",stat="p90"} 228',
    ]);
    expect(family(res.body, 'warden_incidents_ratio')).toEqual([
      'warden_incidents_ratio{figure="auto_fix"} 0.5714', 'warden_incidents_ratio{figure="escalation"} 0.2857',
      'warden_incidents_ratio{figure="false_positive"} 0.4286', 'warden_incidents_ratio{figure="recurrence"} 0.5',
    ]);
    expect(family(res.body, 'warden_incidents_counted')).toEqual([
      'warden_incidents_counted{figure="auto_fix"} 4', 'warden_incidents_counted{figure="escalation"} 2', 'warden_incidents_counted{figure="false_positive"} 3',
      'warden_incidents_counted{figure="recurrence"} 4', 'warden_incidents_counted{figure="mttd"} 6', 'warden_incidents_counted{figure="mttr_running"} 3',
      'warden_incidents_counted{figure="mttr_resolved"} 5',
    ]);
    expect(family(res.body, 'warden_model_spend_usd')).toEqual(['warden_model_spend_usd{model="claude-sonnet"} 0.04', 'warden_model_spend_usd{model="claude-haiku"} 0.001']);
    expect(family(res.body, 'warden_model_calls')).toEqual(['warden_model_calls{model="claude-sonnet"} 3', 'warden_model_calls{model="claude-haiku"} 1']);
  });

  it('reads the report at most once a minute, over a fixed 30-day window', async () => {
    const db = openDb(join(tempDir('report-metrics'), 'data'));
    opened.push(db);
    const asked: string[] = [];
    const now = Date.now();
    const metrics = createMetrics(new ApprovalStore(db), [], undefined, {
      breakers: () => [], safeMode: () => false,
      report: (since, maxIncidents) => { asked.push(`${since} ${maxIncidents}`); return incidentReport(db, { since, maxIncidents }); },
    });
    await metrics.render();
    await metrics.render();
    expect(asked).toHaveLength(1);
    const [since, max] = asked[0]!.split(' ');
    expect(Math.abs(Date.parse(since!) - (now - REPORT_METRICS_WINDOW_MS))).toBeLessThan(60_000);
    expect(Number(max)).toBe(REPORT_METRICS_MAX_INCIDENTS);
    // Nothing to count: the counts are 0 and the rates and durations absent, never NaN.
    const text = await metrics.render();
    expect(family(text, 'warden_incidents')).toContain('warden_incidents{state="opened"} 0');
    expect(family(text, 'warden_incidents_ratio')).toEqual([]);
    expect(family(text, 'warden_incidents_mttd_seconds')).toEqual([]);
    expect(text).not.toMatch(/NaN/);
  });

  it('leaves the report gauges absent when the database cannot be read, and still scrapes', async () => {
    const db = openDb(join(tempDir('report-metrics'), 'data'));
    opened.push(db);
    const metrics = createMetrics(new ApprovalStore(db), [], undefined, {
      breakers: () => [], safeMode: () => false,
      report: (): IncidentReport => { throw new Error('SQLITE_CORRUPT: database disk image is malformed'); },
    });
    const text = await metrics.render();
    expect(family(text, 'warden_incidents')).toEqual([]);
    expect(text).toContain('warden_loop_safe_mode 0');
  });
});
