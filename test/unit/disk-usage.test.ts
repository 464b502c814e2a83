// Disk usage of named paths: df output without the Type column (tmpfs and empty filesystems kept,
// usePercent computed to one decimal), the mount table, and the remote probe's df runs over a
// hand-written runner, including the paths df cannot read.
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/adapters/commands.js';
import { remoteMetricsProbe } from '../../src/adapters/metrics.js';
import { mountOf, parseDf, parseMounts, usePercentOf } from '../../src/adapters/metrics-parse.js';
import { FakeRunner } from '../support/fake-host.js';

const DF_PATHS = `Filesystem     1024-blocks     Used Available Capacity Mounted on
/dev/vda         264212084 23406192  82984720      23% /
tmpfs                 4096     2048      2048      50% /run/warden test
proc                     0        0         0        - /proc
`;

const BUSYBOX_PATHS = `Filesystem           1024-blocks    Used Available Capacity Mounted on
tmpfs                     4096      1024      3072  25% /dev/shm
`;

describe('parseDf for named paths', () => {
  it('keeps a tmpfs line without the Type column, with the mount point that has a space', () => {
    expect(parseDf(DF_PATHS, { named: true })[1]).toEqual({
      fs: 'tmpfs', type: '', mount: '/run/warden test', sizeBytes: 4096 * 1024, usedBytes: 2048 * 1024, availableBytes: 2048 * 1024, usePercent: 50,
    });
  });

  it('skips the header, computes usePercent to one decimal and keeps an empty filesystem at 0', () => {
    expect(parseDf(DF_PATHS, { named: true }).map((d) => [d.mount, d.usePercent])).toEqual([['/', 22], ['/run/warden test', 50], ['/proc', 0]]);
  });

  it('reads busybox df the same way', () => {
    expect(parseDf(BUSYBOX_PATHS, { named: true })).toEqual([
      { fs: 'tmpfs', type: '', mount: '/dev/shm', sizeBytes: 4096 * 1024, usedBytes: 1024 * 1024, availableBytes: 3072 * 1024, usePercent: 25 },
    ]);
  });

  it('reads the type when the header has a Type column', () => {
    const typed = 'Filesystem Type 1024-blocks Used Available Capacity Mounted on\ntmpfs tmpfs 4096 2048 2048 50% /run/warden\n';
    expect(parseDf(typed, { named: true }).map((d) => [d.fs, d.type, d.mount])).toEqual([['tmpfs', 'tmpfs', '/run/warden']]);
  });

  it.each([
    [900, 100, 90],
    [1, 2, 33.3],
    [2, 1, 66.7],
    [0, 0, 0],
  ])('usePercentOf(%i used, %i available) is %f', (used, avail, percent) => {
    expect(usePercentOf(used, avail)).toBe(percent);
  });
});

describe('mount table', () => {
  const mounts = parseMounts([
    '/dev/vda / ext4 rw,relatime 0 0',
    'tmpfs /run tmpfs rw 0 0',
    'tmpfs /run/warden\\040test tmpfs rw,size=4096k 0 0',
    'tmpfs /run/warden\\040test tmpfs rw,size=8192k 0 0',
    'proc /proc proc rw 0 0',
  ].join('\n'));

  it('decodes octal escapes in mount points', () => {
    expect(mounts[2]).toEqual({ fs: 'tmpfs', mount: '/run/warden test', type: 'tmpfs' });
  });

  it.each([
    ['/run/warden test/data', '/run/warden test'],
    ['/run/warden testing', '/run'],
    ['/run', '/run'],
    ['/var/lib', '/'],
  ])('puts %s on %s', (path, mount) => {
    expect(mountOf(path, mounts)?.mount).toBe(mount);
  });

  it('takes the last of several mounts on one point, the one on top', () => {
    expect(mountOf('/run/warden test', mounts)).toBe(mounts[3]);
  });
});

const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '', truncated: false });
const HEADER = 'Filesystem     1024-blocks     Used Available Capacity Mounted on\n';
const ROWS: Record<string, string> = {
  '/': '/dev/vda         264212084 23406192  82984720      23% /\n',
  '/srv/data': '/dev/vdb             1000      900       100      90% /srv\n',
};

/** df as GNU runs it: a line per readable path, in order; exit 1 and a complaint for the others. */
function dfRunner(): FakeRunner {
  const runner = new FakeRunner();
  runner.answer = (argv) => {
    if (argv.slice(0, 4).join(' ') !== 'df -P -k --') return { exitCode: 127, stdout: '', stderr: 'not found\n', truncated: false };
    const paths = argv.slice(4);
    const missing = paths.filter((p) => !ROWS[p]);
    const out = HEADER + paths.map((p) => ROWS[p] ?? '').join('');
    return missing.length ? { exitCode: 1, stdout: out, stderr: missing.map((p) => `df: ${p}: No such file or directory\n`).join(''), truncated: false } : ok(out);
  };
  return runner;
}

describe('remote diskUsage', () => {
  it('runs one fixed df for all paths and keeps their order, duplicates included', async () => {
    const runner = dfRunner();
    const got = await remoteMetricsProbe(runner).diskUsage(['/srv/data', '/', '/srv/data']);
    expect(got.map((d) => [d.path, d.mount, d.usePercent])).toEqual([['/srv/data', '/srv', 90], ['/', '/', 22], ['/srv/data', '/srv', 90]]);
    expect(runner.calls).toEqual([['df', '-P', '-k', '--', '/srv/data', '/']]);
  });

  it('leaves out a path that does not exist, asking df about each path on its own to tell which', async () => {
    const runner = dfRunner();
    const got = await remoteMetricsProbe(runner).diskUsage(['/gone', '/', '/srv/data']);
    expect(got.map((d) => d.path)).toEqual(['/', '/srv/data']);
    expect(runner.calls.slice(1)).toEqual([['df', '-P', '-k', '--', '/gone'], ['df', '-P', '-k', '--', '/'], ['df', '-P', '-k', '--', '/srv/data']]);
  });

  it('fails when df cannot run, rather than reporting every path missing', async () => {
    const runner = new FakeRunner();
    await expect(remoteMetricsProbe(runner).diskUsage(['/'])).rejects.toMatchObject({ kind: 'target_failed', message: 'df on host local exited 127' });
  });

  it.each(['relative/path', '/a\nb'])('refuses %j without running anything', async (path) => {
    const runner = dfRunner();
    await expect(remoteMetricsProbe(runner).diskUsage([path])).rejects.toMatchObject({ kind: 'invalid_input' });
    expect(runner.calls).toEqual([]);
  });
});
