// gpu_reset: `nvidia-smi --gpu-reset -i N` on one host, refused while compute processes run on that
// GPU. It never stops a process to make room: whoever owns the work decides that, not this tool.
import { z } from 'zod';
import type { CommandRunner } from '../adapters/commands.js';
import { ToolFailure } from '../errors.js';
import { redactText } from '../shared/redact.js';
import {
  GpuState,
  SMI_RUN, computeAppsArgv, gpuQueryArgv, noGpuReason, parseComputeAppsCsv, parseGpuCsv, smiFailure,
  type GpuProcess, type GpuRow,
} from './gpu.js';
import { HostName, defineTool } from './spec.js';

const MAX_GPU_INDEX = 63;
const MAX_LISTED_PROCESSES = 10;
const MAX_MESSAGE_CHARS = 1_000;
/** A reset takes seconds on a healthy board; the driver may take longer to give up on a sick one. */
const RESET_RUN = { timeoutMs: 45_000, maxOutputBytes: 64 * 1024 };

export const gpuResetArgv = (index: number): string[] => ['nvidia-smi', '--gpu-reset', '-i', String(index)];

/** The compute processes on the GPU with this uuid (and any warden could not place), largest memory first. */
export function processesOn(uuid: string, procs: readonly GpuProcess[]): GpuProcess[] {
  return procs.filter((p) => p.gpuUuid === uuid || p.gpuUuid === '*').sort((a, b) => (b.usedMemoryMiB ?? 0) - (a.usedMemoryMiB ?? 0));
}

/** The refusal: every process holding the GPU (the first few), so the model can say whose work it is. */
export function busyMessage(host: string, index: number, procs: readonly GpuProcess[]): string {
  const listed = procs.slice(0, MAX_LISTED_PROCESSES)
    .map((p) => `${p.pid === null ? 'pid unknown' : `pid ${p.pid}`} ${redactText(p.name)} (${p.usedMemoryMiB === null ? 'memory n/a' : `${p.usedMemoryMiB} MiB`})`);
  const more = procs.length > MAX_LISTED_PROCESSES ? `, and ${procs.length - MAX_LISTED_PROCESSES} more` : '';
  return `GPU ${index} on host ${host} is in use by ${procs.length} compute process${procs.length === 1 ? '' : 'es'}: ${listed.join('; ')}${more}. ` +
    'Nothing was reset: a reset would kill their work. Have them stopped first, then call gpu_reset again.';
}

/** One GPU's row; invalid_input when the host has no nvidia-smi or no GPU with this index. */
async function queryGpu(runner: CommandRunner, host: string, index: number, signal: AbortSignal): Promise<GpuRow> {
  const res = await runner.run(gpuQueryArgv(index), { ...SMI_RUN, signal });
  const none = noGpuReason(res);
  if (none) throw new ToolFailure('invalid_input', `host ${host} has no GPU ${index}: ${none}; gpu_status lists its GPUs`);
  if (res.exitCode !== 0) throw smiFailure(host, `query of GPU ${index}`, res);
  const row = parseGpuCsv(res.stdout).find((g) => g.index === index);
  if (!row) throw new ToolFailure('invalid_input', `host ${host} has no GPU ${index}; gpu_status lists its GPUs`);
  return row;
}

const GpuResetOutput = z.object({
  host: z.string(),
  gpu: z.number().int(),
  reset: z.literal(true),
  message: z.string(),
  state: GpuState.nullable(),
  note: z.string().nullable(),
});
type GpuResetOutput = z.infer<typeof GpuResetOutput>;

export const gpuReset = defineTool({
  name: 'gpu_reset',
  title: 'Reset a GPU',
  description:
    'Resets one hung NVIDIA GPU (nvidia-smi --gpu-reset). Refused while any process runs on it (it never kills one): check gpu_status. ' +
    'Everything on the GPU is lost. High risk.',
  family: 'gpu',
  risk: 'high',
  effect: 'reset',
  input: z.strictObject({
    host: HostName,
    gpu: z.number().int().min(0).max(MAX_GPU_INDEX).describe('GPU index from gpu_status.'),
  }),
  output: GpuResetOutput,
  target: (i) => `${i.host}/gpu${i.gpu}`,
  async run(input, ctx) {
    const runner = ctx.adapters.commands(input.host);
    const gpu = await queryGpu(runner, input.host, input.gpu, ctx.signal);
    const apps = await runner.run(computeAppsArgv(), { ...SMI_RUN, signal: ctx.signal });
    if (apps.exitCode !== 0) throw smiFailure(input.host, 'compute-process query', apps);
    const busy = processesOn(gpu.uuid, parseComputeAppsCsv(apps.stdout));
    if (busy.length > 0) throw new ToolFailure('target_failed', busyMessage(input.host, input.gpu, busy));
    const res = await runner.run(gpuResetArgv(input.gpu), { ...RESET_RUN, signal: ctx.signal });
    if (res.exitCode !== 0) throw smiFailure(input.host, `--gpu-reset of GPU ${input.gpu}`, res);
    const message = redactText(`${res.stdout}\n${res.stderr}`.trim()).slice(0, MAX_MESSAGE_CHARS);
    // The reset happened: a failing follow-up query must not report it as a failure.
    const after = await queryGpu(runner, input.host, input.gpu, ctx.signal).then(
      (state) => ({ state, note: null }),
      (err: unknown) => {
        if (err instanceof ToolFailure) return { state: null, note: `the GPU was reset, but reading its state failed: ${err.message}` };
        throw err;
      },
    );
    return { host: input.host, gpu: input.gpu, reset: true as const, message, ...after };
  },
  summarize(o: GpuResetOutput) {
    const s = o.state;
    const now = s
      ? `now ${s.utilizationPercent ?? 'n/a'}% util, ${s.memoryUsedMiB ?? 'n/a'}/${s.memoryTotalMiB ?? 'n/a'} MiB, ${s.temperatureC ?? 'n/a'}C`
      : (o.note ?? 'state unknown');
    return `${o.host}: GPU ${o.gpu}${s ? ` (${s.name})` : ''} was reset; ${now.slice(0, 300)}`;
  },
  plan: (i) => `reset GPU ${i.gpu} on host ${i.host} (nvidia-smi --gpu-reset -i ${i.gpu}), unless compute processes run on it`,
});
