// The deterministic runbooks the loop falls back on when Claude cannot be reached or its budget is
// spent (and acts with first in restore-first tiers). A pure function: a container's inspect view and
// the incident's history in, one action out. It never calls a tool itself; the runner does, through the gate.
import type { LoopConfig } from './config.js';
import type { TimelineEvent } from '../shared/incidents.js';

/** The part of inspect_container's output the runbooks read. */
export interface ContainerView {
  state: string;
  running: boolean;
  restarting: boolean;
  exitCode: number;
  oomKilled: boolean;
  restartPolicy: { name: string; maximumRetryCount: number };
  restartCount: number;
  health: { status: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
  limits: { memoryBytes: number | null };
  /** Docker's error for the last start (State.Error, as inspect_container passes it on); '' when none. */
  error?: string;
}

/** What the fallback saw at each earlier decision for this incident, oldest first. */
export interface FallbackHistory {
  looks: Array<{
    decision: FallbackAction['kind'];
    state: string;
    restartCount: number;
    oomKilled: boolean;
    finishedAt: string | null;
    /** Absent in looks recorded before it was kept. */
    exitCode?: number;
  }>;
}

export type FallbackAction =
  | { kind: 'none'; reason: string }
  | { kind: 'wait'; reason: string }
  | { kind: 'restart'; tool: 'restart_container' | 'start_container'; cause: string; reason: string }
  /** Raise the memory limit (to `memory`, Docker's notation) and start it: a change held for approval under the default policy. */
  | { kind: 'resize'; tool: 'update_container_resources'; memory: string; cause: string; reason: string }
  | { kind: 'escalate'; reason: string; proposal?: string };

export type FallbackConfig = Pick<LoopConfig, 'maxAttempts'>;

/** How many looks at a container that Docker keeps restarting before the loop stops waiting. */
export const MAX_WAITS = 10;

const MiB = 1024 * 1024;
/** Exit codes an escalation quotes, the newest last. */
const LAST_EXITS = 3;

/** The timeline data the runner records with each decision, so the next one can see it. */
export const FALLBACK_EVENT = 'fallback';

export function lookOf(decision: FallbackAction['kind'], v: ContainerView): FallbackHistory['looks'][number] {
  return { decision, state: v.state, restartCount: v.restartCount, oomKilled: v.oomKilled, finishedAt: v.finishedAt, exitCode: v.exitCode };
}

/** The looks recorded in an incident's timeline (events whose data carries `fallback`). */
export function historyOf(timeline: readonly TimelineEvent[]): FallbackHistory {
  const looks: FallbackHistory['looks'] = [];
  for (const e of timeline) {
    const look = (e.data as Record<string, unknown> | null | undefined)?.[FALLBACK_EVENT];
    if (look && typeof look === 'object' && 'decision' in look) looks.push(look as FallbackHistory['looks'][number]);
  }
  return { looks };
}

function proposeMemory(v: ContainerView): string {
  const limit = v.limits.memoryBytes;
  if (limit === null) return 'it has no memory limit: the host itself ran out; look for a leak or give the host more memory';
  const now = Math.round((limit / MiB) * 10) / 10;
  return `raise its memory limit above the current ${now} MiB (e.g. to ${now * 2} MiB with update_container_resources), or find what grew`;
}

/**
 * A look with an exit to report: a running one shows exit code 0 (Docker resets it at each start), a
 * restarting one the code it died with, a created one 0 until a start fails.
 */
const hasExited = (l: { state: string; exitCode?: number }): boolean =>
  l.state !== 'running' && l.state !== 'paused' && !(l.state === 'created' && l.exitCode === 0);

/** The last few exits seen, oldest first: one per FinishedAt, from the history's looks and the view. */
function lastExits(v: ContainerView, h: FallbackHistory): string[] {
  const byFinish = new Map<string, string>();
  for (const l of [...h.looks, v]) {
    if (l.exitCode === undefined || !hasExited(l)) continue;
    const key = l.finishedAt ?? '';
    byFinish.delete(key);
    byFinish.set(key, `${l.exitCode}${l.oomKilled ? ' (OOMKilled)' : ''}`);
  }
  return [...byFinish.values()].slice(-LAST_EXITS);
}

/** What every escalation names, so a human sees at once how often Docker restarted it and how it died. */
function dockerFacts(v: ContainerView, h: FallbackHistory): string {
  const exits = lastExits(v, h);
  const seen = exits.length === 0 ? 'no exit seen' : `last exit code${exits.length > 1 ? 's' : ''} ${exits.join(', ')}`;
  return `Docker restart count ${v.restartCount}, ${seen}`;
}

function escalate(v: ContainerView, h: FallbackHistory, reason: string, proposal?: string): FallbackAction {
  const facts = `${reason} (${dockerFacts(v, h)})`;
  return proposal === undefined ? { kind: 'escalate', reason: facts } : { kind: 'escalate', reason: facts, proposal };
}

/**
 * A container that cannot run as configured: Docker could not start it (State.Error), or its command
 * cannot execute (126) or was not found (127). Restarting it cannot help, whatever the policy.
 */
function configurationError(v: ContainerView): string | undefined {
  if (v.running && !v.restarting) return undefined;
  if (v.error) return `configuration error: Docker could not start it: "${v.error}" (exit ${v.exitCode}); a restart will not fix it: its command, image or mounts must change`;
  if (v.exitCode === 126) return 'configuration error: exit 126, its command cannot execute (not executable, or permission denied); a restart will not fix it';
  if (v.exitCode === 127) return 'configuration error: exit 127, its command was not found; a restart will not fix it: its command or image must change';
  return undefined;
}

/** Docker's own restart policy will bring this container back: the loop must not race it. */
function dockerWillRestart(v: ContainerView): boolean {
  if (v.restarting) return true;
  if (v.running || !['exited', 'dead'].includes(v.state)) return false;
  const { name, maximumRetryCount } = v.restartPolicy;
  if (name === 'always' || name === 'unless-stopped') return true;
  return name === 'on-failure' && v.exitCode !== 0 && (maximumRetryCount === 0 || v.restartCount < maximumRetryCount);
}

function waitOrEscalate(v: ContainerView, h: FallbackHistory, cfg: FallbackConfig): FallbackAction {
  const waits = h.looks.filter((l) => l.decision === 'wait');
  const first = waits[0];
  if (first && v.restartCount - first.restartCount >= cfg.maxAttempts) {
    return escalate(v, h, `Docker's restart policy (${v.restartPolicy.name}) restarted it ${v.restartCount - first.restartCount} more times while the loop watched, and it still fails`);
  }
  if (waits.length >= MAX_WAITS) return escalate(v, h, `Docker's restart policy has not brought it back after ${waits.length} looks`);
  return { kind: 'wait', reason: `Docker's restart policy (${v.restartPolicy.name}) is restarting it (restart count ${v.restartCount}); the loop does not race it` };
}

/** An exited container Docker did not restart since the last look, though its policy says it would: stopped by hand, or Docker gave up. */
function dockerIsIdle(v: ContainerView, h: FallbackHistory): boolean {
  const last = h.looks.at(-1);
  return !v.restarting && last?.decision === 'wait' && last.restartCount === v.restartCount && last.finishedAt === v.finishedAt && last.state === v.state;
}

function onExit(v: ContainerView, h: FallbackHistory): FallbackAction {
  const tool = 'start_container' as const;
  if (v.oomKilled) {
    // Only a different OOM exit than one already seen counts as "again": a re-look at the same exit does not,
    // nor a look while it still ran (Docker sets OOMKilled at the oom event, before the die of that same kill).
    const earlier = h.looks.some((l) => l.oomKilled && hasExited(l) && l.finishedAt !== v.finishedAt);
    if (earlier) {
      const limit = v.limits.memoryBytes;
      if (limit === null || limit <= 0 || h.looks.some((l) => l.decision === 'resize')) return escalate(v, h, 'OOM-killed again after a restart (OOMKilled)', proposeMemory(v));
      const doubled = `${Math.ceil((limit * 2) / MiB)}m`;
      return { kind: 'resize', tool: 'update_container_resources', memory: doubled, cause: 'oom', reason: `OOM-killed again after a restart (OOMKilled): double its memory limit to ${doubled} and start it, as a change that rolls back if it does not hold` };
    }
    return { kind: 'restart', tool, cause: 'oom', reason: `OOM-killed (OOMKilled true, exit ${v.exitCode}): restart once` };
  }
  switch (v.exitCode) {
    case 0:
    case 1:
      return { kind: 'restart', tool, cause: `exit ${v.exitCode}`, reason: `exited with code ${v.exitCode}: restart` };
    case 137:
      return { kind: 'restart', tool, cause: 'sigkill', reason: 'exit 137 without OOMKilled is a SIGKILL (docker kill, or a stop past its grace period), not an OOM: restart' };
    // Docker's events watcher drops a die that follows a stop or kill through Docker's API, so a
    // SIGTERM or SIGINT exit that reaches the runbooks was sent from inside the container: a crash.
    case 143:
      return { kind: 'restart', tool, cause: 'sigterm', reason: 'exit 143 = SIGTERM sent from inside the container (no stop or kill came through Docker): restart like a crash' };
    case 130:
      return { kind: 'restart', tool, cause: 'sigint', reason: 'exit 130 = SIGINT sent from inside the container (no stop or kill came through Docker): restart like a crash' };
    case 139:
      return escalate(v, h, 'exit 139 is a segmentation fault (SIGSEGV): a crash a restart will not fix');
    default:
      return escalate(v, h, `exit ${v.exitCode}: no runbook covers this exit code`);
  }
}

/**
 * The runbook decision. In order: healthy (and no probe of warden's says it is down: `probeDown`)
 * -> nothing to do; a configuration error (Docker's start
 * error, exit 126 or 127) -> escalate at once, quoting Docker; Docker is restarting it -> wait (and
 * escalate when its restart count keeps climbing); the loop acted maxAttempts times -> escalate;
 * then by how it failed: unhealthy -> restart; OOMKilled -> restart once, then double its memory
 * limit (update_container_resources, held for approval by default), then escalate; running but
 * warden's probe fails (a hung process) -> restart; exit 0/1, a plain SIGKILL (137) and a SIGTERM or SIGINT from inside (143, 130)
 * -> restart; 139 and anything else -> escalate. Every escalation names Docker's restart count and
 * the last exit codes seen.
 */
export function decideFallback(v: ContainerView, attempts: number, h: FallbackHistory, cfg: FallbackConfig, probeDown?: string): FallbackAction {
  const health = v.health?.status ?? null;
  // Docker reports a paused container as running.
  if (v.state === 'paused') return escalate(v, h, 'paused: someone paused it on purpose; the runbooks do not unpause');
  if (v.running && !v.restarting && (health === null || health === 'healthy') && probeDown === undefined) {
    return { kind: 'none', reason: `running${health ? ' and healthy' : ''}: nothing to do but verify` };
  }
  const misconfigured = configurationError(v);
  if (misconfigured) return escalate(v, h, misconfigured);
  if (v.running && health === 'starting') return waitOrEscalate(v, h, cfg);
  if (dockerWillRestart(v) && !dockerIsIdle(v, h)) return waitOrEscalate(v, h, cfg);
  if (attempts >= cfg.maxAttempts) {
    return escalate(v, h, `the loop already acted ${attempts} times on this incident (maxAttempts ${cfg.maxAttempts}) and it still fails`);
  }
  if (v.running && probeDown !== undefined && health !== 'unhealthy') {
    return { kind: 'restart', tool: 'restart_container', cause: 'probe', reason: `running, but ${probeDown}: restart` };
  }
  if (v.running) return { kind: 'restart', tool: 'restart_container', cause: 'unhealthy', reason: 'running but its health check fails: restart' };
  if (v.restartPolicy.name === 'on-failure' && v.restartPolicy.maximumRetryCount > 0 && v.restartCount >= v.restartPolicy.maximumRetryCount && v.exitCode !== 0) {
    return escalate(v, h, `Docker already restarted it ${v.restartCount} times (on-failure, max ${v.restartPolicy.maximumRetryCount}) and it still exits ${v.exitCode}`);
  }
  if (v.state === 'created') return { kind: 'restart', tool: 'start_container', cause: 'never started', reason: 'created but never started: start it' };
  return onExit(v, h);
}

/** The arguments the runner passes for a restart action: no settle wait in the tool, the runner verifies. */
export function restartArgs(host: string, container: string): Record<string, unknown> {
  return { host, container, waitSeconds: 0 };
}
