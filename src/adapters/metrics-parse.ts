// Pure parsers for the fixed read-only probe run on remote hosts over SSH (/proc files, df,
// thermal zones, nvidia-smi). They accept both GNU coreutils and busybox output.
import { smiLines, smiNumber, splitSmiLine } from './nvidia-smi-csv.js';

export interface DiskUsage {
  fs: string;
  type: string;
  mount: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  usePercent: number;
}

export interface Temperature {
  label: string;
  celsius: number;
}

export interface GpuSummary {
  model: string;
  vendor: string;
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
}

export interface CpuSample {
  busy: number;
  total: number;
}

/** `/proc/loadavg`: "0.52 0.58 0.59 2/811 12345". */
export function parseLoadavg(text: string): [number, number, number] {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((n) => Number.isFinite(n))) throw new Error(`unexpected /proc/loadavg: ${text.slice(0, 80)}`);
  return [a!, b!, c!];
}

/** `/proc/meminfo` in kB. Kernels before 3.14 lack MemAvailable: free + buffers + cache stands in. */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number; usedBytes: number } {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]));
  }
  const total = kb.get('MemTotal');
  if (total === undefined) throw new Error('unexpected /proc/meminfo: no MemTotal');
  const available = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  return { totalBytes: total * 1024, availableBytes: available * 1024, usedBytes: (total - available) * 1024 };
}

/** `/proc/stat`: the aggregate `cpu` line as busy/total jiffies, and the number of `cpuN` lines. */
export function parseProcStat(text: string): { cores: number; sample: CpuSample } {
  const lines = text.split('\n');
  const agg = lines.find((l) => /^cpu\s/.test(l));
  if (!agg) throw new Error('unexpected /proc/stat: no cpu line');
  // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user.
  const f = agg.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((s, n) => s + (Number.isFinite(n) ? n : 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { cores: lines.filter((l) => /^cpu\d+\s/.test(l)).length, sample: { busy: total - idle, total } };
}

/** CPU busy share between two samples, in percent; null when no time passed. */
export function cpuUsagePercent(before: CpuSample, after: CpuSample): number | null {
  const dt = after.total - before.total;
  if (dt <= 0) return null;
  return Math.round(((after.busy - before.busy) / dt) * 1000) / 10;
}

/** Filesystems that hold no disk: memory, kernel views, container layers. */
const PSEUDO_FS = new Set([
  'tmpfs', 'devtmpfs', 'overlay', 'squashfs', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue',
  'debugfs', 'tracefs', 'securityfs', 'pstore', 'bpf', 'autofs', 'hugetlbfs', 'fusectl', 'configfs',
  'efivarfs', 'binfmt_misc', 'nsfs', 'ramfs', 'rpc_pipefs', 'shm', 'none',
]);

export interface DfOptions {
  /**
   * Rows for paths named on df's command line: keep every filesystem (tmpfs, pseudo and empty ones
   * too, since the caller asked for them) and compute usePercent with usePercentOf rather than
   * taking df's whole-percent Capacity, which is "-" for an empty filesystem.
   */
  named?: boolean;
}

/** df's Capacity: used / (used + available), the blocks reserved for root counting as neither; to 1 decimal, 0 when both are 0. */
export function usePercentOf(usedBytes: number, availableBytes: number): number {
  const total = usedBytes + availableBytes;
  return total > 0 ? Math.round((usedBytes / total) * 1000) / 10 : 0;
}

/**
 * `df -P -k [-T]` (GNU and busybox): Filesystem [Type] 1024-blocks Used Available Capacity Mounted-on.
 * The header says whether the Type column is there; without it `type` is "".
 */
export function parseDf(text: string, opts: DfOptions = {}): DiskUsage[] {
  const [header = '', ...lines] = text.split('\n');
  const typed = /\sType\s/.test(header);
  const disks: DiskUsage[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    const [fs, type] = typed ? [f[0], f[1]] : [f[0], ''];
    const [size, used, avail, cap] = f.slice(typed ? 2 : 1);
    const mountAt = typed ? 6 : 5;
    if (f.length <= mountAt) continue;
    // A mount point with spaces spans the remaining fields.
    const mount = f.slice(mountAt).join(' ');
    if (!opts.named && (PSEUDO_FS.has(type!) || Number(size) === 0)) continue;
    const d = {
      fs: fs!, type: type!, mount,
      sizeBytes: Number(size) * 1024,
      usedBytes: Number(used) * 1024,
      availableBytes: Number(avail) * 1024,
      usePercent: 0,
    };
    d.usePercent = opts.named ? usePercentOf(d.usedBytes, d.availableBytes) : Number(cap!.replace('%', ''));
    disks.push(d);
  }
  return disks.filter((d) => [d.sizeBytes, d.usedBytes, d.availableBytes, d.usePercent].every(Number.isFinite));
}

export interface MountEntry {
  fs: string;
  mount: string;
  type: string;
}

/** `/proc/self/mounts`: "fs mount type options 0 0", with space, tab, newline and backslash written as octal escapes. */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [fs, mount, type] = line.split(' ');
    if (fs && mount?.startsWith('/') && type) out.push({ fs: unescape(fs), mount: unescape(mount), type });
  }
  return out;
}

/** The mount holding absolute `path` (already free of symlinks): the longest mount point above it, the last one mounted when several share it. */
export function mountOf(path: string, mounts: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const holds = m.mount === '/' || path === m.mount || path.startsWith(`${m.mount}/`);
    if (holds && (!best || m.mount.length >= best.mount.length)) best = m;
  }
  return best;
}

/** Thermal zone names from `ls /sys/class/thermal`; anything else there is ignored. */
export function thermalZones(lsOutput: string): string[] {
  return lsOutput.split(/\s+/).filter((n) => /^thermal_zone\d+$/.test(n));
}

/** `grep -Hs '' <zone>/type <zone>/temp ...`: "path:value" lines; temp is in millidegrees Celsius. */
export function parseThermal(grepOutput: string): Temperature[] {
  const zones = new Map<string, { type?: string; milli?: number }>();
  for (const line of grepOutput.split('\n')) {
    const m = /^\/sys\/class\/thermal\/(thermal_zone\d+)\/(type|temp):(.*)$/.exec(line.trim());
    if (!m) continue;
    const z = zones.get(m[1]!) ?? {};
    if (m[2] === 'type') z.type = m[3]!.trim();
    else z.milli = Number(m[3]);
    zones.set(m[1]!, z);
  }
  const out: Temperature[] = [];
  for (const [zone, z] of zones) {
    const c = z.milli === undefined ? NaN : z.milli / 1000;
    // Disabled or broken sensors report nonsense such as -274 or 0xffff; keep plausible readings only.
    if (Number.isFinite(c) && c > -60 && c < 200) out.push({ label: z.type ? `${z.type} (${zone})` : zone, celsius: c });
  }
  return out;
}

export const GPU_SUMMARY_FIELDS = ['name', 'memory.total', 'memory.used', 'utilization.gpu', 'temperature.gpu'] as const;

/** nvidia-smi `--query-gpu=name,memory.total,memory.used,utilization.gpu,temperature.gpu`, csv,noheader,nounits. */
export function parseGpuSummary(csv: string): GpuSummary[] {
  const out: GpuSummary[] = [];
  for (const line of smiLines(csv)) {
    const f = splitSmiLine(line, GPU_SUMMARY_FIELDS.length, 0);
    if (!f) continue;
    out.push({
      model: f[0]!, vendor: 'NVIDIA',
      memoryTotalMiB: smiNumber(f[1]), memoryUsedMiB: smiNumber(f[2]),
      utilizationPercent: smiNumber(f[3]), temperatureC: smiNumber(f[4]),
    });
  }
  return out;
}
