// The watchdog: the pure judgement of what is stuck (a clock handed in), and the runner applying it
// over warden's real store, guard and approvals: stuck incidents are moved on, each with the reason
// in its timeline, and incidents that wait for a good reason are left alone without a note.
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { LoopConfig } from '../../src/loop/config.js';
import type { AgentResult } from '../../src/loop/agent.js';
import type { AgentRequest } from '../../src/loop/flow-steps.js';
import { runnerDeps } from '../../src/loop/loop-service.js';
import { Runner, type RunnerOptions } from '../../src/loop/runner.js';
import { findStuck, progressOf, watchdogLimits, WATCHDOG_EVENT, type Watched, type WatchdogLimits } from '../../src/loop/watchdog.js';
import type { Incident, TimelineEvent } from '../../src/shared/incidents.js';
import { HealthStateStore, type WatchRow } from '../../src/store/health-states.js';
import { useRunnerWorlds, type RunnerWorld } from '../support/runner.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const LIMITS: WatchdogLimits = { runQuietMs: 600_000, idleMs: 300_000, waitGraceMs: 60_000 };
const MIN = 60_000;

function watched(status: Incident['status'], more: Partial<Watched> = {}, inc: Partial<Watched['incident']> = {}): Watched {
  return { incident: { id: 'inc_1', status, openedAt: at(0), waitingOn: null, parentId: null, ...inc }, progress: { at: at(0), byWatchdog: false }, ...more };
}

/** The one action the watchdog takes on `w` at T0 + nowMs, or 'none'. */
function judge(w: Watched, nowMs: number): string {
  const [a] = findStuck([w], new Date(T0 + nowMs), LIMITS);
  return a ? a.action : 'none';
}

describe('watchdog: what is stuck (pure, clock handed in)', () => {
  it('derives its limits from the loop config: wall budget + one verification + a 5 min margin', () => {
    expect(watchdogLimits({ budgets: { wallSeconds: 300 } as never, settleSeconds: 15 })).toEqual({ runQuietMs: 655_000, idleMs: 300_000, waitGraceMs: 60_000 });
    expect(watchdogLimits({ budgets: { wallSeconds: 60 } as never, settleSeconds: 40 }).runQuietMs).toBe((60 + 80 + 40 + 10 + 300) * 1_000);
  });

  it.each<[string, Watched, number, string]>([
    ['a run quiet past the limit while investigating', watched('investigating', { runningSinceMs: T0 }), 11 * MIN, 'abort_and_escalate'],
    ['a run quiet past the limit while verifying', watched('verifying', { runningSinceMs: T0 }), 11 * MIN, 'abort_and_escalate'],
    ['a run within the limit', watched('investigating', { runningSinceMs: T0 }), 9 * MIN, 'none'],
    ['a long run that recorded something recently', watched('investigating', { runningSinceMs: T0, progress: { at: at(8 * MIN), byWatchdog: false } }), 15 * MIN, 'none'],
    ['a run that began recently on an incident untouched for long', watched('investigating', { runningSinceMs: T0 + 30 * MIN }), 35 * MIN, 'none'],
    ['a wedged run of an incident already resolved', watched('resolved', { runningSinceMs: T0 }), 11 * MIN, 'abort'],
    ['an open incident nothing holds, past the idle limit', watched('open'), 6 * MIN, 'reexamine'],
    ['an investigating incident nothing holds (a crash between two steps)', watched('investigating'), 6 * MIN, 'reexamine'],
    ['the same, when the last thing on its timeline is the watchdog re-examining it', watched('investigating', { progress: { at: at(0), byWatchdog: true } }), 6 * MIN, 'escalate'],
    ['an idle incident within the limit', watched('open'), 4 * MIN, 'none'],
    ['an idle incident that is queued or scheduled', watched('open', { scheduled: true }), 60 * MIN, 'none'],
    ['an incident with no timeline event, by its opening time', watched('open', { progress: undefined }), 6 * MIN, 'reexamine'],
    ['a resolved incident nothing runs', watched('resolved'), 60 * MIN, 'none'],
    ['a wait on a pending approval, however long', watched('waiting_approval', { approval: { status: 'pending', decidedAt: null, decidedBy: null, usedAt: null, expiresAt: at(120 * MIN) } }, { waitingOn: 'apr_1' }), 100 * MIN, 'none'],
    ['a wait on an approval that expired past the grace', watched('waiting_approval', { approval: { status: 'expired', decidedAt: null, decidedBy: null, usedAt: null, expiresAt: at(10 * MIN) } }, { waitingOn: 'apr_1' }), 12 * MIN, 'reexamine'],
    ['a wait on an approval that expired within the grace', watched('waiting_approval', { approval: { status: 'expired', decidedAt: null, decidedBy: null, usedAt: null, expiresAt: at(10 * MIN) } }, { waitingOn: 'apr_1' }), 10.5 * MIN, 'none'],
    ['a wait on an approval denied past the grace', watched('waiting_approval', { approval: { status: 'denied', decidedAt: at(MIN), decidedBy: 'bob', usedAt: null, expiresAt: at(15 * MIN) } }, { waitingOn: 'apr_1' }), 3 * MIN, 'reexamine'],
    ['a wait on an approval that vanished', watched('waiting_approval', { approval: null }, { waitingOn: 'apr_gone' }), 2 * MIN, 'reexamine'],
    ['a wait on an expired approval, re-examined already', watched('waiting_approval', { progress: { at: at(11 * MIN), byWatchdog: true }, approval: { status: 'expired', decidedAt: null, decidedBy: null, usedAt: null, expiresAt: at(10 * MIN) } }, { waitingOn: 'apr_1' }), 13 * MIN, 'escalate'],
    ['a wait on a dependency still open', watched('waiting_dependency', { parent: { status: 'investigating', closedAt: null } }, { parentId: 'inc_p' }), 100 * MIN, 'none'],
    ['a wait on a dependency that closed past the grace', watched('waiting_dependency', { parent: { status: 'escalated', closedAt: at(MIN) } }, { parentId: 'inc_p' }), 3 * MIN, 'reexamine'],
    ['a wait on a dependency that closed within the grace', watched('waiting_dependency', { parent: { status: 'resolved', closedAt: at(MIN) } }, { parentId: 'inc_p' }), 1.5 * MIN, 'none'],
    ['a wait on a dependency that vanished', watched('waiting_dependency', { parent: null }, { parentId: 'inc_gone' }), 2 * MIN, 'reexamine'],
  ])('%s', (_what, w, nowMs, expected) => {
    expect(judge(w, nowMs)).toBe(expected);
  });

  it('names why in each reason: the wait that ended, how long, and the limit', () => {
    const [a] = findStuck([watched('waiting_approval', { approval: { status: 'denied', decidedAt: at(MIN), decidedBy: 'bob', usedAt: null, expiresAt: at(15 * MIN) } }, { waitingOn: 'apr_1' })], new Date(T0 + 3 * MIN), LIMITS);
    expect(a!.reason).toBe(`the watchdog re-examines it: it waits on approval apr_1, which was denied by bob at ${at(MIN)}, and it has stayed waiting_approval with nothing recorded for 2 min (limit 1 min)`);
    const [b] = findStuck([watched('verifying', { runningSinceMs: T0 })], new Date(T0 + 11 * MIN), LIMITS);
    expect(b!.reason).toMatch(/^the watchdog stopped a wedged run while it was verifying: its run has recorded nothing for 11 min \(limit 10 min: /);
  });

  it('does not count repeated alerts as progress; its own note is marked', () => {
    const ev = (kind: TimelineEvent['kind'], ms: number, data: unknown = null): TimelineEvent => ({ id: ms, incidentId: 'inc_1', time: at(ms), kind, summary: '', data });
    expect(progressOf([ev('status', 0), ev('alert', MIN), ev('alert', 2 * MIN)])).toEqual({ at: at(0), byWatchdog: false });
    expect(progressOf([ev('status', 0), ev('note', MIN, { [WATCHDOG_EVENT]: { action: 'reexamine' } }), ev('alert', 2 * MIN)])).toEqual({ at: at(MIN), byWatchdog: true });
    expect(progressOf([ev('alert', 0)])).toBeUndefined();
  });
});

const world = useRunnerWorlds();
const runners: Runner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
});

type Agent = (req: AgentRequest) => Promise<Partial<AgentResult>>;

/**
 * A runner of its own over the world's runtime (the world's own is never started), with a fast
 * watchdog and short limits; its approval poll is slow unless asked, so only the watchdog moves
 * what is stuck.
 */
function watchedRunner(w: RunnerWorld, agent: Agent, opts: RunnerOptions = {}): Runner & { saved: WatchRow[] } {
  const stand = async (req: AgentRequest): Promise<AgentResult> => ({ outcome: 'done', summary: '', actions: [], turns: 1, inputTokens: 0, outputTokens: 0, ...(await agent(req)) });
  const store = new HealthStateStore(w.rt.db);
  const saved: WatchRow[] = [];
  const deps = { ...runnerDeps(w.rt, w.incidents, stand, silentLogger), watches: { saveWatch: (r: WatchRow) => { saved.push(r); store.saveWatch(r); } } };
  const runner = new Runner(deps, {
    approvalPollMs: 3_600_000, watchdogMs: 50, ...opts, watchdogLimits: { runQuietMs: 10_000, idleMs: 300, waitGraceMs: 100, ...opts.watchdogLimits },
  });
  runners.push(runner);
  return Object.assign(runner, { saved });
}

function incidentOn(w: RunnerWorld, container: string): Incident {
  return w.incidents.create({
    source: 'generic', fingerprint: `test:${container}`, status: 'firing', severity: 'critical', summary: `${container} is down`,
    startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: {},
  }, { target: `local/${container}`, host: 'local', container, service: null });
}

const watchdogNotes = (w: RunnerWorld, id: string) => w.incidents.timeline(id).filter((e) => (e.data as Record<string, unknown> | null)?.[WATCHDOG_EVENT] !== undefined);
const watchRow = (w: RunnerWorld) => new HealthStateStore(w.rt.db).watches().find((r) => r.name === 'watchdog');

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watchdog: stuck incidents moved on by the runner', () => {
  it('stops a run that records nothing past its limit, escalates with the reason and gives its slot back when the run ignores the stop', async () => {
    const w = world({ start: false });
    let release!: () => void;
    const wedged = new Promise<void>((r) => { release = r; });
    const runner = watchedRunner(w, async () => { await wedged; return { outcome: 'done', summary: 'woke up late' }; }, { watchdogLimits: { runQuietMs: 400 } });
    onTestFinished(() => release());
    await runner.start();
    const inc = incidentOn(w, 'db');
    runner.wake(inc.id);
    const done = await w.until(inc.id, ['escalated']);
    expect(done.resolution).toMatch(/^escalated: the watchdog stopped a wedged run while it was investigating: its run has recorded nothing for \d+ ms \(limit 400 ms/);
    expect(w.notifications.find((n) => n.event === 'escalation')!.fields.reason).toMatch(/wedged run/);
    await until('the slot to be given back', () => runner.busy().length === 0);
    expect(runner.saved.filter((r) => !r.ok)).toEqual([expect.objectContaining({ name: 'watchdog', detail: `moved on 1 of 1 stuck incident: ${inc.id} abort_and_escalate` })]);
    // The run ends late: it records nothing more.
    const events = w.incidents.timeline(inc.id).length;
    release();
    await new Promise((r) => setTimeout(r, 200));
    expect(w.incidents.timeline(inc.id)).toHaveLength(events);
  });

  it('re-examines an incident that nothing holds (left investigating by a crash between two steps), with a note, and the run moves it on', async () => {
    const w = world({ start: false });
    w.docker.set('db', { status: 'running', running: true, exitCode: 0 });
    const runner = watchedRunner(w, async () => ({ outcome: 'done', summary: 'it runs' }));
    // Started before the incident was left behind: the start's resume never sees it, nothing wakes it.
    await runner.start();
    const inc = incidentOn(w, 'db');
    w.incidents.transition(inc.id, 'work', 'Claude investigates');
    const done = await w.until(inc.id, ['resolved']);
    const notes = watchdogNotes(w, inc.id);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.summary).toMatch(/^the watchdog re-examines it: nothing holds it \(not running, queued or scheduled here\), and it has stayed investigating with nothing recorded for \d+ ms \(limit 300 ms\)$/);
    expect(done.resolution).toMatch(/healthy without action/);
  });

  it('escalates an incident still stuck after the watchdog re-examined it', async () => {
    const w = world({ start: false });
    const runner = watchedRunner(w, async () => { throw new Error('the agent must not run'); });
    const inc = incidentOn(w, 'db');
    w.incidents.transition(inc.id, 'work', 'Claude investigates');
    // What an earlier pass (of this process, or of one that stopped since) left, with nothing after it.
    w.incidents.addEvent(inc.id, 'note', 'the watchdog re-examines it: nothing holds it', { [WATCHDOG_EVENT]: { action: 'reexamine' } });
    await new Promise((r) => setTimeout(r, 350));
    expect(runner.watchdog()).toEqual([expect.objectContaining({ id: inc.id, action: 'escalate' })]);
    expect(w.incidents.get(inc.id)).toMatchObject({ status: 'escalated', resolution: expect.stringMatching(/^escalated: the watchdog re-examined it and it is still stuck: nothing holds it/) });
    expect(w.notifications.filter((n) => n.event === 'escalation')).toHaveLength(1);
  });

  it('re-examines an incident still parked on an approval that expired; the approval step escalates it', async () => {
    const w = world({ start: false });
    const runner = watchedRunner(w, async () => { throw new Error('the agent must not run'); });
    // Started first, so its resume does not wake the incident and the approval poll is an hour away: only the watchdog can move it.
    await runner.start();
    const inc = incidentOn(w, 'db');
    const long = new Date(Date.now() - 20 * 60_000);
    const approval = w.rt.approvals.create({ principal: 'loop', tool: 'restart_container', target: 'local/db', args: '{}', argsHash: 'h', risk: 'low', rule: 'r', reason: 'held', ttlMs: 60_000, incidentId: inc.id }, long);
    w.incidents.transition(inc.id, 'hold', `waiting for approval ${approval.id}`, { waitingOn: approval.id }, {
      data: { heldCall: { tool: 'restart_container', args: { container: 'db' }, approvalId: approval.id }, by: 'runbook' },
    });
    const done = await w.until(inc.id, ['escalated']);
    expect(done.resolution).toMatch(new RegExp(`approval ${approval.id} for restart_container expired without a decision`));
    const kinds = w.incidents.timeline(inc.id).map((e) => (e.data as Record<string, unknown> | null)?.[WATCHDOG_EVENT] ? 'watchdog' : e.kind);
    expect(kinds.slice(-2)).toEqual(['watchdog', 'escalation']);
    expect(watchdogNotes(w, inc.id)[0]!.summary).toMatch(new RegExp(`^the watchdog re-examines it: it waits on approval ${approval.id}, which was expired at `));
    expect(w.docker.starts('db')).toBe(0);
  });

  it('re-examines an incident still waiting on a dependency that closed; it resolves as recovered with it', async () => {
    const w = world({ start: false });
    w.docker.set('web-1', { status: 'running', running: true, exitCode: 0, startedAt: '2026-01-01T00:00:00Z' });
    const runner = watchedRunner(w, async () => { throw new Error('the agent must not run'); });
    await runner.start();
    const parent = incidentOn(w, 'db');
    const child = incidentOn(w, 'web-1');
    w.incidents.transition(child.id, 'wait_dependency', 'its dependency fails', { parentId: parent.id });
    w.incidents.transition(parent.id, 'escalate', 'a human has it (in another process: nothing wakes the child here)');
    expect(await w.until(child.id)).toMatchObject({ status: 'resolved', resolution: expect.stringMatching(/^recovered when its dependency did/) });
    expect(watchdogNotes(w, child.id).map((e) => e.summary)).toEqual([expect.stringMatching(new RegExp(`^the watchdog re-examines it: it waits on the incident ${parent.id}, which was escalated at `))]);
  });

  it('leaves incidents that wait for a reason, or are worked on, alone: no action and no note, pass after pass', async () => {
    const w = world({ start: false });
    let asked = false;
    const runner = watchedRunner(w, async (req) => {
      asked = true;
      await new Promise((r) => req.signal.addEventListener('abort', r));
      return { outcome: 'done', summary: 'stopped' };
    }, {
      approvalPollMs: 20, watchdogMs: 3_600_000, watchdogLimits: { runQuietMs: 60_000, idleMs: 60_000, waitGraceMs: 0 },
    });
    await runner.start();
    const held = incidentOn(w, 'db');
    const approval = w.rt.approvals.create({ principal: 'loop', tool: 'restart_container', target: 'local/db', args: '{}', argsHash: 'h', risk: 'low', rule: 'r', reason: 'held', ttlMs: 600_000, incidentId: held.id });
    w.incidents.transition(held.id, 'hold', `waiting for approval ${approval.id}`, { waitingOn: approval.id });
    const parent = incidentOn(w, 'cache');
    const child = incidentOn(w, 'web-1');
    w.incidents.transition(child.id, 'wait_dependency', 'its dependency fails', { parentId: parent.id });
    runner.wake(parent.id);
    await until('the parent to be worked on', () => asked);
    const before = [held, parent, child].map((i) => w.incidents.timeline(i.id).length);
    for (let pass = 0; pass < 5; pass += 1) {
      expect(runner.watchdog()).toEqual([]);
      await new Promise((r) => setTimeout(r, 30));
    }
    expect([held, parent, child].map((i) => w.incidents.timeline(i.id).length)).toEqual(before);
    expect(watchRow(w)).toMatchObject({ ok: true, detail: 'nothing stuck', updatedBy: expect.stringMatching(/:\d+$/) });
  });

  it('lets the approval poll move an expired wait at once: a note comes only when the watchdog acts, never one per poll', async () => {
    const w = world({ start: false });
    const runner = watchedRunner(w, async () => { throw new Error('the agent must not run'); }, { approvalPollMs: 20 });
    await runner.start();
    const inc = incidentOn(w, 'db');
    const approval = w.rt.approvals.create({ principal: 'loop', tool: 'restart_container', target: 'local/db', args: '{}', argsHash: 'h', risk: 'low', rule: 'r', reason: 'held', ttlMs: 1, incidentId: inc.id });
    w.incidents.transition(inc.id, 'hold', `waiting for approval ${approval.id}`, { waitingOn: approval.id }, {
      data: { heldCall: { tool: 'restart_container', args: { container: 'db' }, approvalId: approval.id }, by: 'runbook' },
    });
    expect(await w.until(inc.id, ['escalated'])).toMatchObject({ resolution: expect.stringMatching(/expired without a decision/) });
    await new Promise((r) => setTimeout(r, 300));
    // The poll moved it at once: the watchdog had nothing to do.
    expect(watchdogNotes(w, inc.id)).toEqual([]);
  });

  it('reports itself unhealthy when its passes stop (a starved timer), by an injected clock', async () => {
    const w = world({ start: false });
    let now = new Date();
    const runner = watchedRunner(w, async () => ({ outcome: 'done' }), { now: () => now, watchdogMs: 3_600_000, approvalPollMs: 3_600_000 });
    expect(runner.health()).toEqual(['the runner has not started']);
    await runner.start();
    expect(runner.health()).toEqual([]);
    runner.tick();
    now = new Date(now.getTime() + 4 * 3_600_000);
    expect(runner.health()).toEqual([
      "the runner's approval poll last ran 4 h ago (every 1 h)",
      'the watchdog has not run since the runner started 4 h ago (every 1 h)',
    ]);
    runner.tick();
    runner.watchdog();
    expect(runner.health()).toEqual([]);
    await runner.stop();
    expect(runner.health()).toEqual(['the runner is stopped']);
  });
});

describe('the watchdog and a long tool call', () => {
  const limits = watchdogLimits(LoopConfig.parse({}));
  const t0 = Date.parse('2026-03-01T12:00:00Z');
  const run = (callUntilMs?: number): Watched => ({
    incident: { id: 'inc_long', status: 'investigating', openedAt: new Date(t0).toISOString(), waitingOn: null, parentId: null },
    progress: { at: new Date(t0).toISOString(), byWatchdog: false }, runningSinceMs: t0, ...(callUntilMs !== undefined ? { callUntilMs } : {}),
  });

  it('leaves alone a run quiet past its limit while the guard still holds one of its calls under that call\'s own deadline', () => {
    // update_container_config with 300 + 120 + 300 s honestly spends 720 s, past the 655 s limit.
    const now = new Date(t0 + 720_000);
    expect(720_000).toBeGreaterThan(limits.runQuietMs);
    expect(findStuck([run(t0 + 1_530_000)], now, limits)).toEqual([]);
  });

  it('still aborts such a run once the call outlived its own deadline, or when no call is under way', () => {
    const now = new Date(t0 + 720_000);
    expect(findStuck([run(t0 + 700_000)], now, limits).map((a) => a.action)).toEqual(['abort_and_escalate']);
    expect(findStuck([run()], now, limits).map((a) => a.action)).toEqual(['abort_and_escalate']);
  });
});
