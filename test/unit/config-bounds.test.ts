// Durations in the config and policy files that become times warden stores or compares as text
// (retention cutoffs, a limit's window start) or timers (a call's deadline, a session's idle end):
// bounded, so a typo is refused at load, naming the field, instead of a cutoff that is no date at
// all, one with a year outside 0000-9999, or a Node timer that overflows and fires at once.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parsePolicy } from '../../src/policy/policy-file.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';
import { tempDir } from '../support/processes.js';

function configWith(yaml: string) {
  const dir = tempDir('config');
  writeFileSync(join(dir, 'warden.yaml'), yaml);
  return () => loadConfig({}, {}, dir);
}

describe('config durations', () => {
  it.each([
    ['retention:\n  alertsDays: 36501\n', /retention\.alertsDays/],
    ['retention:\n  incidentsDays: 1e300\n', /retention\.incidentsDays/],
    ['retention:\n  outboxDays: 99999999\n', /retention\.outboxDays/],
    ['retention:\n  auditArchiveDays: 36501\n', /retention\.auditArchiveDays/],
    ['tools:\n  callTimeoutMs: 2147483648\n', /tools\.callTimeoutMs/],
    ['server:\n  sessionIdleMinutes: 10081\n', /server\.sessionIdleMinutes/],
  ])('refuses %j, naming the field', (yaml, field) => {
    expect(configWith(yaml)).toThrow(field);
  });

  it('accepts the longest of each', () => {
    const c = configWith('retention: { alertsDays: 36500, incidentsDays: 36500, outboxDays: 36500, auditArchiveDays: 36500 }\ntools: { callTimeoutMs: 86400000 }\nserver: { sessionIdleMinutes: 10080 }\n')();
    expect([c.retention.alertsDays, c.tools.callTimeoutMs, c.server.sessionIdleMinutes]).toEqual([36_500, 86_400_000, 10_080]);
  });
});

describe('policy limit windows', () => {
  const limit = (minutes: number) => `limits:\n  - { tool: restart_container, max: 1, windowMinutes: ${minutes} }\n`;
  it('accepts a window of up to a year and refuses a longer one, naming the field', () => {
    expect(parsePolicy(limit(366 * 24 * 60), 'test', DEFAULT_DECISION).limits[0]?.windowMs).toBe(366 * 86_400_000);
    expect(() => parsePolicy(limit(1e12), 'test', DEFAULT_DECISION)).toThrow(/windowMinutes/);
  });
});
