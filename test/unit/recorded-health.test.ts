// `warden status` judges each watch's last row against how often `warden serve` runs it: the
// watchdog every 30 s (stale after 3 minutes), retention every 6 h (stale after 13 h). A stale
// pass is a warning naming when it last ran (serve may simply not be running), never "ok"; a
// failed pass stays a problem; the configured heartbeat keeps its own rule (stale is a problem).
import { describe, expect, it } from 'vitest';
import { recordedChecks, type RecordedHealth } from '../../src/commands/recorded-health.js';
import type { WatchRow } from '../../src/store/health-states.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function health(watches: WatchRow[]): RecordedHealth {
  return {
    killSwitch: { on: false, reason: null, by: null, at: null },
    safeMode: { on: false, reason: null, evidence: null, by: null, at: null },
    breakers: [],
    watches,
    outbox: { pending: 0, oldestPending: null, failed: 0, lastFailure: null },
    incidents: {},
    approvals: { pending: 0 },
    monitors: { down: [], firing: [] },
  };
}

const row = (name: string, agoMs: number, now: Date, ok = true, detail = 'nothing stuck'): WatchRow =>
  ({ name, at: new Date(now.getTime() - agoMs).toISOString(), ok, detail, updatedBy: 'box:42' });

function watch(name: string, rows: WatchRow[], now: Date, heartbeatSeconds?: number) {
  return recordedChecks(health(rows), heartbeatSeconds, now).find((c) => c.name === `watch ${name}`);
}

describe('status and the age of each watch', () => {
  const now = new Date('2025-06-01T12:00:00Z');

  it('warns of a watchdog pass from two days ago, naming when it last ran, and fails nothing', () => {
    const checks = recordedChecks(health([row('watchdog', 2 * 24 * HOUR, now)]), undefined, now);
    const watchdog = checks.find((c) => c.name === 'watch watchdog');
    expect(watchdog).toEqual({
      name: 'watch watchdog',
      level: 'warn',
      detail: 'stale: last ran 2d ago (nothing stuck), expected every 30s: is `warden serve` running with the loop on?',
    });
    expect(checks.filter((c) => c.level === 'fail')).toEqual([]);
  });

  it('calls a recent watchdog pass ok, and one older than 3 minutes stale', () => {
    expect(watch('watchdog', [row('watchdog', 20_000, now)], now)).toMatchObject({ level: 'ok', detail: 'ok 20s ago: nothing stuck' });
    expect(watch('watchdog', [row('watchdog', 3 * MIN, now)], now)?.level).toBe('ok');
    expect(watch('watchdog', [row('watchdog', 3 * MIN + 1_000, now)], now)?.level).toBe('warn');
  });

  it('gives retention, run every 6 h, 13 h before its pass is stale', () => {
    expect(watch('retention', [row('retention', 7 * HOUR, now, true, 'pruned 12 rows')], now)).toMatchObject({ level: 'ok', detail: 'ok 7h ago: pruned 12 rows' });
    expect(watch('retention', [row('retention', 13 * HOUR, now)], now)?.level).toBe('ok');
    expect(watch('retention', [row('retention', 13 * HOUR + MIN, now, true, 'pruned 12 rows')], now)).toEqual({
      name: 'watch retention',
      level: 'warn',
      detail: 'stale: last ran 13h1m ago (pruned 12 rows), expected every 6h: is `warden serve` running?',
    });
  });

  it('keeps a failed pass a problem however old it is', () => {
    expect(watch('watchdog', [row('watchdog', 2 * 24 * HOUR, now, false, 'could not move on i-1')], now))
      .toEqual({ name: 'watch watchdog', level: 'fail', detail: 'failed 2d ago: could not move on i-1' });
    expect(watch('retention', [row('retention', 10 * MIN, now, false, 'database is locked')], now)?.level).toBe('fail');
  });

  it('leaves the heartbeat to its own rule: ok without loop.heartbeat, stale after 3 missed beats a problem', () => {
    const beat = [row('heartbeat', 2 * 24 * HOUR, now, true, 'pushed')];
    expect(watch('heartbeat', beat, now)?.level).toBe('ok');
    expect(watch('heartbeat', [row('heartbeat', 2 * MIN, now, true, 'pushed')], now, 60)?.level).toBe('ok');
    expect(watch('heartbeat', beat, now, 60)).toMatchObject({ level: 'fail', detail: expect.stringMatching(/^stale: last 2d ago, expected every 60s: is `warden serve` running\?$/) });
  });

  it('does not judge a watch it does not know the cadence of', () => {
    expect(watch('other', [row('other', 30 * 24 * HOUR, now, true, 'fine')], now)?.level).toBe('ok');
  });
});
