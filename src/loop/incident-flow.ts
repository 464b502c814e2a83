// One handling of one woken incident: resume what a previous run left (restart safety), decide an
// approval it waits on, re-check it when its dependency closed, or work on it: restore-first with the
// runbooks where the tier allows, else Claude first, with the runbooks when Claude cannot help.
import { ACTIVE_STATUSES } from '../shared/incidents.js';
import { escalateIncident, heldCallOf, parkOnApproval, resolveIncident } from './incident-close.js';
import {
  afterWrite, checkStopping, historyFor, incidentOf, inspect, isFailedWrite, isWrite, noteOutcome, probeDownOf, runbookStep as containerRunbookStep, tierOf, verifyStep,
  type FlowDeps, type FlowNext, type Run,
} from './flow-steps.js';
import { decideFallback, lookOf, restartArgs, FALLBACK_EVENT } from './fallback.js';
import { callLoopTool } from './loop-call.js';
import { LOOP_PRINCIPAL } from '../shared/roles.js';
import { unfinishedAction } from './resume.js';
import { hostRunbookStep } from './host-runbook.js';
import { subjectOf } from './monitors/monitor-plan.js';
import { breakerWait } from './breaker-wait.js';
import { callAsRequester, firstLevelTurn, handedOver } from './first-level-step.js';

/** The deterministic runbooks for this incident: a host monitor's (disk cleanup), else the container's. */
function runbookStep(run: Run, why: string): Promise<FlowNext> {
  const subject = subjectOf(incidentOf(run).fingerprint);
  return subject && subject.kind !== 'probe' ? hostRunbookStep(run, why, subject) : containerRunbookStep(run, why);
}

const isActive = (d: FlowDeps, id: string): boolean => {
  const inc = d.incidents.get(id);
  return inc !== undefined && ACTIVE_STATUSES.includes(inc.status);
};

export async function handleIncident(d: FlowDeps, id: string, signal: AbortSignal): Promise<FlowNext> {
  if (!isActive(d, id)) return {};
  const conn = await d.connect(id);
  const run: Run = { d, id, client: conn.client, signal };
  try {
    // Read after connecting: intake may have parked or closed it meanwhile.
    const inc = d.incidents.get(id);
    if (!inc || !ACTIVE_STATUSES.includes(inc.status)) return {};
    const blocked = inc.status === 'waiting_dependency' ? undefined : breakerWait(d.incidents, d.breakers, inc);
    if (blocked && 'escalate' in blocked) {
      escalateIncident(d, id, blocked.escalate);
      return {};
    }
    if (blocked) return { retryAfterMs: blocked.retryAfterMs };
    if (inc.status === 'waiting_approval') return await approvalStep(run);
    const pending = unfinishedAction(d.audit.forIncident(id), d.incidents.timeline(id));
    // An action that ran before the incident was parked on its dependency is verified, never repeated.
    if (inc.status === 'waiting_dependency' && !pending) return await dependencyStep(run);
    if (pending) {
      const what = `${pending.tool} on ${pending.target ?? '?'} (${pending.state === 'interrupted' ? 'requested before warden stopped; its outcome was not recorded' : 'completed, not yet verified'})`;
      d.incidents.addEvent(id, 'note', `resuming: the loop's last action ${what}: verifying instead of repeating it`, { resume: pending });
      return await afterWrite(run, `resumed: ${what}`, act, inc.status !== 'verifying', pending.tool);
    }
    const before = inc.status === 'open' && inc.flaps > 0 ? d.incidents.lastClosed(inc) : undefined;
    if (before?.status === 'escalated') {
      // A late event of a failure the loop already gave up on (an OOM flag, a die after the escalation):
      // a human has it; acting again would undo that decision.
      escalateIncident(d, id, `the same condition was escalated in ${before.id} within the cooldown (${before.resolution ?? 'escalated'}); the loop does not act again`);
      return {};
    }
    return await act(run);
  } finally {
    await conn.close();
  }
}

/** Work on the incident: restore-first once where it applies, then Claude, then the runbooks. */
export async function act(run: Run): Promise<FlowNext> {
  const subject = subjectOf(incidentOf(run).fingerprint);
  // A certificate near expiry: nothing the tools can do, and nothing for Claude to spend tokens on.
  if (subject?.kind === 'tls') return hostRunbookStep(run, 'a certificate warning', subject);
  if (!run.restoreTried) {
    run.restoreTried = true;
    const restored = await restoreFirst(run);
    if (restored) return restored;
  }
  if (run.modelDown) return runbookStep(run, run.modelDown);
  return modelFirst(run);
}

/**
 * Restore-first: in a tier the config names, when the runbooks cover the case with a restart and the
 * gate would let the loop make it without a human (allow or notify), act at once; Claude then looks
 * for the cause with the timeline, read-only. Anything else: undefined, and Claude goes first.
 */
async function restoreFirst(run: Run): Promise<FlowNext | undefined> {
  const { d } = run;
  const inc = incidentOf(run);
  const tier = tierOf(d, inc);
  if (!tier || !d.cfg.restoreFirstTiers.includes(tier) || !inc.host || !inc.container) return undefined;
  const seen = await inspect(run, inc);
  if ('error' in seen) return undefined;
  const action = decideFallback(seen.view, inc.attempts, historyFor(d, inc), d.cfg, probeDownOf(d, inc));
  if (action.kind !== 'restart') return undefined;
  const args = restartArgs(inc.host, inc.container);
  const gate = await d.guard.check({ principal: LOOP_PRINCIPAL, role: 'operator' }, action.tool, args).catch(() => undefined);
  // A dry run (the policy's, or the loop's safe mode) restores nothing: Claude looks instead, and its writes are dry runs too.
  if ((gate?.decision !== 'allow' && gate?.decision !== 'notify') || gate.dryRun) return undefined;
  d.incidents.transition(run.id, 'work', `restore first (tier ${tier}): ${action.reason}`, {}, {
    kind: 'note', data: { [FALLBACK_EVENT]: lookOf(action.kind, seen.view), action },
  });
  const r = await callLoopTool(run.client, action.tool, args);
  checkStopping(run);
  if (r.kind === 'approval_required' && r.approvalId) {
    // Held by the loop's own checks (silenced, stopped on purpose): a human decides, not Claude.
    parkOnApproval(d, run.id, { tool: action.tool, args, approvalId: r.approvalId }, `restore first: ${r.text.slice(0, 300)}`, 'runbook');
    return {};
  }
  if (!r.ok) {
    d.incidents.addEvent(run.id, 'tool', `restore-first ${action.tool} did not run: ${r.text.slice(0, 300)}`);
    if (isFailedWrite(r)) noteOutcome(run, action.tool, false, 'write', r.text.slice(0, 300));
    return undefined;
  }
  const what = `restored first by the runbook: ${action.tool} on ${inc.target} (${action.reason})`;
  d.incidents.transition(run.id, 'verify', `${what}: ${r.text.split('\n')[0]}`.slice(0, 500), { attempts: inc.attempts + 1 }, { kind: 'tool' });
  const v = await verifyStep(run, what);
  noteOutcome(run, action.tool, v.ok, 'verify', v.reason, v.unreadable);
  if (!v.ok) return undefined;
  resolveIncident(d, run.id, `${what}; verified: ${v.reason}`);
  await investigate(run);
  return {};
}

/** After a restore: Claude reads the timeline and looks for the cause on a read-only client; nothing it says undoes the fix. */
async function investigate(run: Run): Promise<void> {
  const { d } = run;
  const conn = await d.connect(run.id, { readOnly: true });
  try {
    const res = await d.agent({ incident: incidentOf(run), timeline: d.incidents.timeline(run.id), client: conn.client, mode: 'investigate', signal: run.signal });
    d.incidents.addEvent(run.id, 'model', `investigation after the restore (${res.outcome}): ${res.summary}`.slice(0, 2_000), {
      outcome: res.outcome, turns: res.turns, actions: res.actions.map((a) => ({ tool: a.tool, ok: a.ok, kind: a.kind })),
    });
  } catch (err) {
    if (run.signal.aborted) return;
    d.log.warn({ incident: run.id, err: String(err) }, 'investigation after a restore failed');
  } finally {
    await conn.close();
  }
}

async function modelFirst(run: Run): Promise<FlowNext> {
  const { d } = run;
  // The first level goes first, once: after a handover (this run's or an earlier one's) Claude has it.
  let findings = handedOver(d.incidents.timeline(run.id));
  if (!findings && d.firstLevel && !run.firstLevelTried) {
    run.firstLevelTried = true;
    const turn = await firstLevelTurn(run, d.firstLevel);
    if ('settled' in turn) return {};
    findings = turn.findings;
  }
  d.incidents.transition(run.id, 'work', findings ? "Claude investigates, with the first level's findings" : 'Claude investigates');
  const res = await d.agent({ incident: incidentOf(run), timeline: d.incidents.timeline(run.id), client: run.client, mode: 'fix', signal: run.signal, ...(findings ? { firstLevel: findings } : {}) });
  checkStopping(run);
  const writes = res.actions.filter((a) => a.ok && isWrite(d, a.tool));
  for (const failed of res.actions.filter((a) => !a.ok && isWrite(d, a.tool) && isFailedWrite(a))) {
    noteOutcome(run, failed.tool, false, 'write', failed.text.slice(0, 300));
  }
  d.incidents.addEvent(run.id, 'model', `agent ${res.outcome}: ${res.summary}`.slice(0, 2_000), {
    level: 2, outcome: res.outcome, turns: res.turns, inputTokens: res.inputTokens, outputTokens: res.outputTokens,
    actions: res.actions.map((a) => ({ tool: a.tool, ok: a.ok, kind: a.kind })),
  });
  const what = `Claude: ${writes.map((w) => `${w.tool} ${JSON.stringify(w.args)}`).join(', ')} (${res.summary.slice(0, 300)})`;
  switch (res.outcome) {
    case 'held':
      if (res.heldCall) {
        parkOnApproval(d, run.id, res.heldCall, res.summary, 'agent');
        return {};
      }
      escalateIncident(d, run.id, `Claude's call was held but no approval id came back: ${res.summary}`);
      return {};
    case 'unreachable':
    case 'budget':
      run.modelDown = `Claude ${res.outcome === 'budget' ? 'ran out of budget' : 'could not be reached'} (${res.summary.slice(0, 200)})`;
      return writes.length > 0 ? afterWrite(run, what, act, true, writes.at(-1)!.tool) : runbookStep(run, run.modelDown);
    case 'refused':
      escalateIncident(d, run.id, `the Messages API or the model refused: ${res.summary}`);
      return {};
    case 'done': {
      if (writes.length > 0) return afterWrite(run, what, act, true, writes.at(-1)!.tool);
      const v = await verifyStep(run, 'Claude took no action');
      if (v.ok) resolveIncident(d, run.id, `healthy without action; Claude: ${res.summary.slice(0, 500)}; verified: ${v.reason}`);
      else escalateIncident(d, run.id, `Claude took no action and it still fails (${v.reason}); Claude: ${res.summary.slice(0, 500)}`);
      return {};
    }
  }
}

/** A parked incident: run the held call once when approved; escalate when denied or expired; stay parked while pending. */
async function approvalStep(run: Run): Promise<FlowNext> {
  const { d } = run;
  const inc = incidentOf(run);
  const approvalId = inc.waitingOn ?? '';
  const approval = d.approvals.get(approvalId);
  const held = heldCallOf(d.incidents.timeline(run.id), approvalId);
  if (!approval || !held) {
    escalateIncident(d, run.id, `it waits on approval ${approvalId || '(none)'}, but ${approval ? 'the held call is not in its timeline' : 'no such approval exists'}`);
    return {};
  }
  const by = approval.decidedBy ?? 'someone';
  switch (approval.status) {
    case 'pending':
      return {};
    case 'denied':
      escalateIncident(d, run.id, `${held.tool} was denied by ${by}${approval.decisionReason ? `: ${approval.decisionReason}` : ''}`);
      return {};
    case 'expired':
      escalateIncident(d, run.id, `approval ${approvalId} for ${held.tool} expired without a decision`);
      return {};
    case 'used':
      // Consumed by this loop before it stopped: the call ran (or began); verify, never repeat.
      return afterWrite(run, `${held.tool} approved by ${by} (ran before warden restarted)`, act, inc.status !== 'verifying', held.tool);
    case 'approved': {
      d.incidents.addEvent(run.id, 'note', `approval ${approvalId} granted by ${by}: running ${held.tool} once`);
      const r = await callAsRequester(run, approval.principal, held.tool, { ...held.args, approvalId });
      checkStopping(run);
      if (!r.ok) {
        if (isFailedWrite(r)) noteOutcome(run, held.tool, false, 'write', r.text.slice(0, 300));
        escalateIncident(d, run.id, `the approved ${held.tool} did not succeed: ${r.text.slice(0, 300)}`);
        return {};
      }
      d.incidents.addEvent(run.id, 'tool', `${held.tool} (approved by ${by}): ${r.text.split('\n')[0]}`.slice(0, 500));
      return afterWrite(run, `${held.tool} ${JSON.stringify(held.args)} approved by ${by}`, act, true, held.tool);
    }
  }
}

/** Its dependency's incident closed: if its own target recovered with it, resolve; otherwise work on it. */
async function dependencyStep(run: Run): Promise<FlowNext> {
  const { d } = run;
  const inc = incidentOf(run);
  const parent = inc.parentId ? d.incidents.get(inc.parentId) : undefined;
  if (parent && ACTIVE_STATUSES.includes(parent.status)) return {};
  const after = `its dependency's incident ${parent?.id ?? inc.parentId ?? '?'} closed (${parent?.status ?? 'gone'})`;
  if (inc.host) {
    const v = await verifyStep(run, after);
    if (v.ok) {
      resolveIncident(d, run.id, `recovered when its dependency did (${parent?.id ?? inc.parentId}: ${parent?.status ?? 'closed'}); verified: ${v.reason}`);
      return {};
    }
  }
  // Verified and still failing (now verifying), or nothing to verify (still waiting): back to work.
  d.incidents.transition(run.id, incidentOf(run).status === 'waiting_dependency' ? 'dependency_closed' : 'work', `${after}, but it still fails: working on it`);
  return act(run);
}
