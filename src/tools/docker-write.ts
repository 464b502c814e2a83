// start_container and stop_container: one Docker request each, then the state the container is
// really in. Whether a call may run is the guard's business, never these functions'.
import { z } from 'zod';
import { SettledOutput, WaitSeconds, summarizeSettled, waitSettled } from './docker-settle.js';
import { refuseRace, withStartError } from './docker-start-checks.js';
import { ContainerRef, HostName, defineTool } from './spec.js';
import { bareName } from '../shared/containers.js';

const STOPPED = new Set(['created', 'exited', 'dead']);

const targetOf = (i: { host: string; container: string }): string => `${i.host}/${bareName(i.container)}`;

export const startContainer = defineTool({
  name: 'start_container',
  title: 'Start a stopped container',
  description:
    'Starts one stopped container as configured, then waits up to waitSeconds for it to run (and be healthy); settled=false says why not. ' +
    'Refused while Docker\'s restart policy restarts it. A missing command (exit 127) is a config error: do not retry.',
  family: 'docker',
  risk: 'low',
  effect: 'restart',
  input: z.strictObject({ host: HostName, container: ContainerRef, waitSeconds: WaitSeconds }),
  output: SettledOutput,
  target: targetOf,
  plan: (i) => `start container ${i.container} on host ${i.host}, then wait up to ${i.waitSeconds}s for it to be running and healthy`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    await refuseRace(docker, input.host, input.container, 'start');
    await withStartError(docker, input.host, input.container, () => docker.startContainer(input.container));
    return waitSettled(docker, input.host, input.container, input.waitSeconds, ctx.signal);
  },
  summarize: (o) => summarizeSettled('started', o),
});

const StopOutput = z.object({
  host: z.string(),
  name: z.string(),
  id: z.string(),
  state: z.string(),
  running: z.boolean(),
  exitCode: z.number().int().describe('143: stopped on SIGTERM; 137: killed after the grace period'),
  finishedAt: z.string(),
  wasRunning: z.boolean().describe('false: already stopped, nothing done'),
});

export const stopContainer = defineTool({
  name: 'stop_container',
  title: 'Stop a container',
  description:
    'Stops one container (stop signal, then SIGKILL after timeoutSeconds) to take a misbehaving service out of action while a human decides. ' +
    'Not a fix: it stays down; its restart policy does not bring it back. Side effect: an outage.',
  family: 'docker',
  risk: 'medium',
  effect: 'stop',
  input: z.strictObject({
    host: HostName,
    container: ContainerRef,
    timeoutSeconds: z.number().int().min(0).max(300).default(10).describe('Grace period before SIGKILL.'),
  }),
  output: StopOutput,
  target: targetOf,
  plan: (i) => `stop container ${i.container} on host ${i.host} (stop signal, then SIGKILL after ${i.timeoutSeconds}s); it stays down until started again`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    const before = await docker.containerState(input.container);
    // A restarting or paused container is not stopped: Docker would bring it back or resume it.
    const active = !STOPPED.has(before.state);
    if (active) await docker.stopContainer(input.container, input.timeoutSeconds);
    const s = active ? await docker.containerState(input.container) : before;
    return {
      host: input.host, name: s.name, id: s.id, state: s.state, running: s.running,
      exitCode: s.exitCode, finishedAt: s.finishedAt, wasRunning: active,
    };
  },
  summarize: (o) => (o.wasRunning
    ? `${o.host}/${o.name} stopped: ${o.state}, exit ${o.exitCode} at ${o.finishedAt}`
    : `${o.host}/${o.name} was not running (${o.state}); nothing done`),
});
