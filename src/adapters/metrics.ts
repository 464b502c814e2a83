// Host metrics: CPU, memory, disks, temperatures, GPUs. Locally through systeminformation; on a
// remote host through a fixed read-only probe (cat /proc files, df, thermal zones, nvidia-smi) over
// SSH, parsed by metrics-parse.ts. The probe never runs anything a caller chose.
import { loadavg } from 'node:os';
import si from 'systeminformation';
import type { CommandResult, CommandRunner } from './commands.js';
import {
  GPU_SUMMARY_FIELDS, cpuUsagePercent, parseDf, parseGpuSummary, parseLoadavg, parseMeminfo, parseProcStat, parseThermal,
  thermalZones, type DiskUsage, type GpuSummary, type Temperature,
} from './metrics-parse.js';
import { ToolFailure } from '../errors.js';

export type { DiskUsage, GpuSummary, Temperature };

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
  collect(signal?: AbortSignal): Promise<HostMetrics>;
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

export function localMetricsProbe(host = 'local'): MetricsProbe {
  return {
    host,
    collect: () => translated(host, async () => {
      const notes: string[] = [];
      const [load, mem, disks, temperatures, gpus] = await Promise.all([
        cpuLoad(),
        si.mem(),
        section('disks', notes, [], async () => (await si.fsSize()).map((d) => ({
          fs: d.fs, type: d.type, mount: d.mount, sizeBytes: d.size, usedBytes: d.used, availableBytes: d.available, usePercent: d.use,
        }))),
        section('temperatures', notes, [], localTemperatures),
        section('gpus', notes, [], localGpus),
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
  await si.currentLoad();
  await sleep(CPU_SAMPLE_MS);
  return si.currentLoad();
}

async function localTemperatures(): Promise<Temperature[]> {
  const t = await si.cpuTemperature();
  const out: Temperature[] = [];
  const add = (label: string, c: number | null | undefined): void => { if (typeof c === 'number' && Number.isFinite(c)) out.push({ label, celsius: c }); };
  add('cpu', t.main);
  t.cores.forEach((c, i) => add(`core ${i}`, c));
  add('chipset', t.chipset);
  return out;
}

async function localGpus(): Promise<GpuSummary[]> {
  const g = await si.graphics();
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
    collect: (signal) => translated(runner.host, async () => {
      const notes: string[] = [];
      const stat1 = await read(['cat', '/proc/stat'], signal);
      const started = Date.now();
      const [loadText, memText, disks, temperatures, gpus] = await Promise.all([
        read(['cat', '/proc/loadavg'], signal),
        read(['cat', '/proc/meminfo'], signal),
        section('disks', notes, [], () => remoteDisks(runner, notes, signal)),
        section('temperatures', notes, [], () => remoteTemperatures(runner, signal)),
        section('gpus', notes, [], () => remoteGpus(runner, signal)),
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
