// `warden report`'s figures on a real SQLite file: a seeded history (test/support/report-history.ts,
// every figure worked out by hand there) gives exactly the expected numbers; an empty window gives
// nulls, never a division by zero; a huge history is read only up to its cap, through indexes.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { incidentReport } from '../../src/store/incident-report.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { durationFigure, normaliseCause, quantile, rateFigure, recurringIds, recurringPatterns, type CauseRow } from '../../src/store/report-figures.js';
import { alert } from '../support/incidents.js';
import { REPORT_EXPECTED, seedReportHistory } from '../support/report-history.js';
import { tempDir } from '../support/processes.js';

const NOW = new Date('2026-11-30T00:00:00.000Z');
const SINCE = new Date(NOW.getTime() - 30 * 86_400_000).toISOString();
const opened: Db[] = [];
afterEach(() => { for (const db of opened.splice(0)) db.close(); });
const fresh = (): Db => {
  const db = openDb(join(tempDir('report'), 'data'));
  opened.push(db);
  return db;
};

describe('incidentReport on a seeded history', () => {
  it('gives the hand-computed figures exactly', () => {
    const db = fresh();
    const ids = seedReportHistory(db, NOW);
    const r = incidentReport(db, { since: SINCE, now: NOW });
    expect(r.since).toBe(SINCE);
    expect(r.until).toBe(NOW.toISOString());
    expect(r.capped).toBe(false);
    expect(r.incidents).toEqual(REPORT_EXPECTED.incidents);
    expect(r.mttd).toEqual(REPORT_EXPECTED.mttd);
    expect(r.mttrRunning).toEqual(REPORT_EXPECTED.mttrRunning);
    expect(r.mttrResolved).toEqual(REPORT_EXPECTED.mttrResolved);
    expect(r.autoFix).toEqual(REPORT_EXPECTED.autoFix);
    expect(r.escalation).toEqual(REPORT_EXPECTED.escalation);
    expect(r.falsePositive).toEqual(REPORT_EXPECTED.falsePositive);
    expect(r.recurrence).toEqual(REPORT_EXPECTED.recurrence);
    expect(r.patterns).toEqual([
      { ...REPORT_EXPECTED.patterns[0], lastSeen: new Date(NOW.getTime() - 15 * 86_400_000).toISOString(), example: ids.F },
      { ...REPORT_EXPECTED.patterns[1], lastSeen: new Date(NOW.getTime() - 18 * 86_400_000).toISOString(), example: ids.D },
      { ...REPORT_EXPECTED.patterns[2], lastSeen: new Date(NOW.getTime() - 19 * 86_400_000).toISOString(), example: ids.B },
    ]);
    expect(r.modelSpend).toEqual(REPORT_EXPECTED.modelSpend);
  });

  it('leaves incidents still open out of both MTTRs but counts their detection', () => {
    const db = fresh();
    const ids = seedReportHistory(db, NOW);
    // Only F is open: a window holding F alone has its MTTD (5 s) and no MTTR, though F passed a verification.
    const r = incidentReport(db, { since: new Date(NOW.getTime() - 15 * 86_400_000 - 1).toISOString(), now: NOW });
    expect(r.incidents).toEqual({ opened: 2, open: 1, closed: 1, resolved: 1, escalated: 0 }); // F and I
    expect(r.mttd).toEqual({ count: 1, meanSeconds: 5, medianSeconds: 5, p90Seconds: 5 });
    expect(r.mttrRunning.count).toBe(0);
    expect(r.mttrResolved).toEqual({ count: 1, meanSeconds: 0, medianSeconds: 0, p90Seconds: 0 }); // I
    // F recurs on E, opened 2 days before, outside this window but inside the 7-day look-back.
    expect(r.recurrence).toEqual({ count: 1, of: 2, rate: 0.5, windowDays: 7 });
    expect(ids.F).toMatch(/^inc_/);
  });

  it('gives nulls and zero counts for a window without incidents or model calls', () => {
    const db = fresh();
    seedReportHistory(db, NOW);
    const r = incidentReport(db, { since: new Date(NOW.getTime() - 3_600_000).toISOString(), now: NOW });
    const none = { count: 0, meanSeconds: null, medianSeconds: null, p90Seconds: null };
    expect(r).toMatchObject({
      incidents: { opened: 0, open: 0, closed: 0, resolved: 0, escalated: 0 },
      mttd: none, mttrRunning: none, mttrResolved: none,
      autoFix: { count: 0, of: 0, rate: null }, escalation: { count: 0, of: 0, rate: null }, falsePositive: { count: 0, of: 0, rate: null },
      recurrence: { count: 0, of: 0, rate: null, windowDays: 7 },
      patterns: [],
      modelSpend: { calls: 0, costUsd: 0, inputTokens: 0, outputTokens: 0, byModel: [] },
      capped: false,
    });
    expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity/);
  });

  it('gives the same empty figures on a database that never had an incident', () => {
    const r = incidentReport(fresh(), { since: SINCE, now: NOW });
    expect(r.incidents.opened).toBe(0);
    expect(r.autoFix.rate).toBeNull();
  });

  it('reads a huge history only up to its cap, newest first, and says so', () => {
    const db = fresh();
    const insert = db.prepare(`INSERT INTO incidents (id, fingerprint, opened_at, updated_at, closed_at, status, source, title)
      VALUES (?, ?, ?, ?, ?, 'resolved', 'generic', ?)`);
    const base = NOW.getTime() - 86_400_000;
    db.transaction(() => {
      for (let i = 0; i < 5_000; i += 1) {
        const at = new Date(base + i * 1_000).toISOString();
        insert.run(`inc_${i}`, `fp:${i % 7}`, at, at, new Date(base + i * 1_000 + 10_000).toISOString(), `job ${i} failed on 'x${i}'`);
      }
    })();
    const r = incidentReport(db, { since: SINCE, now: NOW, maxIncidents: 1_000 });
    expect(r.capped).toBe(true);
    expect(r.incidents.opened).toBe(1_000);
    // The newest 1,000: opened from incident 4000 on.
    expect(r.coveredFrom).toBe(new Date(base + 4_000 * 1_000).toISOString());
    expect(r.mttrResolved).toEqual({ count: 1_000, meanSeconds: 10, medianSeconds: 10, p90Seconds: 10 });
    // Each has a fingerprint seen 7 s before (the look-back reaches incidents below the cap).
    expect(r.recurrence).toEqual({ count: 1_000, of: 1_000, rate: 1, windowDays: 7 });
    expect(r.patterns).toEqual([{ service: '(unknown)', cause: 'job # failed on <value>', count: 1_000, lastSeen: new Date(base + 4_999_000).toISOString(), example: 'inc_4999' }]);
  });

  it('reads every table through an index, never scanning one', () => {
    const db = fresh();
    seedReportHistory(db, NOW);
    const sqls: string[] = [];
    const prepare = db.prepare.bind(db);
    (db as unknown as { prepare: (sql: string) => unknown }).prepare = (sql: string) => { sqls.push(sql); return prepare(sql); };
    incidentReport(db, { since: SINCE, now: NOW });
    (db as unknown as { prepare: unknown }).prepare = prepare;
    expect(sqls).toHaveLength(3);
    const params = { since: SINCE, limit: 10, from: SINCE, to: SINCE };
    const plans = sqls.map((sql) => (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(Object.fromEntries(Object.entries(params).filter(([k]) => sql.includes(`@${k}`)))) as Array<{ detail: string }>).map((p) => p.detail));
    const all = plans.flat().join('\n');
    expect(all).not.toMatch(/\bSCAN (i|e|a|incidents|model_calls|audit|incident_events)\b(?! USING)/);
    expect(all).toMatch(/incidents_opened/);
    expect(all).toMatch(/incident_events_incident/);
    expect(all).toMatch(/audit_incident/);
    expect(all).toMatch(/model_calls_time/);
  });
});

describe('incidentReport on odd timelines', () => {
  const world = () => {
    const db = fresh();
    let clock = new Date('2026-11-29T10:00:00.000Z');
    const store = new IncidentStore(db, () => clock);
    return { db, store, at: (iso: string): void => { clock = new Date(iso); } };
  };
  const WHERE = (container: string) => ({ target: `local/${container}`, host: 'local', container, service: container });

  // Date.parse reads "0" as 2000-01-01 and "1" as 2001-01-01: ~26 years of MTTD from one junk start.
  // The parsers now replace such a start with the intake time; rows stored before keep theirs.
  it.each(['0', '1', 'tuesday 5', '2026-11-29', '2026-11-29T09:58:00', '2026-11-29 09:58:00Z'])(
    'leaves a stored start %j, not an ISO time with a zone, out of MTTD', (startsAt) => {
      const { db, store } = world();
      store.create(alert({ fingerprint: 'junk', startsAt, summary: 'web-1 down' }), WHERE('web-1'));
      store.create(alert({ fingerprint: 'good', startsAt: '2026-11-29T11:59:00+02:00', summary: 'web-2 down' }), WHERE('web-2'));
      // Only the good one: 60 s before the opening at 10:00Z.
      expect(incidentReport(db, { since: SINCE, now: NOW }).mttd).toEqual({ count: 1, meanSeconds: 60, medianSeconds: 60, p90Seconds: 60 });
    });

  it('does not count a passing verification recorded after the close as the time to running', () => {
    const { db, store, at } = world();
    const late = store.create(alert({ fingerprint: 'late', summary: 'web-1 down' }), WHERE('web-1'));
    const inTime = store.create(alert({ fingerprint: 'in-time', summary: 'web-2 down' }), WHERE('web-2'));
    at('2026-11-29T10:00:10.000Z');
    store.transition(late.id, 'verify', 'verifying after restart');
    store.addEvent(inTime.id, 'verify', 'verified: running', { ok: true, reason: 'running' });
    at('2026-11-29T10:00:20.000Z');
    store.transition(late.id, 'resolve', 'the source said resolved', { resolution: 'the source said resolved' });
    store.transition(inTime.id, 'resolve', 'verified', { resolution: 'restarted' });
    at('2026-11-29T10:05:00.000Z'); // the verification under way finishes after the source resolved it
    store.addEvent(late.id, 'verify', 'verified: running', { ok: true, reason: 'running' });
    const r = incidentReport(db, { since: SINCE, now: NOW });
    expect(r.mttrResolved).toEqual({ count: 2, meanSeconds: 20, medianSeconds: 20, p90Seconds: 20 });
    expect(r.mttrRunning).toEqual({ count: 1, meanSeconds: 10, medianSeconds: 10, p90Seconds: 10 });
  });

  it('counts open incidents in the patterns: a storm still open is a pattern', () => {
    const { db, store, at } = world();
    store.create(alert({ fingerprint: 'a', summary: 'web-1 exited with code 137' }), WHERE('web-1'));
    at('2026-11-29T10:01:00.000Z');
    const open = store.create(alert({ fingerprint: 'b', summary: 'web-1 exited with code 137' }), WHERE('web-1'));
    expect(incidentReport(db, { since: SINCE, now: NOW }).patterns).toEqual([
      { service: 'web-1', cause: 'web-# exited with code 137', count: 2, lastSeen: '2026-11-29T10:01:00.000Z', example: open.id },
    ]);
  });
});

describe('report figures', () => {
  it.each([
    [[10], 0.5, 10],
    [[10, 20], 0.5, 15],
    [[1, 2, 3, 4], 0.9, 3.7],
    [[0, 25, 45, 90, 320], 0.9, 228],
  ])('quantile(%j, %d) = %d', (values, p, expected) => {
    expect(quantile(values, p)).toBeCloseTo(expected, 9);
  });

  it('rounds durations to the millisecond and rates to 4 places, with counts', () => {
    expect(durationFigure([1_000, 2_000, 2_001])).toEqual({ count: 3, meanSeconds: 1.667, medianSeconds: 2, p90Seconds: 2.001 });
    expect(rateFigure(1, 3)).toEqual({ count: 1, of: 3, rate: 0.3333 });
    expect(rateFigure(0, 0)).toEqual({ count: 0, of: 0, rate: null });
  });

  it.each([
    ['web-1 exited with code 137', 'web-# exited with code 137'],
    ['web-2 exited with code 1 (3 exits within 60 s: restart storm)', 'web-# exited with code 1 (# exits within # s: restart storm)'],
    ['container 3f2a9c1b7d4e died', 'container <id> died'],
    ['task 123e4567-e89b-12d3-a456-426614174000 failed at 2026-11-23T10:00:00.123Z', 'task <id> failed at <time>'],
    ['Disk "/var/lib/docker" at 91.5%', 'disk <value> at #%'],
    ["can't reach 'db:5432' from web-1's proxy", "can't reach <value> from web-#'s proxy"],
    ['exit code 100000 from job', 'exit code # from job'],
    ['deadbeef   is   a word', 'deadbeef is a word'],
    // Only digits is a number, whatever its length; an id has a letter too, or 0x, or a hash's length.
    ['query took 1000000 ms on job 1234567', 'query took # ms on job #'],
    ['pointer 0x7ffd1234 and sha ' + '1'.repeat(40), 'pointer <id> and sha <id>'],
    ['', '(no title)'],
  ])('normalises %j', (title, cause) => {
    expect(normaliseCause(title)).toBe(cause);
  });

  it.each([
    ['db slow: query took 999999 ms', 'db slow: query took 1000000 ms'],
    ['backup job 123456 failed', 'backup job 1234567 failed'],
    ['disk usage 9876543 bytes over quota', 'disk usage 98765 bytes over quota'],
  ])('gives %j and %j one cause: a number of 7+ digits is no id', (a, b) => {
    expect(normaliseCause(a)).toBe(normaliseCause(b));
  });

  it('caps a cause at 120 characters whatever the title', () => {
    expect(normaliseCause('x'.repeat(100_000))).toHaveLength(120);
  });

  const row = (id: string, openedAt: string, over: Partial<CauseRow> = {}): CauseRow =>
    ({ id, fingerprint: `fp-${id}`, openedAt, place: `local/${id}`, service: 'svc', cause: `cause ${id}`, ...over });

  it('counts a recurrence within 7 days only, and never between incidents of the same millisecond', () => {
    const t = (d: number): string => new Date(Date.UTC(2026, 10, 1) + d * 86_400_000).toISOString();
    const found = recurringIds([
      row('a', t(0), { fingerprint: 'same' }),
      row('b', t(7), { fingerprint: 'same' }), // exactly 7 days: recurs
      row('c', t(14.5), { fingerprint: 'same' }), // 7.5 days after b: does not
      row('d', t(20), { fingerprint: 'x', place: 'p', cause: 'c1' }),
      row('e', t(20), { fingerprint: 'y', place: 'p', cause: 'c1' }), // same moment as d: not each other's earlier
      row('f', t(21), { fingerprint: 'z', place: null, cause: 'c1' }), // no place: the cause alone is no match
    ], []);
    expect([...found].sort()).toEqual(['b']);
  });

  it('lists at most 5 causes a service, the most frequent and then the newest first', () => {
    const rows: CauseRow[] = [];
    for (let c = 0; c < 7; c += 1) for (let n = 0; n < 2 + (c === 3 ? 1 : 0); n += 1) rows.push(row(`${c}-${n}`, `2026-11-0${1 + n}T00:00:0${c}.000Z`, { cause: `cause ${c}` }));
    const patterns = recurringPatterns(rows);
    expect(patterns.map((p) => [p.cause, p.count])).toEqual([['cause 3', 3], ['cause 6', 2], ['cause 5', 2], ['cause 4', 2], ['cause 2', 2]]);
  });
});
