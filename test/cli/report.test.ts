// `warden report` as a user runs it: the built command on a real database holding the seeded
// history (test/support/report-history.ts works out every figure), as a table and as JSON; bad
// --since exits 2 naming the flag, and a data dir without a database exits 1 creating nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { tempDir } from '../support/processes.js';
import { REPORT_EXPECTED, seedReportHistory } from '../support/report-history.js';

function seeded(): { env: NodeJS.ProcessEnv; ids: ReturnType<typeof seedReportHistory> } {
  const env = dataDirEnv(tempDir('cli-report'));
  const db = openDb(env.WARDEN_DATA_DIR!);
  try {
    return { env, ids: seedReportHistory(db, new Date()) };
  } finally {
    db.close();
  }
}

describe('warden report', () => {
  it('prints the figures of the last 30 days as JSON with the expected numbers', () => {
    const { env, ids } = seeded();
    const r = warden(['report', '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    const { patterns, ...figures } = REPORT_EXPECTED;
    expect(json).toMatchObject(figures);
    expect(json.patterns).toEqual(patterns.map((p, i) => ({ ...p, lastSeen: expect.any(String), example: [ids.F, ids.D, ids.B][i] })));
    expect(json.capped).toBe(false);
    expect(Date.parse(json.until as string) - Date.parse(json.since as string)).toBe(30 * 86_400_000);
  });

  it('prints a readable table of the same figures', () => {
    const { env, ids } = seeded();
    const r = warden(['report'], env);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^Incidents opened since \S+ \S+ \(30d\): 8 \(open 1, resolved 5, escalated 2\)$/);
    expect(r.stdout).toMatch(/^DURATION\s+MEAN\s+MEDIAN\s+P90\s+INCIDENTS$/m);
    expect(r.stdout).toMatch(/^MTTD\s+37\.5s\s+20s\s+1m30s\s+6$/m);
    expect(r.stdout).toMatch(/^MTTR to running\s+2m7s\s+1m\s+4m12s\s+3$/m);
    expect(r.stdout).toMatch(/^MTTR to resolved\s+1m36s\s+45s\s+3m48s\s+5$/m);
    expect(r.stdout).toMatch(/^auto-fix\s+57\.1%\s+4 of 7$/m);
    expect(r.stdout).toMatch(/^escalation\s+28\.6%\s+2 of 7$/m);
    expect(r.stdout).toMatch(/^false positive\s+42\.9%\s+3 of 7$/m);
    expect(r.stdout).toMatch(/^recurrence \(7d\)\s+50\.0%\s+4 of 8$/m);
    expect(r.stdout).toMatch(/^Model spend: \$0\.0410 in 4 calls \(10000 input, 650 output tokens\)$/m);
    expect(r.stdout).toMatch(/^claude-sonnet\s+3\s+\$0\.0400$/m);
    expect(r.stdout).toMatch(new RegExp(`^web\\s+2\\s+\\S+ \\S+\\s+${ids.B}\\s+web-# exited with code 137$`, 'm'));
  });

  it('narrows the window with --since', () => {
    const { env } = seeded();
    const json = JSON.parse(warden(['report', '--since', '16d', '--json'], env).stdout) as { incidents: unknown; mttrRunning: { count: number } };
    expect(json.incidents).toEqual({ opened: 2, open: 1, closed: 1, resolved: 1, escalated: 0 });
    expect(json.mttrRunning.count).toBe(0); // F passed a verification but is still open
    const empty = warden(['report', '--since', '1h'], env);
    expect(empty.status).toBe(0);
    expect(empty.stdout).toMatch(/^MTTD\s+-\s+-\s+-\s+0$/m);
    expect(empty.stdout).toMatch(/^auto-fix\s+-\s+0 of 0$/m);
    expect(empty.stdout).toContain('No recurring causes');
  });

  it.each([
    ['yesterday', /--since "yesterday": expected a duration back from now/],
    ['-3d', /--since "-3d": expected a duration/],
    ['99999999d', /--since "99999999d": expected a duration/],
    ['2999-01-01T00:00Z', /--since "2999-01-01T00:00Z": that is in the future/],
    // A duration in its first 200 characters only: refused, never cut to what they spell.
    [`${'1d'.repeat(100)}garbage`, /--since: over 200 characters/],
  ])('refuses --since %s with exit 2 naming the flag', (since, message) => {
    const { env } = seeded();
    const r = warden(['report', '--since', since], env);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('exits 1 naming the path where there is no database, creating nothing', () => {
    const env = dataDirEnv(tempDir('cli-report-none'));
    const r = warden(['report'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(env.WARDEN_DATA_DIR!);
    expect(existsSync(join(env.WARDEN_DATA_DIR!, 'warden.db'))).toBe(false);
  });
});
