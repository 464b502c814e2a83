// The fixed remote metrics probe over a hand-written runner: which programs it runs, and how it
// turns partial failures into notes rather than a failed call.
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/adapters/commands.js';
import { remoteMetricsProbe } from '../../src/adapters/metrics.js';
import { FakeRunner } from '../support/fake-host.js';

const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '', truncated: false });
const STAT = 'cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\n';
const STAT_LATER = 'cpu  150 0 150 900 0 0 0 0 0 0\ncpu0 75 0 75 450 0 0 0 0 0 0\ncpu1 75 0 75 450 0 0 0 0 0 0\n';
const DF = 'Filesystem Type 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 ext4 1000 900 100 90% /\n';

function hostRunner(overrides: Record<string, CommandResult> = {}): FakeRunner {
  const runner = new FakeRunner();
  let stats = 0;
  runner.answer = (argv) => {
    const key = argv.join(' ');
    if (overrides[key]) return overrides[key]!;
    if (key === 'cat /proc/stat') return ok(stats++ === 0 ? STAT : STAT_LATER);
    if (key === 'cat /proc/loadavg') return ok('0.50 0.40 0.30 1/100 123\n');
    if (key === 'cat /proc/meminfo') return ok('MemTotal: 1000 kB\nMemAvailable: 250 kB\n');
    if (key === 'df -P -k -T') return ok(DF);
    if (key === 'ls /sys/class/thermal') return ok('cooling_device0\nthermal_zone0\n');
    if (argv[0] === 'grep') return ok('/sys/class/thermal/thermal_zone0/type:x86_pkg_temp\n/sys/class/thermal/thermal_zone0/temp:51000\n');
    return { exitCode: 127, stdout: '', stderr: `${argv[0]}: not found\n`, truncated: false };
  };
  return runner;
}

describe('remote metrics probe', () => {
  it('assembles CPU, memory, disks and temperatures from the fixed commands', async () => {
    const m = await remoteMetricsProbe(hostRunner()).collect();
    expect(m).toEqual({
      cpu: { cores: 2, loadAverage: [0.5, 0.4, 0.3], usagePercent: 50 },
      memory: { totalBytes: 1000 * 1024, availableBytes: 250 * 1024, usedBytes: 750 * 1024 },
      disks: [{ fs: '/dev/sda1', type: 'ext4', mount: '/', sizeBytes: 1000 * 1024, usedBytes: 900 * 1024, availableBytes: 100 * 1024, usePercent: 90 }],
      temperatures: [{ label: 'x86_pkg_temp (thermal_zone0)', celsius: 51 }],
      gpus: [],
      notes: [],
    });
  });

  it('runs only its fixed programs, and reads thermal files only of zones ls listed', async () => {
    const runner = hostRunner();
    await remoteMetricsProbe(runner).collect();
    expect(new Set(runner.calls.map((a) => a[0]))).toEqual(new Set(['cat', 'df', 'ls', 'grep', 'nvidia-smi']));
    expect(runner.calls.find((a) => a[0] === 'grep')).toEqual([
      'grep', '-Hs', '', '/sys/class/thermal/thermal_zone0/type', '/sys/class/thermal/thermal_zone0/temp',
    ]);
  });

  it('keeps the disks df could read when it exits 1 for another mount, with a note', async () => {
    const m = await remoteMetricsProbe(hostRunner({ 'df -P -k -T': { exitCode: 1, stdout: DF, stderr: 'df: /mnt/nfs: Stale file handle\n', truncated: false } })).collect();
    expect(m.disks.map((d) => d.mount)).toEqual(['/']);
    expect(m.notes).toEqual(['disks: df could not read some filesystems (exit 1)']);
  });

  it('notes a section that fails and still reports the rest', async () => {
    const m = await remoteMetricsProbe(hostRunner({ 'df -P -k -T': { exitCode: 127, stdout: '', stderr: 'df: not found', truncated: false } })).collect();
    expect(m.disks).toEqual([]);
    expect(m.notes).toEqual([expect.stringMatching(/^disks: df on host local exited 127/)]);
    expect(m.memory.totalBytes).toBe(1000 * 1024);
  });

  it('fails as target_failed, naming the host, when /proc cannot be read', async () => {
    const runner = hostRunner({ 'cat /proc/meminfo': { exitCode: 1, stdout: '', stderr: 'cat: /proc/meminfo: No such file', truncated: false } });
    await expect(remoteMetricsProbe(runner).collect()).rejects.toMatchObject({ kind: 'target_failed', message: expect.stringMatching(/cat \/proc\/meminfo on host local exited 1/) });
  });
});
