// The change kind of reboot_host: the host's state before the reboot (boot id, uptime, containers)
// is the before state; the check is "it answers again with another boot id and every container that
// ran before runs again"; the only undo a reboot has is starting those containers. Never reboots.
import { setTimeout as delay } from 'node:timers/promises';
import type { CommandRunner } from '../adapters/commands.js';
import type { ContainerSummary } from '../adapters/docker-types.js';
import { ToolFailure, errorMessage } from '../errors.js';
import { redactText } from '../shared/redact.js';
import type { ChangeRecord } from '../store/changes.js';
import { holdCheck, type ChangeKind, type Verification } from './change-transaction.js';
import type { ToolContext } from './spec.js';

export interface SavedContainer {
  name: string;
  id: string;
  image: string;
  state: string;
  running: boolean;
}

/** The before state, saved under the data dir's changes/ before the reboot is sent. */
export interface HostState {
  host: string;
  bootId: string;
  uptimeSeconds: number;
  savedAt: string;
  /** null: the host has no Docker endpoint, or Docker did not answer (then `dockerNote` says so). */
  containers: SavedContainer[] | null;
  dockerNote: string | null;
  /** Docker is declared but did not answer before the reboot: after it, it must answer again. */
  dockerDown: boolean;
}

/** What the kind needs from the change row, the call's input being gone after a crash. */
export interface RebootPlan {
  host: string;
  argv: string[];
  /** The boot id before: the same one after means the host did not reboot. */
  bootId: string;
  /** How long the host may take to answer again with its containers running. */
  waitSeconds: number;
  /** How long that must then hold. */
  verifySeconds: number;
}

export const BOOT_ARGV = ['cat', '/proc/sys/kernel/random/boot_id', '/proc/uptime'] as const;
const READ_RUN = { timeoutMs: 10_000, maxOutputBytes: 4_096, readOnly: true };
const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Between two looks at a host that is still down. */
const POLL_MS = 5_000;
/** Once the host is back, Docker's restart policies get this long to bring its containers up; then restore starts the rest. */
const CONTAINER_SETTLE_MS = 120_000;

/** `cat boot_id /proc/uptime` -> the boot id and the seconds since boot; undefined when it is not that. */
export function parseBoot(stdout: string): { bootId: string; uptimeSeconds: number } | undefined {
  const [id, uptime] = stdout.trim().split('\n').map((l) => l.trim());
  const seconds = Number(uptime?.split(/\s+/)[0]);
  if (!id || !BOOT_ID.test(id) || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return { bootId: id, uptimeSeconds: Math.round(seconds) };
}

/** The host's boot id and uptime; target_failed when they cannot be read (not Linux, no /proc). */
export async function readBoot(runner: CommandRunner, host: string, signal: AbortSignal): Promise<{ bootId: string; uptimeSeconds: number }> {
  const res = await runner.run(BOOT_ARGV, { ...READ_RUN, signal });
  const boot = res.exitCode === 0 ? parseBoot(res.stdout) : undefined;
  if (!boot) {
    const said = redactText(`${res.stderr}${res.stdout}`.trim()).slice(-300);
    throw new ToolFailure('target_failed', `cannot read the boot id of host ${host} (${BOOT_ARGV.join(' ')}, exit ${res.exitCode}): ${said || 'no boot id in its answer'}`, { exitCode: res.exitCode, tail: said });
  }
  return boot;
}

export const saveContainers = (list: readonly ContainerSummary[]): SavedContainer[] =>
  list.map((c) => ({ name: c.name, id: c.id, image: c.image, state: c.state, running: c.state === 'running' }));

/** The containers that ran before and do not run now (matched by name: a container recreated at boot counts). */
export function notRunning(before: readonly SavedContainer[], now: readonly ContainerSummary[]): string[] {
  const running = new Set(now.filter((c) => c.state === 'running').map((c) => c.name));
  return before.filter((c) => c.running && !running.has(c.name)).map((c) => c.name);
}

const short = (id: string): string => id.slice(0, 8);
const names = (list: readonly string[]): string => (list.length > 10 ? `${list.slice(0, 10).join(', ')} and ${list.length - 10} more` : list.join(', '));
export const loadState = (change: ChangeRecord, ctx: ToolContext): HostState => JSON.parse(ctx.changes.load(change.beforeRef).toString('utf8')) as HostState;

/** How the containers compare with the before state; ok when every one that ran runs. */
async function containersBack(st: HostState, ctx: ToolContext): Promise<Verification> {
  if (st.containers === null) return { ok: true, detail: 'no containers were recorded before the reboot' };
  const wanted = st.containers.filter((c) => c.running).length;
  const missing = notRunning(st.containers, await ctx.adapters.docker(st.host).listContainers({ all: true }));
  return missing.length
    ? { ok: false, detail: `not running again: ${names(missing)} (of ${wanted} that ran before the reboot)` }
    : { ok: true, detail: wanted === 0 ? 'no container ran before the reboot' : wanted === 1 ? 'the 1 container that ran before the reboot runs' : `all ${wanted} containers that ran before the reboot run` };
}

/** For a host whose Docker did not answer before the reboot (often why it was rebooted): it must now. */
async function dockerAnswers(st: HostState, ctx: ToolContext): Promise<Verification> {
  await ctx.adapters.docker(st.host).ping();
  return { ok: true, detail: 'Docker, which did not answer before the reboot, answers' };
}

type Look = Verification & { phase: 'down' | 'same-boot' | 'back'; bootId?: string };

/** One look at the host: down, still on the old boot, or back (then its containers decide ok). */
async function look(plan: RebootPlan, st: HostState, ctx: ToolContext): Promise<Look> {
  let boot: { bootId: string; uptimeSeconds: number };
  try {
    boot = await readBoot(ctx.adapters.commands(plan.host), plan.host, ctx.signal);
  } catch (err) {
    return { ok: false, phase: 'down', detail: `host ${plan.host} does not answer (${errorMessage(err)})` };
  }
  if (boot.bootId === plan.bootId) return { ok: false, phase: 'same-boot', detail: `host ${plan.host} did not reboot: its boot id is still ${short(plan.bootId)}, up ${boot.uptimeSeconds} s` };
  const head = `host ${plan.host} rebooted: boot id ${short(plan.bootId)} -> ${short(boot.bootId)}, up ${boot.uptimeSeconds} s`;
  const containers = await (st.dockerDown ? dockerAnswers(st, ctx) : containersBack(st, ctx)).catch((err: unknown): Verification => ({ ok: false, detail: `Docker does not answer (${errorMessage(err)})` }));
  return { ...containers, phase: 'back', bootId: boot.bootId, detail: `${head}; ${containers.detail}` };
}

/** Looks until the host is back with its containers, the wait is over, or the containers had their settle time. */
async function awaitReboot(plan: RebootPlan, st: HostState, ctx: ToolContext): Promise<Look> {
  const start = Date.now();
  const end = start + plan.waitSeconds * 1_000;
  let settleEnd: number | undefined;
  for (;;) {
    const seen = await look(plan, st, ctx);
    if (seen.ok) return seen;
    if (seen.phase === 'back') settleEnd ??= Date.now() + CONTAINER_SETTLE_MS;
    const stop = Math.min(end, settleEnd ?? end);
    if (ctx.signal.aborted) return { ...seen, detail: `${seen.detail} (cancelled)` };
    if (Date.now() >= stop) return { ...seen, detail: `${seen.detail}, after ${Math.round((Date.now() - start) / 1_000)} s of waiting` };
    await delay(Math.min(POLL_MS, stop - Date.now()), undefined, { signal: ctx.signal }).catch(() => undefined);
  }
}

export const hostRebootKind: ChangeKind = {
  kind: 'host_reboot',
  async drift(change) {
    // A reboot that checked out has nothing to undo; a container stopped since was stopped by someone.
    return change.status === 'verified'
      ? `change ${change.id} is a reboot that checked out: there is nothing to roll back; start a container that should run with start_container`
      : undefined;
  },
  async restore(change, ctx) {
    const st = loadState(change, ctx);
    if (st.containers === null) return 'no containers were recorded before the reboot: nothing to start';
    const docker = ctx.adapters.docker(st.host);
    const missing = notRunning(st.containers, await docker.listContainers({ all: true }));
    if (!missing.length) return 'every container that ran before the reboot runs: nothing to start';
    const started: string[] = [];
    const failed: string[] = [];
    for (const name of missing) {
      await docker.startContainer(name).then(() => started.push(name), (err: unknown) => failed.push(`${name} (${errorMessage(err)})`));
    }
    if (failed.length) throw new ToolFailure('target_failed', `${started.length ? `started ${names(started)}; ` : ''}could not start ${failed.join('; ')}`);
    return `started ${names(started)}, which ran before the reboot`;
  },
  async check(change, ctx, expect) {
    const plan = change.plan as RebootPlan;
    const st = loadState(change, ctx);
    // After a rollback only the containers count: a reboot cannot be undone.
    if (expect === 'before') return holdCheck(() => containersBack(st, ctx), Math.min(plan.verifySeconds, 3), ctx.signal);
    const back = await awaitReboot(plan, st, ctx);
    if (!back.ok) return back;
    return holdCheck(async () => {
      const now = await look(plan, st, ctx);
      return now.bootId === undefined || now.bootId === back.bootId ? now : { ok: false, detail: `${now.detail}: it rebooted again since boot ${short(back.bootId ?? '')} (a boot loop?)` };
    }, plan.verifySeconds, ctx.signal, 2_000);
  },
};
