// inspect_container: why a container is in the state it is in, in one read. Env values never
// appear (the adapter drops them); probe output, labels and arguments arrive already redacted.
import { z } from 'zod';
import { HEALTH_PROBES, MAX_ITEMS, PROBE_OUTPUT_CHARS } from '../adapters/docker-view.js';
import { REDACTED } from '../shared/redact.js';
import { explainExit } from './exit-meaning.js';
import { ContainerRef, HostName, defineTool } from './spec.js';
import { bareName } from '../shared/containers.js';

const NoLimit = (what: string) => z.number().nullable().describe(`${what}; null = no limit`);

const InspectContainerOutput = z.object({
  host: z.string(),
  id: z.string(),
  name: z.string(),
  state: z.string().describe('created, running, paused, restarting, exited, dead'),
  running: z.boolean(),
  restarting: z.boolean(),
  exitCode: z.number().int(),
  oomKilled: z.boolean().describe('true only when the kernel OOM killer killed a process in it'),
  exitMeaning: z.string().describe('the exit code in plain words; 137 without oomKilled is a SIGKILL, not an OOM'),
  error: z.string().describe("Docker's own error for the last start, '' when none"),
  restartPolicy: z.object({ name: z.string(), maximumRetryCount: z.number().int() }),
  restartCount: z.number().int(),
  health: z
    .object({
      status: z.string(),
      failingStreak: z.number().int(),
      log: z.array(z.object({ start: z.string(), end: z.string(), exitCode: z.number().int(), output: z.string() })),
    })
    .nullable()
    .describe('null when the container has no health check'),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  createdAt: z.string(),
  image: z.string(),
  imageId: z.string(),
  entrypoint: z.array(z.string()),
  command: z.array(z.string()),
  tty: z.boolean(),
  limits: z.object({
    memoryBytes: NoLimit('memory limit in bytes'),
    memoryReservationBytes: NoLimit('memory soft limit in bytes'),
    nanoCpus: NoLimit('CPUs x 1e9'),
    cpuShares: NoLimit('relative CPU weight'),
    cpuQuota: NoLimit('CPU quota in microseconds per cpuPeriod'),
    cpuPeriod: NoLimit('CPU period in microseconds'),
    pidsLimit: NoLimit('maximum processes'),
  }),
  labels: z.record(z.string(), z.string()),
  mounts: z.array(z.object({ type: z.string(), source: z.string(), destination: z.string(), rw: z.boolean() })),
  networkMode: z.string(),
  env: z.array(z.string()).describe(`NAME=${REDACTED} for each variable: names only, values redacted`),
});
type InspectOut = z.infer<typeof InspectContainerOutput>;

export const inspectContainer = defineTool({
  name: 'inspect_container',
  title: 'Inspect a container',
  description:
    'Shows why one container is in its state: status, exit code with its meaning (exitMeaning), OOMKilled, Docker\'s error, ' +
    `restart policy and count, health status with the last ${HEALTH_PROBES} probes, limits (memory, CPU, pids), image, command, labels, mounts and network mode. ` +
    'Use it after list_containers on a container that exited, restarts or is unhealthy, before deciding on a restart. ' +
    'Exit 137 means SIGKILL: only oomKilled=true says it was out of memory. ' +
    `Environment variables are listed as NAME=${REDACTED}: values are never shown; probe output is cut to ${PROBE_OUTPUT_CHARS} characters and redacted; ` +
    `lists stop at ${MAX_ITEMS} entries. Read-only; for what the program printed use container_logs.`,
  family: 'docker',
  risk: 'read',
  input: z.strictObject({ host: HostName, container: ContainerRef }),
  output: InspectContainerOutput,
  target: (i) => `${i.host}/${bareName(i.container)}`,
  async run(input, ctx) {
    const d = await ctx.adapters.docker(input.host).inspectContainer(input.container);
    return {
      host: input.host,
      id: d.id,
      name: d.name,
      state: d.status,
      running: d.running,
      restarting: d.restarting,
      exitCode: d.exitCode,
      oomKilled: d.oomKilled,
      exitMeaning: explainExit({ status: d.status, running: d.running, exitCode: d.exitCode, oomKilled: d.oomKilled }),
      error: d.error,
      restartPolicy: d.restartPolicy,
      restartCount: d.restartCount,
      health: d.health,
      startedAt: d.startedAt,
      finishedAt: d.finishedAt,
      createdAt: d.createdAt,
      image: d.image,
      imageId: d.imageId,
      entrypoint: d.entrypoint,
      command: d.command,
      tty: d.tty,
      limits: d.limits,
      labels: d.labels,
      mounts: d.mounts,
      networkMode: d.networkMode,
      env: d.envNames.map((n) => `${n}=${REDACTED}`),
    };
  },
  summarize: summarizeInspect,
});

const MiB = 1024 * 1024;

function summarizeInspect(o: InspectOut): string {
  const lines = [`${o.host}/${o.name} ${o.state}: ${o.exitMeaning}`];
  if (o.error) lines.push(`docker error: ${o.error}`);
  const policy = o.restartPolicy.name === 'on-failure' && o.restartPolicy.maximumRetryCount > 0
    ? `on-failure (max ${o.restartPolicy.maximumRetryCount})`
    : o.restartPolicy.name;
  lines.push(`restart policy ${policy}, restarted ${o.restartCount} times${o.restarting ? ', restarting now' : ''}`);
  if (o.health) {
    const last = o.health.log.at(-1);
    const probe = last ? `; last probe exit ${last.exitCode}${last.output ? `: ${last.output.split('\n')[0]}` : ''}` : '';
    lines.push(`health ${o.health.status} (failing streak ${o.health.failingStreak})${probe}`);
  }
  const mem = o.limits.memoryBytes === null ? 'no memory limit' : `memory limit ${Math.round((o.limits.memoryBytes / MiB) * 10) / 10} MiB`;
  lines.push(`image ${o.image}; ${mem}; started ${o.startedAt ?? 'never'}, finished ${o.finishedAt ?? '-'}`);
  return lines.join('\n');
}
