// Host metrics: CPU, memory, disks, temperatures, GPUs. Locally through systeminformation; on a
// remote host through a fixed read-only probe (cat /proc files, df, thermal zones, nvidia-smi) over
// SSH, parsed by metrics-parse.ts. The probe never runs anything a caller chose; diskUsage's paths
// reach df only as arguments after `--`.
import type { StatsFs } from 'node:fs';
import { readFile, realpath, statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import type si from 'systeminformation';
import type { CommandResult, CommandRunner } from './commands.js';
import {
  GPU_SUMMARY_FIELDS, cpuUsagePercent, mountOf, parseDf, parseGpuSummary, parseLoadavg, parseMeminfo, parseMounts, parseProcStat,
  parseThermal, thermalZones, usePercentOf, type DiskUsage, type GpuSummary, type Temperature,
} from './metrics-parse.js';
import { ToolFailure } from '../errors.js';

export type { DiskUsage, GpuSummary, Temperature };

/** A DiskUsage for one path asked about. */
export interface PathDiskUsage extends DiskUsage {
  /** The path as given. */
  path: string;
}

export interface HostMetrics {
  cpu: { cores: number; loadAverage: [number, number, number]; usagePercent: number | null };
  memory: { totalBytes: number; usedBytes: number; availableBytes: number };
  disks: DiskUsage[];
  temperatures: Temperature[];
  gpus: GpuSummary[];
  /** What could not be read, in plain words (a section that timed out, no sensors...). */
  notes: string[];
}

export interface MetricsProbe {
  readonly host: string;
  /** `gpus: false` skips the GPU section (the host monitors read it only when a GPU check is on: it spawns programs). */
  collect(signal?: AbortSignal, opts?: { gpus?: boolean }): Promise<HostMetrics>;
  /**
   * Usage of the filesystem holding each of `paths` (absolute; tmpfs and other memory filesystems
   * included): one entry per path, in the order given. A path that does not exist or cannot be
   * read is left out, so the caller sees it missing (match entries on `path`). `mount` is the
   * filesystem's mount point when known, else the path itself; `fs` and `type` are "" when unknown
   * (remote df runs without -T). `usePercent` is df's: used / (used + available) * 100, to one
   * decimal, the blocks reserved for root counting as neither. Throws ToolFailure: invalid_input for
   * a relative path or one with control characters; target_failed when df itself cannot run;
   * unavailable when the host cannot be reached or `signal` aborts.
   */
  diskUsage(paths: string[], signal?: AbortSignal): Promise<PathDiskUsage[]>;
}

/** Window over which CPU usage is measured: two samples this far apart. */
export const CPU_SAMPLE_MS = 250;
const SECTION_TIMEOUT_MS = 8_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A best-effort section: its failure or slowness becomes a note, not a failed call. */
async function section<T>(what: string, notes: string[], fallback: T, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), SECTION_TIMEOUT_MS); });
  try {
    const got = await Promise.race([work(), late]);
    if (got === 'late') {
      notes.push(`${what}: no answer within ${SECTION_TIMEOUT_MS} ms`);
      return fallback;
    }
    return got;
  } catch (err) {
    notes.push(`${what}: ${err instanceof ToolFailure ? err.message : 'could not be read'}`);
    return fallback;
  } finally {
    clearTimeout(timer);
  }
}

/** Errors outside a best-effort section fail the call: as ToolFailure, never a raw library error. */
async function translated(host: string, work: () => Promise<HostMetrics>): Promise<HostMetrics> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ToolFailure) throw err;
    throw new ToolFailure('target_failed', `reading metrics on host ${host} failed: unexpected output from the host`, {}, err);
  }
}

/** Loaded with the first local reading: it is not needed before a tool or a monitor asks for one. */
const systeminformation = async (): Promise<typeof si> => (await import('systeminformation')).default;

export function localMetricsProbe(host = 'local'): MetricsProbe {
  return {
    host,
    diskUsage: (paths, signal) => localDiskUsage(host, paths, signal),
    collect: (_signal, opts = {}) => translated(host, async () => {
      const notes: string[] = [];
      const si = await systeminformation();
      const [load, mem, disks, temperatures, gpus] = await Promise.all([
        cpuLoad(),
        si.mem(),
        section('disks', notes, [], async () => (await si.fsSize()).map((d) => ({
          fs: d.fs, type: d.type, mount: d.mount, sizeBytes: d.size, usedBytes: d.used, availableBytes: d.available, usePercent: d.use,
        }))),
        section('temperatures', notes, [], localTemperatures),
        opts.gpus === false ? [] : section('gpus', notes, [], localGpus),
      ]);
      const loadAverage = loadavg().map((n) => Math.round(n * 100) / 100) as [number, number, number];
      return {
        cpu: { cores: load.cpus.length, loadAverage, usagePercent: Math.round(load.currentLoad * 10) / 10 },
        memory: { totalBytes: mem.total, availableBytes: mem.available, usedBytes: mem.total - mem.available },
        disks, temperatures, gpus, notes,
      };
    }),
  };
}

/** systeminformation measures load since its previous call: take two samples a short window apart. */
async function cpuLoad(): Promise<si.Systeminformation.CurrentLoadData> {
  const si = await systeminformation();
  await si.currentLoad();
  await sleep(CPU_SAMPLE_MS);
  return si.currentLoad();
}

async function localTemperatures(): Promise<Temperature[]> {
  const t = await (await systeminformation()).cpuTemperature();
  const out: Temperature[] = [];
  const add = (label: string, c: number | null | undefined): void => { if (typeof c === 'number' && Number.isFinite(c)) out.push({ label, celsius: c }); };
  add('cpu', t.main);
  t.cores.forEach((c, i) => add(`core ${i}`, c));
  add('chipset', t.chipset);
  return out;
}

async function localGpus(): Promise<GpuSummary[]> {
  const g = await (await systeminformation()).graphics();
  const num = (n: number | null | undefined): number | null => (typeof n === 'number' && Number.isFinite(n) ? n : null);
  return g.controllers.map((c) => ({
    model: c.model, vendor: c.vendor,
    memoryTotalMiB: num(c.memoryTotal ?? c.vram), memoryUsedMiB: num(c.memoryUsed),
    utilizationPercent: num(c.utilizationGpu), temperatureC: num(c.temperatureGpu),
  }));
}

const PROBE = { timeoutMs: 10_000, maxOutputBytes: 256 * 1024, readOnly: true };

/** The fixed remote probe: every command is a constant argv; only thermal zone names found by `ls` are added, after validation. */
export function remoteMetricsProbe(runner: CommandRunner): MetricsProbe {
  const read = async (argv: string[], signal?: AbortSignal): Promise<string> => {
    const res = await runner.run(argv, { ...PROBE, signal });
    if (res.exitCode !== 0) throw new ToolFailure('target_failed', `${argv.join(' ')} on host ${runner.host} exited ${res.exitCode}`, { exitCode: res.exitCode });
    return res.stdout;
  };
  return {
    host: runner.host,
    diskUsage: (paths, signal) => remoteDiskUsage(runner, paths, signal),
    collect: (signal, opts = {}) => translated(runner.host, async () => {
      const notes: string[] = [];
      const stat1 = await read(['cat', '/proc/stat'], signal);
      const started = Date.now();
      const [loadText, memText, disks, temperatures, gpus] = await Promise.all([
        read(['cat', '/proc/loadavg'], signal),
        read(['cat', '/proc/meminfo'], signal),
        section('disks', notes, [], () => remoteDisks(runner, notes, signal)),
        section('temperatures', notes, [], () => remoteTemperatures(runner, signal)),
        opts.gpus === false ? [] : section('gpus', notes, [], () => remoteGpus(runner, signal)),
      ]);
      await sleep(Math.max(0, CPU_SAMPLE_MS - (Date.now() - started)));
      const stat2 = await read(['cat', '/proc/stat'], signal);
      const before = parseProcStat(stat1);
      return {
        cpu: { cores: before.cores, loadAverage: parseLoadavg(loadText), usagePercent: cpuUsagePercent(before.sample, parseProcStat(stat2).sample) },
        memory: parseMeminfo(memText),
        disks, temperatures, gpus, notes,
      };
    }),
  };
}

/** df exits 1 when one mount cannot be read (a stale NFS handle, a FUSE mount of another user) but still lists the rest. */
async function remoteDisks(runner: CommandRunner, notes: string[], signal?: AbortSignal): Promise<DiskUsage[]> {
  const res = await runner.run(['df', '-P', '-k', '-T'], { ...PROBE, signal });
  const disks = parseDf(res.stdout);
  if (res.exitCode !== 0 && disks.length === 0) {
    throw new ToolFailure('target_failed', `df on host ${runner.host} exited ${res.exitCode}`, { exitCode: res.exitCode });
  }
  if (res.exitCode !== 0) notes.push(`disks: df could not read some filesystems (exit ${res.exitCode})`);
  return disks;
}

async function remoteTemperatures(runner: CommandRunner, signal?: AbortSignal): Promise<Temperature[]> {
  const ls = await runner.run(['ls', '/sys/class/thermal'], { ...PROBE, signal });
  const zones = ls.exitCode === 0 ? thermalZones(ls.stdout) : [];
  if (zones.length === 0) return [];
  const files = zones.slice(0, 64).flatMap((z) => [`/sys/class/thermal/${z}/type`, `/sys/class/thermal/${z}/temp`]);
  // grep exits 2 when a zone's file is unreadable but still prints the others.
  return parseThermal((await runner.run(['grep', '-Hs', '', ...files], { ...PROBE, signal })).stdout);
}

/** No nvidia-smi, or no driver, is simply no NVIDIA GPU: gpu_status says more. */
async function remoteGpus(runner: CommandRunner, signal?: AbortSignal): Promise<GpuSummary[]> {
  const res: CommandResult = await runner.run(
    ['nvidia-smi', `--query-gpu=${GPU_SUMMARY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
    { ...PROBE, signal },
  );
  return res.exitCode === 0 ? parseGpuSummary(res.stdout) : [];
}

function checkedPaths(host: string, paths: readonly string[], signal?: AbortSignal): string[] {
  for (const p of paths) {
    // A newline would split df's one line per path; a relative path means nothing on another host.
    if (!p.startsWith('/') || /[\x00-\x1f\x7f]/.test(p)) {
      throw new ToolFailure('invalid_input', `disk usage on host ${host}: ${JSON.stringify(p)} is not an absolute path without control characters`);
    }
  }
  if (signal?.aborted) throw new ToolFailure('unavailable', `disk usage on host ${host}: cancelled`);
  return [...new Set(paths)];
}

/** Each given path's entry from `found`, duplicates included; missing ones left out. */
const inOrder = (paths: readonly string[], found: ReadonlyMap<string, DiskUsage>): PathDiskUsage[] =>
  paths.flatMap((path) => { const d = found.get(path); return d ? [{ ...d, path }] : []; });

const statfsInFlight = new Map<string, Promise<StatsFs | null>>();

/**
 * statfs on a hung network mount blocks one of libuv's few pool threads until the mount recovers:
 * give up on it after SECTION_TIMEOUT_MS (the path reads as unreadable) and never start a second
 * statfs of a path whose first has not returned, so repeated checks cannot use up the pool.
 */
async function boundedStatfs(path: string): Promise<StatsFs | null> {
  let pending = statfsInFlight.get(path);
  if (!pending) {
    pending = statfs(path).catch(() => null).finally(() => statfsInFlight.delete(path));
    statfsInFlight.set(path, pending);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => { timer = setTimeout(() => r(null), SECTION_TIMEOUT_MS); });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * fs.statfs rather than systeminformation's fsSize, which hides tmpfs. Block counts are in bsize
 * units (f_bsize, equal to df's f_frsize on Linux filesystems). The mount comes from
 * /proc/self/mounts: warden's own mount namespace, the one whose paths it was given.
 */
async function localDiskUsage(host: string, paths: string[], signal?: AbortSignal): Promise<PathDiskUsage[]> {
  const unique = checkedPaths(host, paths, signal);
  const mounts = parseMounts(await readFile('/proc/self/mounts', 'utf8').catch(() => ''));
  const found = new Map<string, DiskUsage>();
  for (const path of unique) {
    const s = await boundedStatfs(path);
    if (!s) continue;
    const m = mountOf(await realpath(path).catch(() => path), mounts);
    const usedBytes = (s.blocks - s.bfree) * s.bsize;
    const availableBytes = s.bavail * s.bsize;
    found.set(path, {
      fs: m?.fs ?? '', type: m?.type ?? '', mount: m?.mount ?? path,
      sizeBytes: s.blocks * s.bsize, usedBytes, availableBytes, usePercent: usePercentOf(usedBytes, availableBytes),
    });
  }
  return inOrder(paths, found);
}

/** df missing or not executable: no answer for any path, which must not read as "every path is gone". */
const DF_CANNOT_RUN = new Set([126, 127]);

/**
 * One `df -P -k -- PATH...`: df prints a line per path it can read, in order, and only complains
 * on stderr about the others, so when a line is missing each path is asked about on its own.
 */
async function remoteDiskUsage(runner: CommandRunner, paths: string[], signal?: AbortSignal): Promise<PathDiskUsage[]> {
  const unique = checkedPaths(runner.host, paths, signal);
  if (unique.length === 0) return [];
  const df = async (ps: string[]): Promise<{ rows: DiskUsage[]; complete: boolean }> => {
    const res = await runner.run(['df', '-P', '-k', '--', ...ps], { ...PROBE, signal });
    if (DF_CANNOT_RUN.has(res.exitCode)) throw new ToolFailure('target_failed', `df on host ${runner.host} exited ${res.exitCode}`, { exitCode: res.exitCode });
    const rows = parseDf(res.stdout, { named: true });
    return { rows, complete: res.exitCode === 0 && rows.length === ps.length };
  };
  const found = new Map<string, DiskUsage>();
  const first = await df(unique);
  if (first.complete) unique.forEach((p, i) => found.set(p, first.rows[i]!));
  else {
    for (const p of unique) {
      const { rows } = unique.length === 1 ? first : await df([p]);
      if (rows.length === 1) found.set(p, rows[0]!);
    }
  }
  return inOrder(paths, found);
}
