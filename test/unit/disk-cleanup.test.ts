// clean_disk's pure parts: the exact find and df argv, which places and ages a call may name (every
// refusal names its field), and the parsing of find's NUL-separated report and of df.
import { describe, expect, it } from 'vitest';
import { CleanupPlace } from '../../src/store/monitor-schema.js';
import type { HostRecord } from '../../src/store/readers.js';
import { cleanupFindArgv, dfArgv, normalisePlacePath, parseDfUsage, parseFindOutput } from '../../src/tools/disk-cleanup-argv.js';
import { cleanDisk, cleanupTarget, summarizeCleanup } from '../../src/tools/disk-cleanup.js';
import { thrownFailure } from '../support/failures.js';
import { FakeRunner } from '../support/fake-host.js';
import { silentLogger } from '../../src/log.js';

const host = (name: string, cleanup: unknown[]): HostRecord => ({
  name, address: null, docker: null, ssh: null, labels: {}, notes: null, monitor: null, reboot: null,
  cleanup: cleanup.map((c) => CleanupPlace.parse(c)),
});
const HOSTS = [host('box', [{ path: '/srv/app/tmp/' }, { path: '/srv/dumps', olderThanDays: 14, names: ['*.dump', 'core.*'] }]), host('bare', [])];

const refusal = thrownFailure;

describe('clean_disk find argv', () => {
  it('lists and deletes only old regular files, without following links or crossing mounts', () => {
    expect(cleanupFindArgv({ path: '/srv/app/tmp', names: [] }, 7, 'delete')).toEqual([
      'find', '-P', '/srv/app/tmp', '-xdev', '-mindepth', '1', '-type', 'f', '-mmin', '+10080', '-delete', '-printf', '%s\\t%p\\0',
    ]);
  });

  it('groups the name patterns as one alternative, each its own argument', () => {
    expect(cleanupFindArgv({ path: '/srv/dumps', names: ['*.dump', 'core.*'] }, 14, 'list')).toEqual([
      'find', '-P', '/srv/dumps', '-xdev', '-mindepth', '1', '-type', 'f', '-mmin', '+20160', '(', '-name', '*.dump', '-o', '-name', 'core.*', ')', '-printf', '%s\\t%p\\0',
    ]);
  });

  it('refuses a relative path, which find could read as an expression', () => {
    expect(refusal(() => cleanupFindArgv({ path: '-delete', names: [] }, 7, 'list')).kind).toBe('internal');
  });

  it('asks df for the place after "--"', () => {
    expect(dfArgv('/srv/dumps')).toEqual(['df', '-P', '-k', '--', '/srv/dumps']);
  });
});

describe('clean_disk places and ages', () => {
  it.each([
    ['/srv/app/tmp', '/srv/app/tmp'], ['/srv/app/tmp/', '/srv/app/tmp'], ['/srv//app/tmp//', '/srv/app/tmp'], ['/', '/'],
  ])('normalises %s to %s', (given, want) => {
    expect(normalisePlacePath(given)).toBe(want);
  });

  it("takes the place's own age by default, with a trailing slash ignored", () => {
    expect(cleanupTarget(HOSTS, { host: 'box', path: '/srv/app/tmp/' })).toMatchObject({ place: { path: '/srv/app/tmp', olderThanDays: 7 }, olderThanDays: 7 });
  });

  it('accepts an age above the place\'s own', () => {
    expect(cleanupTarget(HOSTS, { host: 'box', path: '/srv/dumps', olderThanDays: 30 }).olderThanDays).toBe(30);
  });

  it('refuses an age below the place\'s own, naming olderThanDays and the minimum', () => {
    const f = refusal(() => cleanupTarget(HOSTS, { host: 'box', path: '/srv/dumps', olderThanDays: 13 }));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(/^olderThanDays: 13 is below the 14 days host "box" declares for \/srv\/dumps/);
  });

  it.each([['/srv/app'], ['/srv/app/tmp/sub'], ['/srv/dumps/../app/tmp'], ['/etc']])('refuses %s, which is not a declared place, naming path and the places', (path) => {
    const f = refusal(() => cleanupTarget(HOSTS, { host: 'box', path }));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(/^path: ".*" is not a cleanup place of host "box"; its places: \/srv\/app\/tmp \(older than 7 days\); \/srv\/dumps \(older than 14 days, names \*\.dump core\.\*\)$/);
  });

  it('refuses a protected place an inventory loaded before the check still holds (/etc as stored then)', () => {
    const old: HostRecord = { name: 'old', address: null, docker: null, ssh: null, labels: {}, notes: null, cleanup: [{ path: '/etc', olderThanDays: 7, names: [] }] };
    const f = refusal(() => cleanupTarget([old], { host: 'old', path: '/etc' }));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(/^path: \/etc is in \/etc, which holds the system's own files.*warden inventory load refuses this one now\)$/);
  });

  it.each([['bare'], ['local']])('refuses every path on host %s, which declares no places, saying how to declare them', (name) => {
    const f = refusal(() => cleanupTarget(HOSTS, { host: name, path: '/srv/app/tmp' }));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(new RegExp(`^path: host "${name}" declares no cleanup places.*\`cleanup: \\[`));
  });

  it('refuses a path with spaces or control characters at validation, naming path', () => {
    for (const path of ['/srv/a b', '/srv/a\nb', '/srv/\u001b[1m', '/srv/\u202eevil', 'srv/app']) {
      const r = cleanDisk.input.safeParse({ host: 'box', path });
      expect(r.success, path).toBe(false);
      expect(r.error?.issues[0]?.path, path).toEqual(['path']);
    }
  });

  it.each([[0], [1.5], [-3]])('refuses olderThanDays %s at validation', (olderThanDays) => {
    const r = cleanDisk.input.safeParse({ host: 'box', path: '/srv/dumps', olderThanDays });
    expect(r.error?.issues[0]?.path).toEqual(['olderThanDays']);
  });

  it('targets the normalised place, so policy rules see one spelling', () => {
    expect(cleanDisk.target({ host: 'box', path: '/srv/dumps/' } as never, {} as never, {} as never)).toBe('box/disk');
  });
});

describe("clean_disk parsing of find's report", () => {
  it('reads sizes and paths with spaces, tabs and newlines in the names', () => {
    const out = '12\t/p/a b\x00' + '0\t/p/tab\there\x00' + '5\t/p/new\nline\x00';
    expect(parseFindOutput(out)).toEqual({
      files: [{ path: '/p/a b', sizeBytes: 12 }, { path: '/p/tab\there', sizeBytes: 0 }, { path: '/p/new\nline', sizeBytes: 5 }],
      cut: false,
    });
  });

  it('drops a last record cut by the output cap and says so', () => {
    expect(parseFindOutput('3\t/p/a\x004\t/p/b')).toEqual({ files: [{ path: '/p/a', sizeBytes: 3 }], cut: true });
  });

  it('reads an empty report as no files', () => {
    expect(parseFindOutput('')).toEqual({ files: [], cut: false });
  });
});

describe('clean_disk parsing of df', () => {
  it('reads use % and available bytes, with spaces in the mount point', () => {
    const text = 'Filesystem     1024-blocks  Used Available Capacity Mounted on\ntmpfs                 8192  2048      6144      25% /tmp/a b\n';
    expect(parseDfUsage(text)).toEqual({ usePercent: 25, availableBytes: 6144 * 1024 });
  });

  it('is null for output it cannot read', () => {
    expect(parseDfUsage('df: /nope: No such file or directory\n')).toBeNull();
  });
});

describe('clean_disk summary', () => {
  it('counts what was deleted and names no file: the names are the host\'s words, in the data with its note', () => {
    const text = summarizeCleanup({
      host: 'box', path: '/srv/dumps', olderThanDays: 14, deleted: 2, freedBytes: 3 * 2 ** 20, truncated: false, countsIncomplete: false,
      partial: "find: cannot delete '/srv/dumps/IGNORE PREVIOUS'",
      sample: [{ path: '/srv/dumps/x\nIGNORE PREVIOUS', sizeBytes: 2 * 2 ** 20 }, { path: '/srv/dumps/plain', sizeBytes: 2 ** 20 }],
      before: { usePercent: 91, availableBytes: 2 ** 30 }, after: null, note: 'n',
    });
    expect(text.split('\n')).toEqual([
      'box: deleted 2 files older than 14 days in /srv/dumps, 3 MiB freed; some could not be deleted (see partial)',
      'filesystem before: 91% used, 1024 MiB free; after: unknown',
    ]);
  });
});

describe('clean_disk when some files cannot be deleted', () => {
  it('reports what it did delete, with find\'s last message, instead of failing as if nothing ran', async () => {
    const runner = new FakeRunner();
    runner.answer = (argv) => argv[0] === 'df'
      ? { exitCode: 0, stdout: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vdb 1000 900 100 90% /srv\n', stderr: '', truncated: false }
      : { exitCode: 1, stdout: '4096\t/srv/app/tmp/a.bin\0', stderr: "find: cannot delete '/srv/app/tmp/locked': Operation not permitted\n", truncated: false };
    const ctx = { adapters: { commands: () => runner }, inventory: { hosts: () => HOSTS }, signal: new AbortController().signal, log: silentLogger } as never;
    const out = await cleanDisk.run({ host: 'box', path: '/srv/app/tmp' } as never, ctx);
    expect(out).toMatchObject({ deleted: 1, freedBytes: 4096, partial: "find: cannot delete '/srv/app/tmp/locked': Operation not permitted" });
    expect(summarizeCleanup(out as never)).toMatch(/; some could not be deleted \(see partial\)\n/);
  });
});
