// Local disk usage through fs.statfs on a tmpfs mounted here (systeminformation's fsSize hides
// tmpfs): the mount point and type come from the mount table, usePercent is df's. Needs root.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localMetricsProbe } from '../../src/adapters/metrics.js';

let tmp = '';
let mnt = '';
let mounted = false;

beforeAll(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'warden-disk-')));
  mnt = join(tmp, 'mnt');
  mkdirSync(mnt);
  // Fails the file loudly (not a skip) when the mount is refused: this test must run as root.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
  mounted = true;
  mkdirSync(join(mnt, 'data'));
  writeFileSync(join(mnt, 'data', 'filler'), Buffer.alloc(2 * 1024 * 1024, 1));
});

afterAll(() => {
  if (mounted) execFileSync('umount', [mnt], { stdio: 'pipe' });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('local diskUsage', () => {
  it('reads a tmpfs half filled, naming its mount point', async () => {
    const [d] = await localMetricsProbe().diskUsage([join(mnt, 'data')]);
    expect(d).toMatchObject({ path: join(mnt, 'data'), fs: 'tmpfs', type: 'tmpfs', mount: mnt, sizeBytes: 4 * 1024 * 1024 });
    expect(d!.usePercent).toBeGreaterThanOrEqual(49);
    expect(d!.usePercent).toBeLessThanOrEqual(52);
    expect(d!.usedBytes + d!.availableBytes).toBeLessThanOrEqual(d!.sizeBytes);
  });

  it('leaves out a path that does not exist and keeps the others in order', async () => {
    const got = await localMetricsProbe().diskUsage([join(mnt, 'nope'), mnt, '/']);
    expect(got.map((d) => [d.path, d.mount])).toEqual([[mnt, mnt], ['/', '/']]);
  });

  it('refuses a relative path', async () => {
    await expect(localMetricsProbe().diskUsage(['data'])).rejects.toMatchObject({ kind: 'invalid_input' });
  });
});
