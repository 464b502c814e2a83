// The remote metrics probe's parsers, on output captured from real hosts (GNU coreutils 9.1,
// BusyBox 1.35, Linux 6.x) and a pre-3.14 kernel's meminfo.
import { describe, expect, it } from 'vitest';
import {
  cpuUsagePercent, parseDf, parseGpuSummary, parseLoadavg, parseMeminfo, parseProcStat, parseThermal, thermalZones,
} from '../../src/adapters/metrics-parse.js';

const MEMINFO = `MemTotal:       24683656 kB
MemFree:        23689000 kB
MemAvailable:   24137440 kB
Buffers:            6464 kB
Cached:           611092 kB
SwapCached:            0 kB
Active(anon):       1568 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

const MEMINFO_OLD_KERNEL = `MemTotal:        2048000 kB
MemFree:          512000 kB
Buffers:           64000 kB
Cached:           256000 kB
SwapCached:            0 kB
`;

const STAT_1 = `cpu  57475 0 15919 158103 2421 0 624 366 0 0
cpu0 22068 0 7036 87298 664 0 128 178 0 0
cpu1 35406 0 8882 70805 1757 0 496 188 0 0
intr 2711863 0 0 0 0
ctxt 4934399
btime 1795397434
`;
const STAT_2 = `cpu  74223 0 22023 182505 4520 0 1035 469 0 0
cpu0 29669 0 9501 101430 1263 0 150 229 0 0
cpu1 44553 0 12521 81074 3256 0 884 240 0 0
intr 2711863 0 0 0 0
`;

const DF_GNU = `Filesystem              Type     1024-blocks     Used Available Capacity Mounted on
devtmpfs                devtmpfs    12334432        0  12334432       0% /dev
tmpfs                   tmpfs       24683656        0  24683656       0% /dev/shm
/dev/vda                ext4       264212084 23389156  83001756      22% /
model_tools_unavailable tmpfs              4        0         4       0% /mnt/sandboxing/model_tools_env/v1/python
tmpfs                   tmpfs       12341828        0  12341828       0% /sys/fs/cgroup
`;

const DF_BUSYBOX = `Filesystem           Type       1024-blocks    Used Available Capacity Mounted on
devtmpfs             devtmpfs    12334432         0  12334432   0% /dev
tmpfs                tmpfs       24683656         0  24683656   0% /dev/shm
/dev/vda             ext4       264212084  23389156  83001756  22% /
overlay              overlay    264212084  23389156  83001756  22% /var/lib/docker/overlay2/abc/merged
/dev/sdb1            xfs        976284672 878656204  97628468  91% /mnt/data disk
`;

describe('remote metrics parsers', () => {
  it('reads the three load averages from /proc/loadavg', () => {
    expect(parseLoadavg('1.40 1.23 0.83 3/125 1119\n')).toEqual([1.4, 1.23, 0.83]);
  });

  it('refuses a loadavg it cannot read instead of reporting zeros', () => {
    expect(() => parseLoadavg('sh: cat: not found')).toThrow(/unexpected/);
  });

  it('takes used memory as total minus MemAvailable, in bytes', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({
      totalBytes: 24683656 * 1024,
      availableBytes: 24137440 * 1024,
      usedBytes: (24683656 - 24137440) * 1024,
    });
  });

  it('estimates available memory on kernels without MemAvailable', () => {
    expect(parseMeminfo(MEMINFO_OLD_KERNEL).availableBytes).toBe((512000 + 64000 + 256000) * 1024);
  });

  it('counts cores from the cpuN lines of /proc/stat', () => {
    expect(parseProcStat(STAT_1).cores).toBe(2);
  });

  it('computes CPU usage from two /proc/stat samples, excluding idle and iowait', () => {
    const a = parseProcStat(STAT_1).sample;
    const b = parseProcStat(STAT_2).sample;
    // busy delta = (74223+22023+1035+469) - (57475+15919+624+366) = 23366; total adds idle 24402 + iowait 2099
    expect(cpuUsagePercent(a, b)).toBe(Math.round((23366 / (23366 + 24402 + 2099)) * 1000) / 10);
  });

  it('reports no CPU usage when no time passed between samples', () => {
    const a = parseProcStat(STAT_1).sample;
    expect(cpuUsagePercent(a, a)).toBeNull();
  });

  it('keeps real filesystems from GNU df and drops tmpfs and devtmpfs', () => {
    expect(parseDf(DF_GNU)).toEqual([
      { fs: '/dev/vda', type: 'ext4', mount: '/', sizeBytes: 264212084 * 1024, usedBytes: 23389156 * 1024, availableBytes: 83001756 * 1024, usePercent: 22 },
    ]);
  });

  it('reads busybox df the same way, drops overlay layers and keeps mount points with spaces', () => {
    expect(parseDf(DF_BUSYBOX).map((d) => [d.fs, d.mount, d.usePercent])).toEqual([
      ['/dev/vda', '/', 22],
      ['/dev/sdb1', '/mnt/data disk', 91],
    ]);
  });

  it('takes only thermal_zoneN names from ls /sys/class/thermal', () => {
    expect(thermalZones('cooling_device0\ncooling_device1\nthermal_zone0\nthermal_zone1\n')).toEqual(['thermal_zone0', 'thermal_zone1']);
  });

  it('pairs thermal zone types with temperatures in degrees and skips broken sensors', () => {
    const out = [
      '/sys/class/thermal/thermal_zone0/type:acpitz',
      '/sys/class/thermal/thermal_zone0/temp:27800',
      '/sys/class/thermal/thermal_zone1/type:x86_pkg_temp',
      '/sys/class/thermal/thermal_zone1/temp:45000',
      '/sys/class/thermal/thermal_zone2/type:iwlwifi_1',
      '/sys/class/thermal/thermal_zone2/temp:-274000',
    ].join('\n');
    expect(parseThermal(out)).toEqual([
      { label: 'acpitz (thermal_zone0)', celsius: 27.8 },
      { label: 'x86_pkg_temp (thermal_zone1)', celsius: 45 },
    ]);
  });

  it('reads the GPU summary a real H100 prints', () => {
    expect(parseGpuSummary('NVIDIA H100 80GB HBM3, 81559, 0, 0, 38\n')).toEqual([
      { model: 'NVIDIA H100 80GB HBM3', vendor: 'NVIDIA', memoryTotalMiB: 81559, memoryUsedMiB: 0, utilizationPercent: 0, temperatureC: 38 },
    ]);
  });

  it('reads the nvidia-smi GPU summary, with [N/A] as null', () => {
    expect(parseGpuSummary('NVIDIA H100 80GB HBM3, 81559, 40000, 97, 71\nNVIDIA A100-SXM4-80GB, 81920, [N/A], 0, [Not Supported]\n')).toEqual([
      { model: 'NVIDIA H100 80GB HBM3', vendor: 'NVIDIA', memoryTotalMiB: 81559, memoryUsedMiB: 40000, utilizationPercent: 97, temperatureC: 71 },
      { model: 'NVIDIA A100-SXM4-80GB', vendor: 'NVIDIA', memoryTotalMiB: 81920, memoryUsedMiB: null, utilizationPercent: 0, temperatureC: null },
    ]);
  });
});
