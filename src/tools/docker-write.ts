// start_container and stop_container: one Docker request each, then the state the container is
// really in. Whether a call may run is the guard's business, never these functions'.
import { z } from 'zod';
import { MAX_WAIT_S, SettledOutput, WaitSeconds, summarizeSettled, waitSettled } from './docker-settle.js';
import { refuseRace, withStartError } from './docker-start-checks.js';
import { ContainerRef, HostName, defineTool } from './spec.js';
import { bareName } from '../shared/containers.js';

const STOPPED = new Set(['created', 'exited', 'dead']);

const targetOf = (i: { host: string; container: string }): string => `${i.host}/${bareName(i.container)}`;

export const startContainer = defineTool({
  name: 'start_container',
  title: 'Start a stopped container',
  description:
    'Starts one stopped (exited or created) container with its existing configuration, then waits up to waitSeconds for it to be running, ' +
    'and healthy if it has a health check; returns settled=true, or settled=false with the reason (it exited again, Docker keeps restarting it, its health check fails, or time ran out). ' +
    'Use it for a container that is down and should be up, after inspect_container or container_logs show why it stopped; ' +
    'not for a running container (that is restart_container) nor for changing its configuration (recreate_container). ' +
    "Refused while Docker's own restart policy is restarting it: warden never races Docker. " +
    "If Docker cannot start it (its command does not exist, exit 127) the call fails quoting Docker's error: a configuration error that a retry will not fix. " +
    `Starting a running container changes nothing and reports its state. Waits at most ${MAX_WAIT_S}s.`,
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
  state: z.string().describe('exited once stopped'),
  running: z.boolean(),
  exitCode: z.number().int().describe('143 = SIGTERM honoured; 137 = killed after the grace period'),
  finishedAt: z.string(),
  wasRunning: z.boolean().describe('false when the container was already stopped (created, exited or dead) and nothing was done'),
});

export const stopContainer = defineTool({
  name: 'stop_container',
  title: 'Stop a container',
  description:
    'Stops one running container: its stop signal (SIGTERM unless configured), then SIGKILL after timeoutSeconds; returns its final state and exit code. ' +
    'Use it to take a misbehaving service out of action (runaway CPU or memory, corrupting data, flooding a dependency) while a human decides what next. ' +
    'Not a fix by itself: the service stays down until someone starts it; Docker\'s restart policy does not bring back a container stopped this way ' +
    '(only "always", when the Docker daemon itself restarts). ' +
    'Side effect: an outage of whatever that container serves. Stopping a stopped container changes nothing (wasRunning=false). ' +
    'The call lasts at most the grace period plus a few seconds.',
  family: 'docker',
  risk: 'medium',
  effect: 'stop',
  input: z.strictObject({
    host: HostName,
    container: ContainerRef,
    timeoutSeconds: z.number().int().min(0).max(300).default(10).describe('Grace period between the stop signal and SIGKILL (default 10).'),
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
