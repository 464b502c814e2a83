// Reading Docker's Status text: every text go-units' HumanDuration writes for a duration (both its
// rounding and its older truncating hours) must give a range holding that duration.
import { describe, expect, it } from 'vitest';
import { humanDurationRange, parseExitCode, parseHealth, statusAge } from '../../src/adapters/docker-status.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** go-units HumanDuration since 0.5 (hours rounded, "1 second"), as Docker 24 on writes it. */
function humanNow(ms: number): string {
  const seconds = Math.trunc(ms / S);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / M);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / H);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / H) / 24 / 365)} years`;
}

/** The older HumanDuration: hours truncated, "1 seconds", months from 3 months on. */
function humanOld(ms: number): string {
  const seconds = Math.trunc(ms / S);
  if (seconds < 1) return 'Less than a second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / M);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / H);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 3) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(hours / 24 / 365)} years`;
}

/** Durations around every boundary the two functions have, and a spread between. */
function samples(): number[] {
  const out: number[] = [];
  const edges = [S, M, 2 * M, H, 1.5 * H, 2 * H, 2.5 * H, 47.5 * H, 48 * H, 14 * D, 60 * D, 90 * D, 730 * D, 1095 * D];
  for (const e of edges) for (const d of [-1, 0, 1, 999, 1000]) out.push(Math.max(0, e + d));
  for (let ms = 0; ms < 4 * 365 * D; ms = ms * 1.013 + 137) out.push(Math.floor(ms));
  return out;
}

describe('humanDurationRange', () => {
  it.each([
    ['Less than a second', 0, S], ['1 second', S, 2 * S], ['59 seconds', 59 * S, 60 * S], ['About a minute', M, 2 * M],
    ['35 minutes', 35 * M, 36 * M], ['About an hour', H, 2 * H], ['2 hours', 1.5 * H, 3 * H], ['13 days', 13 * D - H / 2, 14 * D],
    ['2 weeks', 14 * D - H / 2, 21 * D], ['3 months', 90 * D - H / 2, 120 * D], ['2 years', 730 * D, 1095 * D],
  ])('reads "%s" as [%d, %d) ms', (text, atLeastMs, underMs) => {
    expect(humanDurationRange(text)).toEqual({ atLeastMs, underMs });
  });

  it('holds every duration that go-units, old or new, writes as the text', () => {
    const misses: string[] = [];
    for (const ms of samples()) {
      for (const text of [humanNow(ms), humanOld(ms)]) {
        const r = humanDurationRange(text);
        if (!r || ms < r.atLeastMs || ms >= r.underMs) misses.push(`${ms} ms as "${text}": ${JSON.stringify(r)}`);
      }
    }
    expect(misses.slice(0, 5)).toEqual([]);
  });

  it.each(['', 'a minute', 'About a second', '2 fortnights', '-3 seconds', '1.5 hours', '1234567890 years', ' 2 hours', '2  hours'])(
    'does not read "%s"', (text) => {
      expect(humanDurationRange(text)).toBeUndefined();
    });
});

describe('statusAge', () => {
  it.each([
    ['Up 2 hours', 'start'], ['Up Less than a second', 'start'], ['Up 3 seconds (healthy)', 'start'], ['Up 1 second (health: starting)', 'start'],
    ['Up 5 minutes (unhealthy)', 'start'], ['Up 2 weeks (Paused)', 'start'], ['Exited (1) 3 minutes ago', 'finish'],
    ['Exited (-1) About an hour ago', 'finish'], ['Exited (137) 2 years ago', 'finish'], ['Restarting (1) 2 seconds ago', 'finish'],
    ['Created', 'none'], ['Dead', 'none'], ['Removal In Progress', 'none'],
  ])('reads "%s" as dating the %s', (status, since) => {
    expect(statusAge(status)?.since).toBe(since);
  });

  it('gives the duration range of the text', () => {
    expect(statusAge('Up 59 seconds (healthy)')).toEqual({ since: 'start', atLeastMs: 59 * S, underMs: 60 * S });
    expect(statusAge('Exited (0) About a minute ago')).toEqual({ since: 'finish', atLeastMs: M, underMs: 2 * M });
  });

  it.each(['', 'Up', 'Up for a while', 'Exited (1)', 'Exited 3 minutes ago', 'Exited (x) 3 minutes ago', 'created', 'Up 2 hours (healthy) extra',
    'Paused', `Up ${'9'.repeat(200)} seconds`, `Up 2 hours (${'a'.repeat(150)})`])('does not read "%s"', (status) => {
    expect(statusAge(status)).toBeUndefined();
  });
});

describe('parseExitCode and parseHealth', () => {
  it('read the exit code of an exited row only', () => {
    expect([parseExitCode('Exited (3) 2 seconds ago'), parseExitCode('Restarting (3) 2 seconds ago'), parseExitCode('Up 2 hours')]).toEqual([3, null, null]);
  });

  it('read the health suffix', () => {
    expect(['Up 1 second (health: starting)', 'Up 2 hours (unhealthy)', 'Up 2 hours (healthy)', 'Up 2 hours'].map(parseHealth))
      .toEqual(['starting', 'unhealthy', 'healthy', null]);
  });
});
