// The first level's turn in one incident run: the local model works on the incident first, through a
// loop client as principal loop-n1 that offers its tool subset only. Its fix is verified as Claude's
// is; anything else (it hands over, runs out of budget, cannot be reached, or its fix does not verify)
// hands the incident to Claude with its findings, recorded in the timeline so a later run skips it.
import type { Incident, TimelineEvent } from '../shared/incidents.js';
import { redactValue } from '../shared/redact.js';
import { LOOP_N1_PRINCIPAL } from '../shared/roles.js';
import type { FirstLevelResult } from './first-level-agent.js';
import { checkStopping, incidentOf, isFailedWrite, isWrite, noteOutcome, verifyStep, type FirstLevel, type Run } from './flow-steps.js';
import { escalateIncident, parkOnApproval, resolveIncident } from './incident-close.js';
import { callLoopTool, type LoopCallResult } from './loop-call.js';
import type { FirstLevelFindings } from './prompt.js';

/** The key of a handover event's data: its findings, which Claude's prompt carries. */
export const HANDOVER_EVENT = 'firstLevelHandover';

/** What the first level's turn came to: the incident settled (resolved, parked, escalated), or Claude's turn with these findings. */
export type FirstLevelTurn = { settled: true } | { findings: FirstLevelFindings };

/** The findings of the last handover recorded on this incident: a later run (a restart, a failed verification) goes straight to Claude. */
export function handedOver(timeline: readonly TimelineEvent[]): FirstLevelFindings | undefined {
  for (let i = timeline.length - 1; i >= 0; i -= 1) {
    const data = timeline[i]!.data as Record<string, unknown> | null | undefined;
    if (data && typeof data === 'object' && HANDOVER_EVENT in data) return data[HANDOVER_EVENT] as FirstLevelFindings;
  }
  return undefined;
}

const MAX_CALL_TEXT_CHARS = 300;

function findingsOf(model: string, res: FirstLevelResult, outcome: string, summary: string): FirstLevelFindings {
  return {
    model, outcome, summary: summary.slice(0, 2_000),
    calls: res.actions.map((a) => ({ tool: a.tool, args: redactValue(a.args), ok: a.ok, ...(a.kind ? { kind: a.kind } : {}), text: a.text.slice(0, MAX_CALL_TEXT_CHARS) })),
  };
}

const eventData = (res: FirstLevelResult): Record<string, unknown> => ({
  level: 1, outcome: res.outcome, turns: res.turns, inputTokens: res.inputTokens, outputTokens: res.outputTokens,
  actions: res.actions.map((a) => ({ tool: a.tool, ok: a.ok, kind: a.kind })),
});

function handOver(run: Run, f: FirstLevelFindings, res: FirstLevelResult): FirstLevelTurn {
  run.d.incidents.addEvent(run.id, 'model', `level 1 (${f.model}) hands the incident to Claude (${f.outcome}): ${f.summary}`.slice(0, 2_000), { ...eventData(res), [HANDOVER_EVENT]: f });
  return { findings: f };
}

/** Level 1 works on the incident; see the module comment. */
export async function firstLevelTurn(run: Run, level: FirstLevel): Promise<FirstLevelTurn> {
  const { d } = run;
  d.incidents.transition(run.id, 'work', `level 1 (${level.model}) investigates`);
  const conn = await d.connect(run.id, { firstLevel: true });
  let res: FirstLevelResult;
  try {
    res = await level.run({ incident: incidentOf(run), timeline: d.incidents.timeline(run.id), client: conn.client, mode: 'fix', signal: run.signal });
  } finally {
    await conn.close();
  }
  checkStopping(run);
  for (const failed of res.actions.filter((a) => !a.ok && isWrite(d, a.tool) && isFailedWrite(a))) noteOutcome(run, failed.tool, false, 'write', failed.text.slice(0, 300));
  const writes = res.actions.filter((a) => a.ok && isWrite(d, a.tool));
  if (res.outcome === 'held' && res.heldCall) {
    d.incidents.addEvent(run.id, 'model', `level 1 ${res.outcome}: ${res.summary}`.slice(0, 2_000), eventData(res));
    parkOnApproval(d, run.id, res.heldCall, `level 1 (${level.model}): ${res.summary}`, 'agent');
    return { settled: true };
  }
  if (res.outcome !== 'done') return handOver(run, findingsOf(level.model, res, res.outcome, res.summary), res);
  d.incidents.addEvent(run.id, 'model', `level 1 done: ${res.summary}`.slice(0, 2_000), eventData(res));
  const inc = incidentOf(run);
  const what = writes.length > 0
    ? `level 1 (${level.model}): ${writes.map((w) => `${w.tool} ${JSON.stringify(redactValue(w.args))}`).join(', ')} (${res.summary.slice(0, 300)})`
    : 'level 1 took no action';
  if (writes.length > 0) {
    if (!inc.host) {
      escalateIncident(d, run.id, `${what}; the incident names no target, so the loop cannot verify the outcome`.slice(0, 2_000));
      return { settled: true };
    }
    d.incidents.transition(run.id, 'verify', `verifying after ${what}`.slice(0, 500), { waitingOn: null, attempts: inc.attempts + 1 });
  }
  const v = await verifyStep(run, what);
  if (writes.length > 0) noteOutcome(run, writes.at(-1)!.tool, v.ok, 'verify', v.reason, v.unreadable);
  if (v.ok) {
    resolveIncident(d, run.id, (writes.length > 0 ? `${what}; verified: ${v.reason}` : `healthy without action; level 1: ${res.summary.slice(0, 500)}; verified: ${v.reason}`).slice(0, 2_000));
    return { settled: true };
  }
  return afterUnverified(run, level, res, writes.length > 0 ? `its fix did not verify: ${v.reason}` : `it took no action and it still fails: ${v.reason}`);
}

/** Level 1 ended without a fix that verified: Claude's turn, unless the incident used up its actions. */
function afterUnverified(run: Run, level: FirstLevel, res: FirstLevelResult, why: string): FirstLevelTurn {
  const { d } = run;
  const inc: Incident = incidentOf(run);
  if (inc.attempts >= d.cfg.maxAttempts) {
    escalateIncident(d, run.id, `still failing after ${inc.attempts} actions (maxAttempts ${d.cfg.maxAttempts}): level 1 ${why}`);
    return { settled: true };
  }
  if (inc.status !== 'investigating') d.incidents.transition(run.id, 'work', `level 1 ${why}`.slice(0, 500));
  return handOver(run, findingsOf(level.model, res, res.outcome === 'done' ? 'unverified' : res.outcome, `${res.summary.slice(0, 1_500)} (${why})`), res);
}

/**
 * A held call run once its approval is granted, as the principal that asked for it: an approval
 * binds its principal, so level 1's held call is run again through a level-1 client.
 */
export async function callAsRequester(run: Run, principal: string, tool: string, args: Record<string, unknown>): Promise<LoopCallResult> {
  if (principal !== LOOP_N1_PRINCIPAL) return callLoopTool(run.client, tool, args);
  const conn = await run.d.connect(run.id, { firstLevel: true });
  try {
    return await callLoopTool(conn.client, tool, args);
  } finally {
    await conn.close();
  }
}
