// The runner's building blocks for one incident run: its context, verification recorded in the
// timeline, the runbook loop (inspect -> decide -> act through the gate -> verify), and what
// follows a write action. No step calls a handler: every action is a tools/call through the loop client.
import type { Client } from '@modelcontextprotocol/client';
import type { Logger } from '../log.js';
import type { Guard } from '../policy/guard.js';
import type { ApprovalStore } from '../store/approvals.js';
import type { AuditLog } from '../store/audit.js';
import type { InventoryReader } from '../store/readers.js';
import type { AgentResult } from './agent.js';
import type { LoopConfig } from './config.js';
import type { AgentMode, FirstLevelFindings } from './prompt.js';
import type { FirstLevelResult } from './first-level-agent.js';
import { FALLBACK_EVENT, decideFallback, historyOf, lookOf, restartArgs, type ContainerView, type FallbackHistory } from './fallback.js';
import { escalateIncident, parkOnApproval, resolveIncident, type CloseDeps } from './incident-close.js';
import { callLoopTool } from './loop-call.js';
import type { ConnectLoopClient } from './loop-client.js';
import { ACTIVE_STATUSES, type Incident, type TimelineEvent } from '../shared/incidents.js';
import { dependencyIncident } from './correlate.js';
import { healthCheckFor, verifyTarget, type Verification } from './verify.js';
import { subjectOf } from './monitors/monitor-plan.js';
import type { MonitorCheck } from './monitors/scheduler.js';
import type { OutcomeInput } from './safe-mode.js';
import type { BreakerBoard } from '../adapters/breakers.js';

export interface AgentRequest {
  incident: Incident;
  timeline: TimelineEvent[];
  client: Client;
  /** investigate: the service was already restored; find the cause, change nothing. */
  mode: AgentMode;
  signal: AbortSignal;
  /** For Claude after the first level handed the incident over: what it found. */
  firstLevel?: FirstLevelFindings;
}

/** The first level as the runner sees it (config loop.firstLevel): the configured model, and one run of its agent. */
export interface FirstLevel {
  model: string;
  run(req: AgentRequest): Promise<FirstLevelResult>;
}

export interface FlowDeps extends CloseDeps {
  guard: Guard;
  approvals: Pick<ApprovalStore, 'get'>;
  audit: Pick<AuditLog, 'forIncident'>;
  inventory: InventoryReader;
  cfg: LoopConfig;
  log: Logger;
  /** A loop client for this incident; readOnly for an investigation after a restore (writes are refused by role). */
  connect: ConnectLoopClient;
  agent(req: AgentRequest): Promise<AgentResult>;
  /** The first-level model, when configured: it works on an incident before Claude does. */
  firstLevel?: FirstLevel;
  /** warden's own monitors, when they run: a monitor incident is verified by its own check, read again. */
  monitors?: MonitorCheck;
  /** The process's circuit breakers: an incident on a host whose Docker or SSH breaker is open waits for its trial. */
  breakers?: BreakerBoard;
  /** Told the outcome of each of the loop's writes; trips safe mode when they keep failing. */
  selfCheck?: { record(o: OutcomeInput): void };
}

/** What the runner does next with the incident: nothing (it is closed or parked), or look again later. */
export interface FlowNext {
  retryAfterMs?: number;
}

export class Stopping extends Error {
  constructor() {
    super('the runner is stopping');
    this.name = 'Stopping';
  }
}

/** The incident was closed, or parked on its dependency, while this run worked: it stops, recording nothing more. */
export class Superseded extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'Superseded';
  }
}

/** One handling of one incident. */
export interface Run {
  d: FlowDeps;
  id: string;
  client: Client;
  signal: AbortSignal;
  /** Set once Claude was unreachable or out of budget in this run: later steps go straight to the runbooks. */
  modelDown?: string;
  restoreTried?: boolean;
  /** The first level had its turn in this run: Claude works on it from here. */
  firstLevelTried?: boolean;
}

export const incidentOf = (run: Run): Incident => {
  const inc = run.d.incidents.get(run.id);
  if (!inc) throw new Error(`incident ${run.id} vanished`);
  return inc;
};

/**
 * Between two steps of a run: nothing is recorded once shutdown began (the next daemon resumes
 * from the audit and the timeline), or once the incident was closed from outside (its alert
 * resolved). An open incident of a dependency parks it: it waits, and the runner's tick wakes it
 * when that one closes.
 */
export function checkStopping(run: Run): void {
  if (run.signal.aborted) throw run.signal.reason instanceof Superseded ? run.signal.reason : new Stopping();
  const inc = run.d.incidents.get(run.id);
  if (!inc || !ACTIVE_STATUSES.includes(inc.status)) throw new Superseded(`the incident is ${inc?.status ?? 'gone'}`);
  if (inc.status === 'waiting_dependency') throw new Superseded('it waits on its dependency');
  const parent = dependencyIncident(run.d.incidents, run.d.inventory, inc.service, inc.id);
  // A held call is a human's to decide: the gate refuses it while the dependency fails, and says why.
  if (parent && inc.status !== 'waiting_approval') {
    run.d.incidents.transition(run.id, 'wait_dependency', `waiting on ${parent.id} (${parent.service ?? parent.target ?? parent.title}): a dependency is failing; the loop acts on it first`, { parentId: parent.id });
    throw new Superseded(`it waits on ${parent.id}`);
  }
}

/** The tier the inventory gives the incident's service, if any. */
export function tierOf(d: FlowDeps, inc: Incident): string | null {
  return d.inventory.serviceFor(inc)?.tier ?? null;
}

export function isWrite(d: FlowDeps, tool: string): boolean {
  const spec = d.guard.tools().find((t) => t.name === tool);
  return spec !== undefined && spec.risk !== 'read';
}

/**
 * What warden's own probe says of the incident's service: down (why the runbooks restart a container
 * that looks fine to Docker), never passed since it started (a check to fix, not a service: no
 * restart), or nothing. Read from the monitor's state now, so a probe's failure counts on an
 * incident Docker's events opened first, and a probe that recovered since does not.
 */
export type ProbeVerdict = { down: string } | { never: string } | undefined;

export function probeVerdictOf(d: Pick<FlowDeps, 'monitors'>, inc: Incident): ProbeVerdict {
  const subject = subjectOf(inc.fingerprint);
  const service = subject?.kind === 'probe' ? subject.service : inc.service;
  const state = service ? d.monitors?.probeState(service) : undefined;
  if (!state) {
    // No monitor runs here (another process's, or none): the incident's own alert says it.
    return subject?.kind === 'probe' ? { down: `warden's probe of ${subject.service} fails (${inc.title.slice(0, 200)})` } : undefined;
  }
  if (state.status !== 'down') return undefined;
  return state.everUp
    ? { down: `warden's probe of ${service} fails (${state.detail.slice(0, 200)})` }
    : { never: `warden's probe of ${service} has never passed since it started (${state.detail.slice(0, 200)}): check the service's healthCheck (URL, port, keyword) before anyone restarts it; the runbooks restart nothing on a check that never passed` };
}

export const probeDownOf = (d: Pick<FlowDeps, 'monitors'>, inc: Incident): string | undefined => {
  const v = probeVerdictOf(d, inc);
  return v && 'down' in v ? v.down : undefined;
};

/** The target's own checks, then, for a monitor incident, the monitor's check read again: all must pass. */
async function verifyOnce(run: Run, inc: Incident): Promise<Verification> {
  const subject = subjectOf(inc.fingerprint);
  const monitors = run.d.monitors;
  if (subject?.kind === 'threshold') {
    const again = monitors ? await monitors.recheck(inc.fingerprint, run.signal) : undefined;
    return again ?? { ok: false, reason: 'the monitor that raised it is not running here, so the level cannot be read again' };
  }
  if (!inc.host) return { ok: false, reason: 'the incident names no target to verify' };
  // A health check probed from the service's own host (monitor.from: host) may not answer from here: the monitor reads it again below.
  const fromHost = run.d.inventory.serviceFor(inc)?.monitor?.from === 'host';
  const health = fromHost ? null : healthCheckFor(run.d.inventory, inc);
  const v = await verifyTarget(run.client, { host: inc.host, container: inc.container, health }, { settleSeconds: run.d.cfg.settleSeconds, signal: run.signal });
  if (!v.ok || subject?.kind !== 'probe' || !monitors) return v;
  const again = await monitors.recheck(inc.fingerprint, run.signal);
  return again ? { ok: again.ok, reason: `${v.reason}; ${again.reason}`, ...(v.view ? { view: v.view } : {}) } : v;
}

export async function verifyStep(run: Run, after: string): Promise<Verification> {
  const inc = incidentOf(run);
  if (inc.status !== 'verifying') run.d.incidents.transition(run.id, 'verify', `verifying after ${after}`.slice(0, 500));
  const v = await verifyOnce(run, inc);
  checkStopping(run);
  run.d.incidents.addEvent(run.id, 'verify', `${v.ok ? 'verified' : 'verification failed'}: ${v.reason}`, { ok: v.ok, reason: v.reason, after });
  return v;
}

/** Failure kinds that say a write ran and failed, or could not reach its target: not a refusal by the gate. */
const FAILED_WRITE_KINDS = new Set(['target_failed', 'unavailable', 'internal']);

/** A write that reached its target and failed; one refused before anything ran (an open breaker, a busy database) is not the loop's failure. */
export const isFailedWrite = (r: { kind?: string; notRun?: true }): boolean => r.kind !== undefined && FAILED_WRITE_KINDS.has(r.kind) && r.notRun !== true;

/** Tells safe mode how one of the loop's writes went: the call itself (write) or its verification (verify). */
export function noteOutcome(run: Run, tool: string, ok: boolean, stage: 'write' | 'verify', detail: string, unreadable = false): void {
  // A verification that could not read its target at all says nothing of the write: the dependency
  // is down, and that is its breaker's business.
  if (unreadable) return;
  const inc = run.d.incidents.get(run.id);

  run.d.selfCheck?.record({ incidentId: run.id, tool, target: inc?.target ?? null, ok, stage, detail });
}

/** After a write that ran: count it, verify, then resolve, or try the next step, or escalate. */
export async function afterWrite(run: Run, what: string, next: (run: Run) => Promise<FlowNext>, count = true, tool = 'write'): Promise<FlowNext> {
  const inc = incidentOf(run);
  if (!inc.host) {
    // Acting again would not make an incident without a target verifiable: a human confirms.
    escalateIncident(run.d, run.id, `${what}; the incident names no target, so the loop cannot verify the outcome`.slice(0, 2_000));
    return {};
  }
  run.d.incidents.transition(run.id, 'verify', `verifying after ${what}`.slice(0, 500), { waitingOn: null, ...(count ? { attempts: inc.attempts + 1 } : {}) });
  const v = await verifyStep(run, what);
  noteOutcome(run, tool, v.ok, 'verify', v.reason, v.unreadable);
  if (v.ok) {
    resolveIncident(run.d, run.id, `${what}; verified: ${v.reason}`.slice(0, 2_000));
    return {};
  }
  return nextStep(run, v.reason, next);
}

export async function nextStep(run: Run, why: string, next: (run: Run) => Promise<FlowNext>): Promise<FlowNext> {
  const inc = incidentOf(run);
  if (inc.attempts >= run.d.cfg.maxAttempts) {
    escalateIncident(run.d, run.id, `still failing after ${inc.attempts} actions (maxAttempts ${run.d.cfg.maxAttempts}): ${why}`);
    return {};
  }
  run.d.incidents.transition(run.id, 'work', `next step (${inc.attempts} of ${run.d.cfg.maxAttempts} actions taken): ${why}`.slice(0, 500));
  return next(run);
}

/** How long after a bare exit 137 the runbooks look again: dockerd may set OOMKilled after the exit. */
export const OOM_FLAG_DELAY_MS = 750;

/**
 * inspect_container through the loop client, as the runbooks read it. dockerd learns of an OOM kill
 * from a cgroup event that can land after the exit, so a 137 without OOMKilled is read once more
 * before the runbooks call it a SIGKILL.
 */
export async function inspect(run: Run, inc: Incident): Promise<{ view: ContainerView } | { error: string }> {
  for (let look = 0; ; look += 1) {
    const r = await callLoopTool(run.client, 'inspect_container', { host: inc.host, container: inc.container }, run.signal);
    checkStopping(run);
    if (!r.ok || !r.output) return { error: r.text.slice(0, 300) };
    const view = r.output as unknown as ContainerView;
    if (look > 0 || view.running || view.exitCode !== 137 || view.oomKilled) return { view };
    await new Promise((resolve) => setTimeout(resolve, OOM_FLAG_DELAY_MS));
  }
}

/**
 * The runbooks' history of this incident. A re-opening within the cooldown (flaps > 0) is the same
 * failure come back: the OOM kills seen in the incident before it count, so a container OOM-killed
 * again after a verified restart is not restarted a second time.
 */
export function historyFor(d: FlowDeps, inc: Incident): FallbackHistory {
  const own = historyOf(d.incidents.timeline(inc.id));
  const before = inc.flaps > 0 ? d.incidents.lastClosed(inc) : undefined;
  if (!before || before.id === inc.id) return own;
  const ooms = historyOf(d.incidents.timeline(before.id)).looks.filter((l) => l.oomKilled);
  return { looks: [...ooms, ...own.looks] };
}

/** How long to wait before looking again at a container that Docker itself is restarting. */
export const waitMs = (cfg: LoopConfig): number => Math.max(2_000, cfg.settleSeconds * 1_000);

/** Upper bound on runbook decisions in one handling, so a verification that keeps failing cannot spin. */
const MAX_LOOKS = 8;

/** The deterministic runbooks: decide on the container's state, act through the gate, verify; repeat until closed, parked or waiting. */
export async function runbookStep(run: Run, why: string): Promise<FlowNext> {
  const { d } = run;
  for (let look = 0; look < MAX_LOOKS; look += 1) {
    const inc = incidentOf(run);
    if (!inc.host || !inc.container) {
      escalateIncident(d, run.id, `${why}; no runbook applies: the incident names no container`);
      return {};
    }
    const seen = await inspect(run, inc);
    if ('error' in seen) {
      escalateIncident(d, run.id, `${why}; the runbooks cannot inspect ${inc.target}: ${seen.error}`);
      return {};
    }
    const probe = probeVerdictOf(d, inc);
    if (probe && 'never' in probe) {
      escalateIncident(d, run.id, `${why}; ${probe.never}`);
      return {};
    }
    const action = decideFallback(seen.view, inc.attempts, historyFor(d, inc), d.cfg, probe?.down);
    d.incidents.addEvent(run.id, 'note', `runbook: ${action.reason}`, { [FALLBACK_EVENT]: lookOf(action.kind, seen.view), action });
    if (action.kind === 'escalate') {
      escalateIncident(d, run.id, action.reason, action.proposal);
      return {};
    }
    if (action.kind === 'wait') return { retryAfterMs: waitMs(d.cfg) };
    if (action.kind === 'none') {
      const v = await verifyStep(run, 'no action (the runbook found it running)');
      if (v.ok) {
        resolveIncident(d, run.id, `runbook: no action needed (${action.reason.split(':')[0]}); verified: ${v.reason}`);
        return {};
      }
      continue;
    }
    const args = action.kind === 'resize'
      ? { host: inc.host, container: inc.container, memory: action.memory, start: true }
      : restartArgs(inc.host, inc.container);
    const r = await callLoopTool(run.client, action.tool, args);
    checkStopping(run);
    if (r.ok) {
      const what = `runbook ${action.tool} on ${inc.target} (${action.reason})`;
      d.incidents.transition(run.id, 'verify', `${what}: ${r.text.split('\n')[0]}`.slice(0, 500), { attempts: inc.attempts + 1 }, { kind: 'tool' });
      const v = await verifyStep(run, what);
      noteOutcome(run, action.tool, v.ok, 'verify', v.reason, v.unreadable);
      if (v.ok) {
        resolveIncident(d, run.id, `${what}; verified: ${v.reason}`);
        return {};
      }
      continue;
    }
    if (r.kind === 'approval_required' && r.approvalId) {
      parkOnApproval(d, run.id, { tool: action.tool, args, approvalId: r.approvalId }, `${why}; the runbook's ${action.tool} is held: ${r.text}`, 'runbook');
      return {};
    }
    if (r.kind === 'denied' || r.kind === 'invalid_input' || r.kind === 'dry_run') {
      escalateIncident(d, run.id, `${why}; the runbook's ${action.tool} was refused: ${r.text.slice(0, 300)}`);
      return {};
    }
    d.incidents.update(run.id, { attempts: inc.attempts + 1 }, { kind: 'tool', summary: `runbook ${action.tool} failed: ${r.text.slice(0, 300)}` });
    if (isFailedWrite(r)) noteOutcome(run, action.tool, false, 'write', r.text.slice(0, 300));
  }
  escalateIncident(d, run.id, `${why}; the runbooks did not settle it after ${MAX_LOOKS} looks`);
  return {};
}
