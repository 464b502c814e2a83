// GPU tools: nvidia-smi queries built by small pure argv functions and read by pure parsers,
// run through the host's command runner. A host without an NVIDIA driver has no GPUs, not a fault.
import { z } from 'zod';
import type { CommandResult } from '../adapters/commands.js';
import { smiLines, smiNumber, smiText, splitSmiLine } from '../adapters/nvidia-smi-csv.js';
import { ToolFailure } from '../errors.js';
import { redactText } from '../shared/redact.js';
import { HostName, defineTool } from './spec.js';

const MAX_GPUS = 16;
const MAX_PROCESSES_PER_GPU = 32;
export const SMI_RUN = { timeoutMs: 20_000, maxOutputBytes: 256 * 1024, readOnly: true };

export const GPU_FIELDS = ['index', 'name', 'uuid', 'utilization.gpu', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw'] as const;
export const APP_FIELDS = ['gpu_uuid', 'pid', 'process_name', 'used_memory'] as const;
const CSV = '--format=csv,noheader,nounits';

/** All GPUs, or only the one with this index (`-i N`). */
export const gpuQueryArgv = (index?: number): string[] =>
  ['nvidia-smi', `--query-gpu=${GPU_FIELDS.join(',')}`, CSV, ...(index === undefined ? [] : ['-i', String(index)])];
export const computeAppsArgv = (): string[] => ['nvidia-smi', `--query-compute-apps=${APP_FIELDS.join(',')}`, CSV];

export interface GpuRow {
  index: number;
  name: string;
  uuid: string;
  utilizationPercent: number | null;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  temperatureC: number | null;
  powerDrawW: number | null;
}

export interface GpuProcess {
  /** `*` for a line warden could not read: it may be on any GPU. */
  gpuUuid: string;
  /** null where nvidia-smi prints "[N/A]" (processes inside containers): unknown, never absent. */
  pid: number | null;
  name: string;
  usedMemoryMiB: number | null;
}

/** Rows of the --query-gpu CSV (GPU_FIELDS order); a line that does not fit is refused, not guessed. */
export function parseGpuCsv(text: string): GpuRow[] {
  return smiLines(text).map((line) => {
    const f = splitSmiLine(line, GPU_FIELDS.length, 1);
    const index = smiNumber(f?.[0]);
    if (!f || index === null) throw new ToolFailure('target_failed', `nvidia-smi printed a GPU line warden cannot read: ${redactText(line).slice(0, 120)}`);
    return {
      index, name: f[1]!, uuid: f[2]!,
      utilizationPercent: smiNumber(f[3]), memoryUsedMiB: smiNumber(f[4]), memoryTotalMiB: smiNumber(f[5]),
      temperatureC: smiNumber(f[6]), powerDrawW: smiNumber(f[7]),
    };
  });
}

/**
 * Rows of the --query-compute-apps CSV (APP_FIELDS order); process names may contain ", ".
 * Nothing is dropped: a process whose pid nvidia-smi cannot tell ("[N/A]", as inside containers)
 * is a process with an unknown pid, and a line that cannot be read is a process on an unknown GPU,
 * so a reset counts both as in use.
 */
export function parseComputeAppsCsv(text: string): GpuProcess[] {
  return smiLines(text).map((line) => {
    const f = splitSmiLine(line, APP_FIELDS.length, 2);
    if (!f || !f[0]) return { gpuUuid: '*', pid: null, name: `(unreadable nvidia-smi line: ${redactText(line).slice(0, 80)})`, usedMemoryMiB: null };
    return { gpuUuid: f[0], pid: smiNumber(f[1]), name: smiText(f[2]) ?? '?', usedMemoryMiB: smiNumber(f[3]) };
  });
}

const NO_DRIVER = /couldn't communicate with the NVIDIA driver|No devices were found|NVIDIA driver is not loaded|libnvidia-ml\.so/i;

/** nvidia-smi missing (127/126 as a shell reports it) or present without a driver or device. */
export function noGpuReason(res: CommandResult): string | undefined {
  if (res.exitCode === 127 || res.exitCode === 126) return 'nvidia-smi is not installed';
  const said = `${res.stdout}\n${res.stderr}`;
  if (res.exitCode !== 0 && NO_DRIVER.test(said)) return `nvidia-smi found no driver or device (${lastLine(said)})`;
  return undefined;
}

export const lastLine = (text: string): string => redactText(text.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '').slice(0, 200);

export function smiFailure(host: string, what: string, res: CommandResult): ToolFailure {
  const tail = redactText(`${res.stdout}\n${res.stderr}`.trim().split('\n').slice(-5).join('\n')).slice(0, 600);
  return new ToolFailure('target_failed', `nvidia-smi ${what} on host ${host} exited ${res.exitCode}: ${lastLine(tail)}`, { exitCode: res.exitCode, tail });
}

const ProcessRow = z.object({ pid: z.number().int().nullable(), name: z.string(), usedMemoryMiB: z.number().nullable() });
/** One GPU as nvidia-smi's query reports it; gpu_reset reports the same after a reset. */
export const GpuState = z.object({
  index: z.number().int(),
  name: z.string(),
  uuid: z.string(),
  utilizationPercent: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  memoryTotalMiB: z.number().nullable(),
  temperatureC: z.number().nullable(),
  powerDrawW: z.number().nullable(),
});

const GpuOut = GpuState.extend({
  processes: z.array(ProcessRow),
  processesTruncated: z.boolean(),
});

const GpuStatusOutput = z.object({
  host: z.string(),
  gpus: z.array(GpuOut),
  truncated: z.boolean(),
  note: z.string().optional(),
});

export const gpuStatus = defineTool({
  name: 'gpu_status',
  title: 'GPU status',
  description:
    'nvidia-smi on one host: per GPU its use, memory, temperature, power and processes. Use it for a stuck or saturated GPU, before any gpu_reset. ' +
    `No NVIDIA GPU: empty, with a note. Read-only; at most ${MAX_GPUS} GPUs, ${MAX_PROCESSES_PER_GPU} processes each.`,
  family: 'gpu',
  risk: 'read',
  input: z.strictObject({ host: HostName }),
  output: GpuStatusOutput,
  target: (i) => `${i.host}/gpus`,
  async run(input, ctx) {
    const runner = ctx.adapters.commands(input.host);
    const gpus = await runner.run(gpuQueryArgv(), { ...SMI_RUN, signal: ctx.signal });
    const none = noGpuReason(gpus);
    if (none) return { host: input.host, gpus: [], truncated: false, note: `no NVIDIA GPU found on host ${input.host}: ${none}` };
    if (gpus.exitCode !== 0) throw smiFailure(input.host, 'GPU query', gpus);
    const apps = await runner.run(computeAppsArgv(), { ...SMI_RUN, signal: ctx.signal });
    if (apps.exitCode !== 0) throw smiFailure(input.host, 'compute-process query', apps);
    return assemble(input.host, parseGpuCsv(gpus.stdout), parseComputeAppsCsv(apps.stdout));
  },
  summarize(out) {
    if (out.gpus.length === 0) return out.note ?? `${out.host}: no GPUs`;
    const procs = out.gpus.reduce((n, g) => n + g.processes.length, 0);
    const busy = out.gpus.filter((g) => g.processes.length > 0).length;
    return `${out.host}: ${out.gpus.length} GPU${out.gpus.length === 1 ? '' : 's'}${out.truncated ? ` (truncated at ${MAX_GPUS})` : ''}, ` +
      `${procs}${out.gpus.some((g) => g.processesTruncated) ? '+' : ''} compute process${procs === 1 ? '' : 'es'} on ${busy} of them`;
  },
});

function assemble(host: string, rows: GpuRow[], procs: GpuProcess[]): z.infer<typeof GpuStatusOutput> {
  const gpus = rows.slice(0, MAX_GPUS).map((g) => {
    const mine = procs
      .filter((p) => p.gpuUuid === g.uuid || p.gpuUuid === '*')
      .sort((a, b) => (b.usedMemoryMiB ?? 0) - (a.usedMemoryMiB ?? 0))
      .map(({ pid, name, usedMemoryMiB }) => ({ pid, name: redactText(name), usedMemoryMiB }));
    return { ...g, processes: mine.slice(0, MAX_PROCESSES_PER_GPU), processesTruncated: mine.length > MAX_PROCESSES_PER_GPU };
  });
  const empty = rows.length === 0 ? { note: `nvidia-smi on host ${host} listed no GPUs` } : {};
  return { host, gpus, truncated: rows.length > MAX_GPUS, ...empty };
}
