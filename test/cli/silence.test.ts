// `warden silence add | list | remove` as a user runs it: audited changes, bad flags exit 2 naming
// the flag and leave nothing written.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDirEnv, warden } from '../support/cli.js';
import { tempDir } from '../support/processes.js';

interface Listed {
  id: string;
  status: string;
  endsAt: string;
  reason: string;
  createdBy: string;
  removedBy: string | null;
  matchers: Array<{ name: string; op: string; value: string }>;
}

function world() {
  const dir = tempDir('silence');
  const env = dataDirEnv(dir);
  const list = (...flags: string[]) => JSON.parse(warden(['silence', 'list', '--json', ...flags], env).stdout) as Listed[];
  const audit = () => JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<{ tool: string; principal: string; target: string; phase: string }>;
  return { dir, env, list, audit };
}

describe('warden silence', () => {
  it('adds, lists and removes a silence, auditing both changes', () => {
    const w = world();
    const add = warden(['silence', 'add', '--target', 'web-*', '--service', 'web', '--for', '2h', '--reason', 'deploy', '--by', 'alice', '--json'], w.env);
    expect(add.status, add.stderr).toBe(0);
    const s = JSON.parse(add.stdout) as Listed;
    expect(s.matchers).toEqual([{ name: 'target', op: '=~', value: '(?:.*/)?web-[^/]*' }, { name: 'service', op: '=', value: 'web' }]);
    const hours = (Date.parse(s.endsAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThanOrEqual(2);
    expect(w.list()).toEqual([expect.objectContaining({ id: s.id, status: 'active', reason: 'deploy', createdBy: 'alice' })]);

    const text = warden(['silence', 'list'], w.env);
    expect(text.stdout).toMatch(new RegExp(`^${s.id}  active  ${s.endsAt}  alice  \\{target=~"\\(\\?:\\.\\*/\\)\\?web-\\[\\^/\\]\\*", service="web"\\}  deploy$`, 'm'));

    const removed = warden(['silence', 'remove', s.id, '--by', 'bob'], w.env);
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`silence ${s.id} removed\n`);
    expect(w.list()).toEqual([]);
    expect(warden(['silence', 'list'], w.env).stdout).toBe('no active silences\n');
    expect(w.list('--all')).toEqual([expect.objectContaining({ id: s.id, status: 'removed', removedBy: 'bob' })]);
    expect(w.audit().filter((e) => e.tool.startsWith('silence.')).map((e) => [e.tool, e.principal, e.phase])).toEqual([
      ['silence.add', 'alice', 'completed'], ['silence.remove', 'bob', 'completed'],
    ]);
    expect(warden(['audit', 'verify'], w.env).status).toBe(0);
  });

  it('takes raw matchers and an end time', () => {
    const w = world();
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const add = warden(['silence', 'add', '--match', 'alertname=~"Disk.*"', '--match', 'env!=dev', '--until', until, '--reason', 'r'], w.env);
    expect(add.status, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^silence sil_\S+ until .*: \{alertname=~"Disk\.\*", env!="dev"\}\n$/);
    expect(w.list()[0]).toMatchObject({ endsAt: until, matchers: [{ name: 'alertname', op: '=~', value: 'Disk.*' }, { name: 'env', op: '!=', value: 'dev' }] });
  });

  it('refuses to remove a silence that is not active, exit 1', () => {
    const w = world();
    // Against a data dir without a database it fails naming the path (test/cli/first-day.test.ts).
    expect(warden(['killswitch', 'off'], w.env).status).toBe(0);
    const r = warden(['silence', 'remove', 'sil_nope'], w.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no active silence sil_nope/);
  });

  it.each([
    [['--for', '2h', '--reason', 'r'], /one of --target, --service or --match is required/],
    [['--service', 'web', '--reason', 'r'], /one of --for or --until is required/],
    [['--service', 'web', '--for', '2h'], /required option '--reason <text>'/],
    [['--service', 'web', '--for', '2h', '--reason', ' '], /--reason: a silence needs a reason/],
    [['--service', 'web', '--for', '2h', '--until', '2030-01-01T00:00:00Z', '--reason', 'r'], /--for <duration>' cannot be used with option '--until/],
    [['--service', 'web', '--for', '0h', '--reason', 'r'], /--for "0h": must be longer than zero/],
    [['--service', 'web', '--for', '-2h', '--reason', 'r'], /--for "-2h": expected a duration/],
    [['--service', 'web', '--for', '31d', '--reason', 'r'], /--for "31d": a silence lasts at most 30 days/],
    [['--service', 'web', '--until', '2020-01-01T00:00:00Z', '--reason', 'r'], /--until "2020-01-01T00:00:00Z": must be in the future/],
    [['--service', 'web', '--until', '2030-01-01T00:00:00', '--reason', 'r'], /--until "2030-01-01T00:00:00": expected an ISO 8601 time with a zone/],
    [['--service', 'web', '--until', '2099-01-01T00:00:00Z', '--reason', 'r'], /--until .*at most 30 days/],
    [['--match', 'alertname=~(', '--for', '2h', '--reason', 'r'], /--match alertname=~: not a regular expression warden runs/],
    [['--match', 'alertname', '--for', '2h', '--reason', 'r'], /--match "alertname" is not a matcher/],
    [['--match', 'env=~.*', '--for', '2h', '--reason', 'r'], /--target, --service or --match: \{env=~".\*"\} matches alerts without any labels/],
    [['--target', '*', '--for', '2h', '--reason', 'r'], /matches alerts without any labels/],
    [['--service', '', '--for', '2h', '--reason', 'r'], /--service: expected a service name/],
  ])('add %j exits 2 naming the flag, and writes nothing', (flags, why) => {
    const dir = tempDir('silence');
    const r = warden(['silence', 'add', ...flags], dataDirEnv(dir));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('is listed in --help', () => {
    expect(warden(['--help']).stdout).toMatch(/^ {2}silence\b/m);
    expect(warden(['silence', '--help']).stdout).toMatch(/add \[options\][\s\S]*list \[options\][\s\S]*remove \[options\] <id>/);
  });
});
