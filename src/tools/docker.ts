// Container tools. Each is a spec around a plain function over the injected Docker adapter.
import { z } from 'zod';
import { SettledOutput, WaitSeconds, summarizeSettled, waitSettled } from './docker-settle.js';
import { POLICY_RUN_MS, refuseRace, withStartError } from './docker-start-checks.js';
import { ContainerRef, HostName, defineTool } from './spec.js';
import { bareName } from '../shared/containers.js';

const MAX_CONTAINERS = 200;

// A field at its usual value (no health check, never restarted, no restart policy, still running) is
// left out: 22 containers cost half the characters, and what stands out is what differs.
const ContainerRow = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string(),
  status: z.string(),
  exitCode: z.number().int().optional(),
  health: z.string().optional(),
  restartCount: z.number().int().optional(),
  restartPolicy: z.string().optional(),
});
type Row = z.infer<typeof ContainerRow>;

const ListContainersOutput = z.object({
  host: z.string(),
  containers: z.array(ContainerRow).describe('exitCode, health, restartCount, restartPolicy are left out when none, 0 or "no"'),
  truncated: z.boolean(),
});

export const listContainers = defineTool({
  name: 'list_containers',
  title: 'List containers',
  description:
    'Lists one host\'s Docker containers: name, image, state, exit code, health, restarts. Use it first, to find a container and see what is down. ' +
    `Read-only; at most ${MAX_CONTAINERS} (truncated=true: filter by name).`,
  family: 'docker',
  risk: 'read',
  input: z.strictObject({
    host: HostName,
    all: z.boolean().default(true).describe('Include stopped containers.'),
    name: z.string().max(128).optional().describe('Only names containing this text.'),
  }),
  output: ListContainersOutput,
  target: (i) => `${i.host}/*`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    const all = await docker.listContainers({ all: input.all });
    const matched = input.name ? all.filter((c) => c.name.includes(input.name!)) : all;
    matched.sort((a, b) => a.name.localeCompare(b.name));
    const rows = matched.slice(0, MAX_CONTAINERS).map((c): Row => ({
      id: c.id, name: c.name, image: c.image, state: c.state, status: c.status,
      ...(c.exitCode === null ? {} : { exitCode: c.exitCode }),
      ...(c.health === null ? {} : { health: c.health }),
      ...(c.restartCount === 0 ? {} : { restartCount: c.restartCount }),
      ...(c.restartPolicy === 'no' || c.restartPolicy === '' ? {} : { restartPolicy: c.restartPolicy }),
    }));
    return { host: input.host, containers: rows, truncated: matched.length > MAX_CONTAINERS };
  },
  summarize: summarizeList,
});

/** Counts by state and health, e.g. "local: 5 containers (3 running, 2 exited; 1 unhealthy)"; the names stay in structuredContent. */
function summarizeList(out: z.infer<typeof ListContainersOutput>): string {
  if (out.containers.length === 0) return `${out.host}: no containers`;
  const count = (values: string[]): string => {
    const n = new Map<string, number>();
    for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
    // Docker's own words, a handful of them; a daemon that invents more still gets one short line.
    const parts = [...n].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([v, k]) => `${k} ${v.slice(0, 20)}`);
    return parts.length > 6 ? `${parts.slice(0, 6).join(', ')}, …` : parts.join(', ');
  };
  const health = count(out.containers.map((c) => c.health ?? '').filter((h) => h !== '' && h !== 'healthy'));
  const restarting = out.containers.filter((c) => (c.restartCount ?? 0) > 0).length;
  const notes = [health, restarting ? `${restarting} restarted before` : ''].filter(Boolean).join(', ');
  const total = `${out.containers.length} container${out.containers.length === 1 ? '' : 's'}${out.truncated ? ` (truncated at ${MAX_CONTAINERS})` : ''}`;
  return `${out.host}: ${total}: ${count(out.containers.map((c) => c.state))}${notes ? `; ${notes}` : ''}`;
}

export const restartContainer = defineTool({
  name: 'restart_container',
  title: 'Restart a container',
  description:
    'Restarts one container, then waits up to waitSeconds for it to run (and be healthy); settled=false says why not. Use it once logs show a restart is the fix. ' +
    `Refused while Docker\'s restart policy restarts it, or started it under ${POLICY_RUN_MS / 1000}s ago. Repeated restarts are held by policy. Brief downtime.`,
  family: 'docker',
  risk: 'low',
  effect: 'restart',
  input: z.strictObject({
    host: HostName,
    container: ContainerRef,
    timeoutSeconds: z.number().int().min(0).max(300).default(10).describe('Grace period before SIGKILL.'),
    waitSeconds: WaitSeconds,
  }),
  output: SettledOutput,
  target: (i) => `${i.host}/${bareName(i.container)}`,
  plan: (i) => `restart container ${i.container} on host ${i.host} (grace ${i.timeoutSeconds}s), then wait up to ${i.waitSeconds}s for it to be running and healthy`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    await refuseRace(docker, input.host, input.container, 'restart');
    await withStartError(docker, input.host, input.container, () => docker.restartContainer(input.container, input.timeoutSeconds));
    return waitSettled(docker, input.host, input.container, input.waitSeconds, ctx.signal);
  },
  summarize: (o) => summarizeSettled('restarted', o),
});
