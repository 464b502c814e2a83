// Host tools: a read-only snapshot of one machine's CPU, memory, disks, temperatures and GPUs
// through the injected metrics probe (systeminformation locally, a fixed probe over SSH).
import { z } from 'zod';
import { HostName, defineTool } from './spec.js';

const MAX_DISKS = 50;
const MAX_TEMPERATURES = 32;
const MAX_GPUS = 16;

const Disk = z.object({
  fs: z.string(),
  type: z.string(),
  mount: z.string(),
  sizeBytes: z.number(),
  usedBytes: z.number(),
  availableBytes: z.number(),
  usePercent: z.number(),
});

const Gpu = z.object({
  model: z.string(),
  vendor: z.string(),
  memoryTotalMiB: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  utilizationPercent: z.number().nullable(),
  temperatureC: z.number().nullable(),
});

const HostMetricsOutput = z.object({
  host: z.string(),
  cpu: z.object({
    cores: z.number().int(),
    loadAverage: z.array(z.number()).length(3).describe('1, 5 and 15 minute load averages'),
    usagePercent: z.number().nullable().describe('busy share of all cores over a short sampling window'),
  }),
  memory: z.object({
    totalBytes: z.number(),
    usedBytes: z.number().describe('total minus available'),
    availableBytes: z.number().describe('what new work can use without swapping'),
  }),
  disks: z.array(Disk).describe(`real filesystems (no tmpfs/overlay), fullest first, at most ${MAX_DISKS}`),
  temperatures: z.array(z.object({ label: z.string(), celsius: z.number() })),
  gpus: z.array(Gpu),
  truncated: z.boolean().describe('true when a list was cut at its cap'),
  notes: z.array(z.string()).describe('sections that could not be read, in plain words'),
});

export const hostMetrics = defineTool({
  name: 'host_metrics',
  title: 'Host metrics',
  description:
    'Reads one host\'s current CPU (cores, load averages, usage % over a short window), memory (total/used/available bytes), ' +
    'disk usage per mounted filesystem, temperatures and GPUs. ' +
    'Use it when a service is slow or dying for no visible reason: a full disk, memory pressure or a hot, saturated machine. ' +
    'Sections that cannot be read (no sensors, a hung mount) come back empty with a note instead of failing the call. ' +
    'For per-GPU processes and power use gpu_status. ' +
    `Read-only; at most ${MAX_DISKS} disks (fullest first), ${MAX_TEMPERATURES} temperatures and ${MAX_GPUS} GPUs.`,
  family: 'host',
  risk: 'read',
  input: z.strictObject({ host: HostName }),
  output: HostMetricsOutput,
  target: (i) => `${i.host}/metrics`,
  async run(input, ctx) {
    const m = await ctx.adapters.metrics(input.host).collect(ctx.signal);
    const disks = [...m.disks].sort((a, b) => b.usePercent - a.usePercent);
    return {
      host: input.host,
      cpu: m.cpu,
      memory: m.memory,
      disks: disks.slice(0, MAX_DISKS),
      temperatures: m.temperatures.slice(0, MAX_TEMPERATURES),
      gpus: m.gpus.slice(0, MAX_GPUS),
      truncated: disks.length > MAX_DISKS || m.temperatures.length > MAX_TEMPERATURES || m.gpus.length > MAX_GPUS,
      notes: m.notes,
    };
  },
  summarize(o) {
    const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
    const lines = [
      `${o.host}: ${o.cpu.cores} cores, load ${o.cpu.loadAverage.join(' ')}, CPU ${o.cpu.usagePercent ?? 'n/a'}%`,
      `memory ${gib(o.memory.usedBytes)} used of ${gib(o.memory.totalBytes)} (${gib(o.memory.availableBytes)} available)`,
      ...o.disks.map((d) => `disk ${d.mount} ${d.usePercent}% of ${gib(d.sizeBytes)} (${d.fs})`),
    ];
    if (o.temperatures.length) lines.push(`temperatures: ${o.temperatures.map((t) => `${t.label} ${t.celsius}C`).join(', ')}`);
    lines.push(o.gpus.length ? `GPUs: ${o.gpus.map((g) => g.model).join(', ')}` : 'GPUs: none found');
    for (const n of o.notes) lines.push(`note: ${n}`);
    return lines.join('\n');
  },
});
