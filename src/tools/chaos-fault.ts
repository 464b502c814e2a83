// inject_fault: one fault (kill, stop, exit, oom, pause, unhealthy) into one container that opted in
// with the label warden.chaos=true, for `warden chaos run`, or its undo. Opt-in (tools.enabled), and
// it runs only for principal chaos: the label is read live from Docker, never taken from the input.
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { CommandResult } from '../adapters/commands.js';
import type { ContainerState, DockerAdapter } from '../adapters/docker.js';
import { ToolFailure } from '../errors.js';
import { redactText } from '../shared/redact.js';
import { CHAOS_PRINCIPAL } from '../shared/roles.js';
import { bareName } from '../shared/containers.js';
import { ContainerRef, HostName, defineTool, type ToolContext } from './spec.js';

export const CHAOS_LABEL = 'warden.chaos';
/**
 * The `unhealthy` fault's marker. A container takes part only when its health check fails while
 * this file exists (docs/chaos.md); /dev/shm is a tmpfs Docker mounts afresh at each start, so a
 * restart, warden's or anyone's, clears it as it would clear a real wedge.
 */
export const UNHEALTHY_MARKER = '/dev/shm/warden-chaos-unhealthy';
export const FAULTS = ['kill', 'stop', 'exit', 'oom', 'pause', 'unhealthy'] as const;
export type Fault = (typeof FAULTS)[number];
export const EXIT_SIGNALS = ['TERM', 'INT', 'QUIT', 'HUP', 'USR1', 'USR2'] as const;

const MiB = 1024 * 1024;
const EXEC = { timeoutMs: 20_000, maxOutputBytes: 4_096 };
/** How long a fault that should end the container may take to do so before it counts as not taken. */
const TAKE_MS = 5_000;

/** Raises the main process's OOM score, so the kernel kills it, as it kills a service that grew, rather than the hog. */
export const OOM_VICTIM_ARGV: readonly string[] = ['sh', '-c', 'echo 1000 > /proc/1/oom_score_adj'];

/** A buffer of `megabytes` filled from /dev/zero: busybox dd allocates bs at once. */
export function oomArgv(megabytes: number): string[] {
  return ['dd', 'if=/dev/zero', 'of=/dev/null', `bs=${megabytes}M`, 'count=1'];
}

/** The signal sent to PID 1 from inside the container, as a crash or the process's own supervisor would. */
export function exitArgv(signal: (typeof EXIT_SIGNALS)[number]): string[] {
  return ['kill', '-s', signal, '1'];
}

const Input = z.strictObject({
  host: HostName,
  container: ContainerRef,
  fault: z.enum(FAULTS).describe('kill: SIGKILL through Docker; stop: docker stop; exit: a signal to PID 1 from inside; oom: a memory hog within its limit; pause; unhealthy: its health check made to fail.'),
  undo: z.boolean().default(false).describe('Undo the fault instead: start it, unpause it, or clear the unhealthy marker.'),
  signal: z.enum(EXIT_SIGNALS).default('TERM').describe('exit only: the signal PID 1 gets; it must handle it to exit.'),
  megabytes: z.number().int().min(1).max(1_048_576).optional().describe('oom only: the hog\'s size, at most the container\'s memory limit (default: the limit).'),
});
type Input = z.infer<typeof Input>;

const StateView = z.object({ state: z.string(), running: z.boolean(), exitCode: z.number().int(), oomKilled: z.boolean(), health: z.string().nullable(), startedAt: z.string() });
const view = (s: ContainerState): z.infer<typeof StateView> =>
  ({ state: s.state, running: s.running, exitCode: s.exitCode, oomKilled: s.oomKilled, health: s.health, startedAt: s.startedAt });

const Output = z.object({
  host: z.string(),
  name: z.string(),
  id: z.string(),
  fault: z.enum(FAULTS),
  undo: z.boolean(),
  /** false: there was nothing to do (an undo of what already recovered). */
  acted: z.boolean(),
  note: z.string(),
  before: StateView,
  after: StateView,
});
type Output = z.infer<typeof Output>;

/**
 * The refusals that do not depend on the fault: who asks, and whether the container opted in. Docker
 * cannot change a container's labels after it is created, so every step after this one names the
 * container by the id read here, and acts on the container whose label was checked.
 */
async function optedIn(input: Input, ctx: ToolContext): Promise<ContainerState> {
  if (ctx.call.principal !== CHAOS_PRINCIPAL) {
    throw new ToolFailure('denied', `inject_fault runs only as principal ${CHAOS_PRINCIPAL} (warden chaos run), not as ${ctx.call.principal}; nothing was done`);
  }
  const s = await ctx.adapters.docker(input.host).containerState(input.container);
  if (s.labels[CHAOS_LABEL] !== 'true') {
    throw new ToolFailure('denied', `container ${s.name} on host ${input.host} does not carry the label ${CHAOS_LABEL}=true, so no fault may go into it; nothing was done`);
  }
  return s;
}

/** Waits until the container no longer runs (the fault took), or TAKE_MS passed. */
async function waitDown(docker: DockerAdapter, id: string, signal: AbortSignal): Promise<ContainerState> {
  const end = Date.now() + TAKE_MS;
  for (;;) {
    const s = await docker.containerState(id);
    if (!s.running || Date.now() >= end || signal.aborted) return s;
    await delay(100, undefined, { signal }).catch(() => undefined);
  }
}

/** A step of the fault that must work for the fault to mean anything (a busybox or coreutils applet in the image). */
function mustRun(res: CommandResult, s: ContainerState, host: string, what: string): void {
  if (res.exitCode !== 0) throw failed(s, host, `${what} failed in the container (exit ${res.exitCode}): ${redactText(res.stderr.trim()).slice(-300) || 'no output'}`);
}

function failed(s: ContainerState, host: string, why: string): ToolFailure {
  return new ToolFailure('target_failed', `${why} (container ${s.name} on host ${host}, ${s.state})`, { tail: why });
}

async function oom(docker: DockerAdapter, s: ContainerState, input: Input, ctx: ToolContext): Promise<string> {
  const limit = (await docker.resources(s.id)).memoryBytes;
  if (limit <= 0) throw new ToolFailure('invalid_input', `container ${s.name} on host ${input.host} has no memory limit: an oom fault would take the host's memory, so it is refused`);
  const most = Math.ceil(limit / MiB);
  const mb = input.megabytes ?? most;
  if (mb > most) throw new ToolFailure('invalid_input', `megabytes ${mb} is above the memory limit of container ${s.name} (${most} MiB); give at most ${most}`);
  mustRun(await docker.exec(s.id, OOM_VICTIM_ARGV, { ...EXEC, signal: ctx.signal }), s, input.host, 'raising the OOM score of PID 1');
  // The container dies under the hog: the exec's end is then Docker's to report, often as an error.
  await docker.exec(s.id, oomArgv(mb), { ...EXEC, signal: ctx.signal }).catch((err: unknown) => {
    if (!(err instanceof ToolFailure)) throw err;
  });
  return `a ${mb} MiB hog ran within the ${most} MiB limit, PID 1 first in the kernel's OOM order`;
}

async function inject(docker: DockerAdapter, s: ContainerState, input: Input, ctx: ToolContext): Promise<string> {
  const exec = async (argv: readonly string[], what: string): Promise<void> => mustRun(await docker.exec(s.id, argv, { ...EXEC, signal: ctx.signal }), s, input.host, what);
  if (!s.running || s.state === 'paused') throw failed(s, input.host, `a ${input.fault} fault needs a running container`);
  switch (input.fault) {
    case 'kill': await docker.killContainer(s.id, 'SIGKILL'); return 'SIGKILL sent through Docker (a kill event: warden reads it as a requested stop)';
    case 'stop': await docker.stopContainer(s.id, 10); return 'stopped through Docker (a stop event: warden reads it as a requested stop)';
    case 'pause': await docker.pauseContainer(s.id); return 'paused';
    case 'exit': {
      // The kill's own exec dies with the container when it works, so its end says little: the wait after it decides.
      const res = await docker.exec(s.id, exitArgv(input.signal), { ...EXEC, signal: ctx.signal }).catch((err: unknown) => {
        if (err instanceof ToolFailure) return err;
        throw err;
      });
      const said = res instanceof ToolFailure ? res.message : res.exitCode === 0 ? 'exit 0' : `exit ${res.exitCode}: ${redactText(res.stderr.trim()).slice(-200)}`;
      return `SIG${input.signal} sent to PID 1 from inside the container (kill: ${said})`;
    }
    case 'oom': return oom(docker, s, input, ctx);
    case 'unhealthy': {
      if (!s.healthTest || s.healthTest[0] === 'NONE' || !s.healthTest.join(' ').includes(UNHEALTHY_MARKER)) {
        throw new ToolFailure('invalid_input', `container ${s.name} on host ${input.host} has no health check that fails while ${UNHEALTHY_MARKER} exists, so an unhealthy fault cannot be injected or undone (docs/chaos.md)`);
      }
      await exec(['touch', UNHEALTHY_MARKER], `touch ${UNHEALTHY_MARKER}`);
      return `${UNHEALTHY_MARKER} created: its health check fails until it is removed or the container restarts`;
    }
  }
}

/** Puts back what the fault took, only where it is still missing; false when nothing was to do. */
async function undo(docker: DockerAdapter, s: ContainerState, input: Input, ctx: ToolContext): Promise<{ acted: boolean; note: string }> {
  if (input.fault === 'pause') {
    if (s.state !== 'paused') return { acted: false, note: `not paused (${s.state}): nothing to undo` };
    await docker.unpauseContainer(s.id);
    return { acted: true, note: 'unpaused' };
  }
  if (input.fault === 'unhealthy') {
    if (!s.running || s.state === 'paused') return { acted: false, note: `not running (${s.state}): the marker goes with the next start` };
    const there = await docker.exec(s.id, ['test', '-e', UNHEALTHY_MARKER], { ...EXEC, signal: ctx.signal });
    if (there.exitCode !== 0) return { acted: false, note: `${UNHEALTHY_MARKER} is gone already (a restart cleared it)` };
    await docker.exec(s.id, ['rm', '-f', UNHEALTHY_MARKER], { ...EXEC, signal: ctx.signal });
    return { acted: true, note: `${UNHEALTHY_MARKER} removed` };
  }
  if (s.running) return { acted: false, note: `running (${s.state}): nothing to undo` };
  await docker.startContainer(s.id);
  return { acted: true, note: 'started' };
}

export const injectFault = defineTool({
  name: 'inject_fault',
  title: 'Inject a chaos fault',
  description:
    'For warden chaos run only (principal chaos): injects one fault into a container labelled warden.chaos=true, or undoes it. ' +
    'Refused for any other caller or container. Not a repair tool: never call it while handling an incident.',
  family: 'docker',
  risk: 'high',
  effect: 'stop',
  idempotent: false,
  input: Input,
  output: Output,
  target: (i) => `${i.host}/${bareName(i.container)}`,
  plan: (i) => `${i.undo ? 'undo' : 'inject'} fault ${i.fault} ${i.undo ? 'on' : 'into'} container ${i.container} on host ${i.host}, if it carries ${CHAOS_LABEL}=true`,
  async run(input, ctx): Promise<Output> {
    const before = await optedIn(input, ctx);
    const docker = ctx.adapters.docker(input.host);
    let acted = true;
    let note: string;
    if (input.undo) ({ acted, note } = await undo(docker, before, input, ctx));
    else note = await inject(docker, before, input, ctx);
    const ends = !input.undo && (input.fault === 'exit' || input.fault === 'oom');
    const after = ends ? await waitDown(docker, before.id, ctx.signal) : await docker.containerState(before.id);
    if (ends && after.running) {
      const why = input.fault === 'exit' ? 'its main process ignored the signal' : 'the hog did not push it over its limit (swap, or a hog below the limit)';
      throw failed(after, input.host, `${note}, but it still runs after ${TAKE_MS / 1000} s: ${why}`);
    }
    return { host: input.host, name: before.name, id: before.id, fault: input.fault, undo: input.undo, acted, note, before: view(before), after: view(after) };
  },
  summarize: (o) => `${o.host}/${o.name} ${o.undo ? 'undo' : 'fault'} ${o.fault}: ${o.note}; now ${o.after.state}${o.after.health ? ` (${o.after.health})` : ''}`,
});
