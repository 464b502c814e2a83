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
    loadAverage: z.array(z.number()).length(3),
    usagePercent: z.number().nullable(),
  }),
  memory: z.object({
    totalBytes: z.number(),
    usedBytes: z.number(),
    availableBytes: z.number(),
  }),
  disks: z.array(Disk),
  temperatures: z.array(z.object({ label: z.string(), celsius: z.number() })),
  gpus: z.array(Gpu),
  truncated: z.boolean(),
  notes: z.array(z.string()),
});

export const hostMetrics = defineTool({
  name: 'host_metrics',
  title: 'Host metrics',
  description:
    'One host\'s CPU, memory, disk use per filesystem, temperatures and GPUs: for a service slow or dying for no visible reason (full disk, memory pressure). ' +
    `Unreadable parts: empty, with a note. Read-only; at most ${MAX_DISKS} disks, fullest first.`,
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
    // Disks come fullest first: the head names only that one; the rest stay in structuredContent.
    const fullest = o.disks[0];
    const hottest = o.temperatures.length ? Math.max(...o.temperatures.map((t) => t.celsius)) : null;
    return [
      `${o.host}: ${o.cpu.cores} cores, load ${o.cpu.loadAverage.join(' ')}, CPU ${o.cpu.usagePercent ?? 'n/a'}%; ` +
        `memory ${gib(o.memory.usedBytes)} used of ${gib(o.memory.totalBytes)} (${gib(o.memory.availableBytes)} available)`,
      `${o.disks.length} disk${o.disks.length === 1 ? '' : 's'}${fullest ? ` (fullest ${JSON.stringify(fullest.mount.slice(0, 60))} ${fullest.usePercent}% used)` : ''}; ` +
        `${hottest === null ? 'no temperatures' : `hottest ${hottest}C`}; ${o.gpus.length} GPU${o.gpus.length === 1 ? '' : 's'}` +
        `${o.truncated ? '; lists truncated' : ''}${o.notes.length ? `; ${o.notes.length} section${o.notes.length === 1 ? '' : 's'} unread (see notes)` : ''}`,
    ].join('\n');
  },
});
