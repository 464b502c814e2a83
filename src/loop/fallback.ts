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
}

/** What the fallback saw at each earlier decision for this incident, oldest first. */
export interface FallbackHistory {
  looks: Array<{ decision: FallbackAction['kind']; state: string; restartCount: number; oomKilled: boolean; finishedAt: string | null }>;
}

export type FallbackAction =
  | { kind: 'none'; reason: string }
  | { kind: 'wait'; reason: string }
  | { kind: 'restart'; tool: 'restart_container' | 'start_container'; cause: string; reason: string }
  | { kind: 'escalate'; reason: string; proposal?: string };

export type FallbackConfig = Pick<LoopConfig, 'maxAttempts'>;

/** How many looks at a container that Docker keeps restarting before the loop stops waiting. */
export const MAX_WAITS = 10;

const MiB = 1024 * 1024;

/** The timeline data the runner records with each decision, so the next one can see it. */
export const FALLBACK_EVENT = 'fallback';

export function lookOf(decision: FallbackAction['kind'], v: ContainerView): FallbackHistory['looks'][number] {
  return { decision, state: v.state, restartCount: v.restartCount, oomKilled: v.oomKilled, finishedAt: v.finishedAt };
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
  return `raise its memory limit above the current ${now} MiB (e.g. to ${now * 2} MiB with recreate and --memory), or find what grew`;
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
    return { kind: 'escalate', reason: `Docker's restart policy (${v.restartPolicy.name}) restarted it ${v.restartCount - first.restartCount} more times while the loop watched, and it still fails (exit ${v.exitCode}${v.oomKilled ? ', OOMKilled' : ''})` };
  }
  if (waits.length >= MAX_WAITS) return { kind: 'escalate', reason: `Docker's restart policy has not brought it back after ${waits.length} looks` };
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
    // Only a different OOM exit than one already seen counts as "again": a re-look at the same exit does not.
    const earlier = h.looks.some((l) => l.oomKilled && l.finishedAt !== v.finishedAt);
    if (earlier) return { kind: 'escalate', reason: `OOM-killed again after a restart (exit ${v.exitCode}, OOMKilled)`, proposal: proposeMemory(v) };
    return { kind: 'restart', tool, cause: 'oom', reason: `OOM-killed (OOMKilled true, exit ${v.exitCode}): restart once` };
  }
  switch (v.exitCode) {
    case 0:
    case 1:
      return { kind: 'restart', tool, cause: `exit ${v.exitCode}`, reason: `exited with code ${v.exitCode}: restart` };
    case 137:
      return { kind: 'restart', tool, cause: 'sigkill', reason: 'exit 137 without OOMKilled is a SIGKILL (docker kill, or a stop past its grace period), not an OOM: restart' };
    case 139:
      return { kind: 'escalate', reason: 'exit 139 is a segmentation fault (SIGSEGV): a crash a restart will not fix' };
    default:
      return { kind: 'escalate', reason: `exit ${v.exitCode}: no runbook covers this exit code` };
  }
}

/**
 * The runbook decision. In order: healthy -> nothing to do; Docker is restarting it -> wait (and
 * escalate when its restart count keeps climbing); the loop acted maxAttempts times -> escalate;
 * then by how it failed: unhealthy -> restart; OOMKilled -> restart once, then escalate with a
 * memory proposal; exit 0/1 and a plain SIGKILL (137) -> restart; 139 and anything else -> escalate.
 */
export function decideFallback(v: ContainerView, attempts: number, h: FallbackHistory, cfg: FallbackConfig): FallbackAction {
  const health = v.health?.status ?? null;
  // Docker reports a paused container as running.
  if (v.state === 'paused') return { kind: 'escalate', reason: 'paused: someone paused it on purpose; the runbooks do not unpause' };
  if (v.running && !v.restarting && (health === null || health === 'healthy')) {
    return { kind: 'none', reason: `running${health ? ' and healthy' : ''}: nothing to do but verify` };
  }
  if (v.running && health === 'starting') return waitOrEscalate(v, h, cfg);
  if (dockerWillRestart(v) && !dockerIsIdle(v, h)) return waitOrEscalate(v, h, cfg);
  if (attempts >= cfg.maxAttempts) {
    return { kind: 'escalate', reason: `the loop already acted ${attempts} times on this incident (maxAttempts ${cfg.maxAttempts}) and it still fails` };
  }
  if (v.running) return { kind: 'restart', tool: 'restart_container', cause: 'unhealthy', reason: 'running but its health check fails: restart' };
  if (v.restartPolicy.name === 'on-failure' && v.restartPolicy.maximumRetryCount > 0 && v.restartCount >= v.restartPolicy.maximumRetryCount && v.exitCode !== 0) {
    return { kind: 'escalate', reason: `Docker already restarted it ${v.restartCount} times (on-failure, max ${v.restartPolicy.maximumRetryCount}) and it still exits ${v.exitCode}` };
  }
  if (v.state === 'created') return { kind: 'restart', tool: 'start_container', cause: 'never started', reason: 'created but never started: start it' };
  return onExit(v, h);
}

/** The arguments the runner passes for a restart action: no settle wait in the tool, the runner verifies. */
export function restartArgs(host: string, container: string): Record<string, unknown> {
  return { host, container, waitSeconds: 0 };
}
