// Container tools. Each is a spec around a plain function over the injected Docker adapter.
import { z } from 'zod';
import { MAX_WAIT_S, SettledOutput, WaitSeconds, summarizeSettled, waitSettled } from './docker-settle.js';
import { POLICY_RUN_MS, refuseRace, withStartError } from './docker-start-checks.js';
import { ContainerRef, HostName, defineTool } from './spec.js';
import { bareName } from '../shared/containers.js';

const MAX_CONTAINERS = 200;

const ContainerRow = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string().describe('created, running, paused, restarting, exited, dead'),
  status: z.string(),
  exitCode: z.number().int().nullable(),
  health: z.string().nullable(),
  restartCount: z.number().int(),
  restartPolicy: z.string(),
});

const ListContainersOutput = z.object({
  host: z.string(),
  containers: z.array(ContainerRow),
  truncated: z.boolean().describe(`true when more than ${MAX_CONTAINERS} matched`),
});

export const listContainers = defineTool({
  name: 'list_containers',
  title: 'List containers',
  description:
    'Lists the Docker containers on one host with name, image, state, status, exit code, health, restart count and restart policy. ' +
    'Use it first to find a container by name and see what is down or unhealthy. ' +
    'By default stopped containers are included; set all=false for running ones only. ' +
    `Read-only. Returns at most ${MAX_CONTAINERS} containers (truncated=true says more exist); use name to filter.`,
  family: 'docker',
  risk: 'read',
  input: z.strictObject({
    host: HostName,
    all: z.boolean().default(true).describe('Include stopped containers (default true).'),
    name: z.string().max(128).optional().describe('Only containers whose name contains this text.'),
  }),
  output: ListContainersOutput,
  target: (i) => `${i.host}/*`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    const all = await docker.listContainers({ all: input.all });
    const matched = input.name ? all.filter((c) => c.name.includes(input.name!)) : all;
    matched.sort((a, b) => a.name.localeCompare(b.name));
    return { host: input.host, containers: matched.slice(0, MAX_CONTAINERS), truncated: matched.length > MAX_CONTAINERS };
  },
  summarize(out) {
    if (out.containers.length === 0) return `${out.host}: no containers`;
    const lines = out.containers.map((c) => {
      const extra = [
        c.exitCode !== null && c.state !== 'running' ? `exit ${c.exitCode}` : '',
        c.health ? c.health : '',
        c.restartCount > 0 ? `restarts ${c.restartCount}` : '',
      ].filter(Boolean);
      return `${c.name} ${c.state}${extra.length ? ` (${extra.join(', ')})` : ''} ${c.image}`;
    });
    return `${out.host}: ${out.containers.length} containers${out.truncated ? ' (truncated)' : ''}\n${lines.join('\n')}`;
  },
});

export const restartContainer = defineTool({
  name: 'restart_container',
  title: 'Restart a container',
  description:
    'Restarts one container (stop with a grace period, then start), then waits up to waitSeconds for it to be running, and healthy if it has a health check; ' +
    'returns its state with settled=true, or settled=false and the reason (it exited, its health check fails, Docker keeps restarting it, or time ran out). ' +
    'Use it for a crashed or hung service once logs or inspect_container show a restart is the fix; for a stopped container use start_container. ' +
    `Refused while Docker's own restart policy is restarting the container, or started it under ${POLICY_RUN_MS / 1000}s ago: warden never races Docker; ` +
    'wait, or stop_container first. Never in a loop: repeated restarts of the same target are held by the policy. Side effect: brief downtime of that container. ' +
    `Waits at most ${MAX_WAIT_S}s beyond the grace period.`,
  family: 'docker',
  risk: 'low',
  effect: 'restart',
  input: z.strictObject({
    host: HostName,
    container: ContainerRef,
    timeoutSeconds: z.number().int().min(0).max(300).default(10).describe('Grace period before SIGKILL (default 10).'),
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
