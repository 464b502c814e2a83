// The runner over warden's real guard, audit, approvals and incident store, a scriptable fake Docker
// and a stand-in agent: what it does with each agent outcome, the runbooks, verification, approvals,
// dependencies, restart safety, and its concurrency and per-target limits.
import { ToolFailure } from '../../src/errors.js';
import { describe, expect, it } from 'vitest';
import { useRunnerWorlds, type RunnerWorld } from '../support/runner.js';
import type { ToolCallRecord } from '../../src/loop/tool-bridge.js';
import { waitFor } from '../support/processes.js';
import { linkClient } from '../support/warden.js';

const world = useRunnerWorlds();

const MiB = 1024 * 1024;
const HOLD_RESTARTS = 'rules: [{ name: hold-restarts, tool: restart_container, decision: approve }]';
const loopCalls = (w: RunnerWorld, tool: string) => w.rt.audit.list().filter((e) => e.tool === tool && e.principal === 'loop' && e.phase === 'completed');

describe('runner: Claude first', () => {
  it("verifies the agent's restart and resolves with what was done and how it was verified", async () => {
    const w = world({ agent: async (_req, call) => { await call('restart_container', { container: 'db' }); return { outcome: 'done', summary: 'db was down; restarted it' }; } });
    const inc = w.open('db');
    const done = await w.until(inc.id);
    expect(done.status).toBe('resolved');
    expect(done.resolution).toMatch(/^Claude: restart_container .*"container":"db".*verified: running for 0.3s without a restart/);
    expect(done.attempts).toBe(1);
    expect(w.incidents.timeline(inc.id).map((e) => e.kind)).toContain('verify');
    const reads = w.rt.audit.list().filter((e) => e.tool === 'inspect_container');
    expect(reads.length).toBeGreaterThan(0);
    for (const e of reads) expect(e).toMatchObject({ principal: 'loop', incidentId: inc.id });
  });

  it('falls back to the runbooks when Claude is unreachable: exit 1 -> start, verified, resolved', async () => {
    const w = world({ agent: async () => ({ outcome: 'unreachable', summary: 'Claude could not be reached: 529 Overloaded' }) });
    const inc = w.open('db');
    const done = await w.until(inc.id);
    expect(done).toMatchObject({ status: 'resolved', attempts: 1 });
    expect(done.resolution).toMatch(/runbook start_container on local\/db \(exited with code 1: restart\); verified/);
    expect(w.docker.starts('db')).toBe(1);
  });

  it('escalates when Claude took no action and the target still fails, and notifies with the timeline', async () => {
    const w = world({ agent: async () => ({ outcome: 'done', summary: 'this needs a human: the disk is full' }) });
    const inc = w.open('db');
    expect(await w.until(inc.id)).toMatchObject({ status: 'escalated' });
    const n = w.notifications.find((x) => x.event === 'escalation')!;
    expect(n.fields.reason).toMatch(/Claude took no action.*exited with code 1.*disk is full/);
    expect(String(n.fields.timeline)).toMatch(/model: agent done/);
  });
});

describe('runner: runbooks', () => {
  it('restarts an OOM kill once; a second OOM kill asks, held for approval, to double the memory limit and start it', async () => {
    const w = world({ agent: async () => ({ outcome: 'budget', summary: 'daily cost budget spent' }) });
    const oom = { status: 'exited', running: false, exitCode: 137, oomKilled: true, limits: { memoryBytes: 64 * MiB, memoryReservationBytes: null, nanoCpus: null, cpuShares: null, cpuQuota: null, cpuPeriod: null, pidsLimit: null } };
    w.docker.set('db', { ...oom, finishedAt: '2026-01-01T00:00:00Z' });
    w.docker.onStart = (name) => {
      w.docker.set(name, { status: 'running', running: true, oomKilled: false, startedAt: new Date().toISOString() });
      setTimeout(() => w.docker.set(name, { ...oom, finishedAt: new Date().toISOString() }), 100);
    };
    const inc = w.open('db');
    const parked = await w.until(inc.id, ['waiting_approval', 'escalated']);
    expect(parked).toMatchObject({ status: 'waiting_approval', attempts: 1 });
    expect(w.docker.starts('db')).toBe(1);
    const held = w.rt.approvals.get(parked.waitingOn!)!;
    expect(held).toMatchObject({ tool: 'update_container_resources', status: 'pending' });
    expect(JSON.parse(String(held.args))).toMatchObject({ host: 'local', container: 'db', memory: '128m', start: true });
  });

  it('counts an OOM kill of the incident it re-opened within the cooldown: an OOM after a verified restart escalates', async () => {
    const w = world({ agent: async () => ({ outcome: 'unreachable', summary: 'no key' }) });
    const alert = { source: 'docker' as const, fingerprint: 'docker:local/db', status: 'firing' as const, severity: 'critical' as const, summary: 'db OOM', startsAt: '', labels: {}, annotations: {}, hints: {} };
    const where = { target: 'local/db', host: 'local', container: 'db', service: null };
    const first = w.incidents.create(alert, where);
    w.incidents.addEvent(first.id, 'note', 'runbook: OOM-killed', { fallback: { decision: 'restart', state: 'exited', restartCount: 0, oomKilled: true, finishedAt: '2026-01-01T00:00:00Z' } });
    w.incidents.transition(first.id, 'resolve', 'runbook start_container; verified', { resolution: 'runbook start_container; verified' });
    w.docker.set('db', { status: 'exited', running: false, exitCode: 137, oomKilled: true, finishedAt: '2026-01-01T00:09:00Z' });
    const again = w.incidents.create(alert, where);
    w.incidents.update(again.id, { flaps: 1 });
    w.runner.wake(again.id);
    expect(await w.until(again.id)).toMatchObject({ status: 'escalated', resolution: expect.stringMatching(/OOM-killed again/) });
    expect(w.docker.starts('db')).toBe(0);
  });

  it('does not act again on a re-opening of a condition it escalated within the cooldown', async () => {
    const w = world({ agent: async () => { throw new Error('the agent must not run'); } });
    const alert = { source: 'docker' as const, fingerprint: 'docker:local/db', status: 'firing' as const, severity: 'critical' as const, summary: 'db died', startsAt: '', labels: {}, annotations: {}, hints: {} };
    const where = { target: 'local/db', host: 'local', container: 'db', service: null };
    const first = w.incidents.create(alert, where);
    w.incidents.transition(first.id, 'escalate', 'segfault', { resolution: 'escalated: segfault' });
    const again = w.incidents.create(alert, where);
    w.incidents.update(again.id, { flaps: 1 });
    w.runner.wake(again.id);
    expect(await w.until(again.id)).toMatchObject({ status: 'escalated', resolution: expect.stringMatching(new RegExp(`escalated in ${first.id} within the cooldown`)) });
    expect(w.agentRuns).toHaveLength(0);
    expect(w.docker.starts('db')).toBe(0);
  });

  it('escalates a container that keeps crashing after maxAttempts restarts instead of looping', async () => {
    const w = world({ agent: async () => ({ outcome: 'unreachable', summary: 'no key' }) });
    w.docker.onStart = (name) => {
      w.docker.set(name, { status: 'running', running: true, startedAt: new Date().toISOString() });
      setTimeout(() => w.docker.set(name, { status: 'exited', running: false, exitCode: 1, finishedAt: new Date().toISOString() }), 100);
    };
    const inc = w.open('db');
    expect(await w.until(inc.id)).toMatchObject({ status: 'escalated', attempts: 3 });
    expect(w.docker.starts('db')).toBe(3);
    expect(w.incidents.get(inc.id)!.resolution).toMatch(/acted 3 times/);
  });

  it("never races Docker's own restart policy: it waits, then escalates when the restart count keeps climbing", async () => {
    const w = world({ agent: async () => ({ outcome: 'unreachable', summary: 'no key' }) });
    let restarts = 5;
    w.docker.set('db', { status: 'restarting', running: false, restarting: true, restartPolicy: { name: 'always', maximumRetryCount: 0 } });
    const inspect = w.docker.inspectContainer.bind(w.docker);
    w.docker.inspectContainer = async (ref) => ({ ...(await inspect(ref)), restartCount: (restarts += 2) });
    const inc = w.open('db');
    expect(await w.until(inc.id)).toMatchObject({ status: 'escalated', attempts: 0 });
    expect(w.docker.starts('db')).toBe(0);
    expect(w.incidents.get(inc.id)!.resolution).toMatch(/restart policy \(always\) restarted it \d+ more times/);
  });
});

describe('runner: approvals', () => {
  it('parks a held call; once approved it runs exactly that call once, verifies and resolves', async () => {
    const w = world({
      policy: HOLD_RESTARTS,
      agent: async (_req, call) => {
        const r = await call('restart_container', { container: 'db' });
        return { outcome: 'held', summary: 'restart held', heldCall: { tool: 'restart_container', args: { container: 'db' }, approvalId: r.approvalId! } };
      },
    });
    const inc = w.open('db');
    const parked = await w.until(inc.id, ['waiting_approval']);
    expect(parked.waitingOn).toMatch(/^apr_/);
    expect(w.notifications.find((n) => n.event === 'escalation')?.fields).toMatchObject({ approvalId: parked.waitingOn, tool: 'restart_container' });
    expect(w.docker.starts('db')).toBe(0);
    w.rt.decider.decide({ id: parked.waitingOn!, verdict: 'approved', by: 'alice', transport: 'cli' });
    const done = await w.until(inc.id);
    expect(done).toMatchObject({ status: 'resolved', waitingOn: null });
    expect(done.resolution).toMatch(/approved by alice; verified/);
    expect(w.docker.starts('db')).toBe(1);
    expect(loopCalls(w, 'restart_container')).toEqual([expect.objectContaining({ approvalId: parked.waitingOn, incidentId: inc.id })]);
    expect(w.rt.approvals.get(parked.waitingOn!)!.status).toBe('used');
    expect(w.agentRuns).toHaveLength(1);
  });

  it('escalates when the held call is denied, and runs nothing', async () => {
    const w = world({
      policy: HOLD_RESTARTS,
      agent: async (_req, call) => {
        const r = await call('restart_container', { container: 'db' });
        return { outcome: 'held', summary: 'held', heldCall: { tool: 'restart_container', args: { container: 'db' }, approvalId: r.approvalId! } };
      },
    });
    const inc = w.open('db');
    const parked = await w.until(inc.id, ['waiting_approval']);
    w.rt.decider.decide({ id: parked.waitingOn!, verdict: 'denied', by: 'bob', reason: 'not now', transport: 'cli' });
    expect(await w.until(inc.id)).toMatchObject({ status: 'escalated', resolution: expect.stringMatching(/denied by bob: not now/) });
    expect(w.docker.starts('db')).toBe(0);
  });
});

describe('runner: restart safety', () => {
  it("verifies an action whose 'requested' entry has no outcome instead of repeating it", async () => {
    const w = world({ start: false, agent: async () => { throw new Error('the agent must not run'); } });
    w.docker.set('db', { status: 'running', running: true });
    const inc = w.incidents.create({
      source: 'generic', fingerprint: 'test:db', status: 'firing', severity: 'critical', summary: 'db is down',
      startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: {},
    }, { target: 'local/db', host: 'local', container: 'db', service: null });
    w.incidents.transition(inc.id, 'work', 'the runbooks act');
    w.rt.audit.append({
      callId: 'c-before-crash', principal: 'loop', transport: 'loop', tool: 'start_container', target: 'local/db',
      args: { host: 'local', container: 'db', waitSeconds: 0 }, argsHash: 'h', risk: 'low', decision: 'notify', rule: 'default:low', phase: 'requested', incidentId: inc.id,
    });
    await w.runner.start();
    const done = await w.until(inc.id);
    expect(done).toMatchObject({ status: 'resolved', attempts: 1 });
    expect(done.resolution).toMatch(/resumed: start_container on local\/db \(requested before warden stopped/);
    expect(w.docker.starts('db')).toBe(0);
    expect(w.agentRuns).toHaveLength(0);
  });
});

describe('runner: scheduling', () => {
  it('handles at most `concurrency` incidents at once and one per target; the others wait in the queue', async () => {
    const release: Array<() => void> = [];
    const w = world({
      loop: '  concurrency: 2\n',
      agent: async (req) => {
        await new Promise<void>((r) => { release.push(r); req.signal.addEventListener('abort', () => r()); });
        return { outcome: 'done', summary: 'nothing to do' };
      },
    });
    w.docker.containers.push({ id: 'ccc', name: 'cache', image: 'redis', state: 'running', status: 'Up', exitCode: null, health: null, restartCount: 0, restartPolicy: 'no' });
    const a = w.open('web-1');
    const b = w.open('web-1', { fingerprint: 'test:web-1:second' });
    const c = w.open('cache');
    const d = w.open('db');
    await until(() => release.length === 2);
    // b waits for a (same target) although a slot is free for it after c; d waits for a slot.
    expect(w.runner.busy().sort()).toEqual([a.id, c.id].sort());
    while (w.agentRuns.length < 4 || w.runner.busy().length > 0) {
      const targets = w.runner.busy().map((id) => w.incidents.get(id)!.target);
      expect(new Set(targets).size).toBe(targets.length);
      expect(targets.length).toBeLessThanOrEqual(2);
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(w.agentRuns.map((r) => r.incident.id).sort()).toEqual([a.id, b.id, c.id, d.id].sort());
  });

  it('wakes the incidents waiting on one that closes; a dependent whose target is healthy resolves as recovered with it', async () => {
    const w = world({ agent: async (req, call) => {
      if (req.incident.container === 'db') await call('restart_container', { container: 'db' });
      return { outcome: 'done', summary: 'done' };
    } });
    const parent = w.open('db');
    const child = w.incidents.create({
      source: 'generic', fingerprint: 'test:web-1', status: 'firing', severity: 'warning', summary: 'web-1 errors',
      startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: {},
    }, { target: 'local/web-1', host: 'local', container: 'web-1', service: null });
    w.incidents.transition(child.id, 'wait_dependency', 'its dependency fails', { parentId: parent.id });
    expect(await w.until(parent.id)).toMatchObject({ status: 'resolved' });
    const done = await w.until(child.id);
    expect(done.status).toBe('resolved');
    expect(done.resolution).toMatch(/^recovered when its dependency did/);
    expect(w.agentRuns.map((r) => r.incident.id)).toEqual([parent.id]);
  });
});

describe('runner: restore first', () => {
  const inventory = { 'services.yaml': 'services:\n  - { name: db, host: local, container: db, tier: standard }\n' };

  it('restarts at once in a restore-first tier, then lets Claude investigate read-only: its writes are refused', async () => {
    const w = world({
      inventory, loop: '  restoreFirstTiers: [standard]\n',
      agent: async (req, call) => {
        const undo = await call('stop_container', { container: 'db' });
        return { outcome: 'done', summary: `cause: a bad deploy; stop attempt: ${undo.kind}` };
      },
    });
    const inc = w.open('db');
    const done = await w.until(inc.id);
    expect(done.resolution).toMatch(/^restored first by the runbook: start_container on local\/db/);
    await w.runner.idle();
    expect(w.agentRuns.map((r) => r.mode)).toEqual(['investigate']);
    expect(w.agentRuns[0]!.timeline.some((e) => /restore first \(tier standard\)/.test(e.summary))).toBe(true);
    expect(w.docker.calls.filter((c) => c.startsWith('stop '))).toEqual([]);
    expect(w.incidents.timeline(inc.id).at(-1)).toMatchObject({ kind: 'model', summary: expect.stringMatching(/investigation after the restore.*stop attempt: denied/) });
    expect(w.incidents.get(inc.id)!.status).toBe('resolved');
  });
});

async function until(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('runner: resolved means stop', () => {
  it("stops a run whose alert resolves while Claude investigates: its next write is refused and nothing restarts", async () => {
    let resolved!: () => void;
    const resolvedNow = new Promise<void>((r) => { resolved = r; });
    let attempt: ToolCallRecord | undefined;
    const w = world({
      agent: async (_req, call) => {
        await call('inspect_container', { container: 'db' });
        await resolvedNow;
        attempt = await call('restart_container', { container: 'db' });
        return { outcome: 'done', summary: 'restarted db' };
      },
    });
    const inc = w.open('db');
    await waitFor('the agent to start', async () => w.agentRuns.length === 1);
    w.resolve('db');
    resolved();
    await waitFor('the run to end', async () => w.runner.busy().length === 0);
    expect(attempt).toMatchObject({ ok: false, kind: 'denied', text: expect.stringMatching(/is resolved .*nothing more runs/) });
    expect(w.docker.starts('db')).toBe(0);
    expect(w.incidents.get(inc.id)).toMatchObject({ status: 'resolved', resolution: expect.stringMatching(/^resolved by the source while warden was working on it \(it was investigating\)/) });
    expect(w.rt.audit.list().filter((e) => e.tool === 'restart_container').map((e) => `${e.phase}:${e.rule}`)).toEqual(['denied:loop.incident-closed']);
    // The run recorded nothing after the resolve: the resolve is the last status event.
    expect(w.incidents.timeline(inc.id).filter((e) => e.kind === 'status').at(-1)!.summary).toMatch(/-> resolved/);
  });

  it('cancels the held call when the alert resolves; approving it later is refused naming why, and it never runs', async () => {
    const w = world({
      policy: HOLD_RESTARTS,
      agent: async (_req, call) => {
        const r = await call('restart_container', { container: 'db' });
        return { outcome: 'held', heldCall: { tool: r.tool, args: r.args, approvalId: r.approvalId! } };
      },
    });
    const inc = w.open('db');
    const parked = await w.until(inc.id, ['waiting_approval']);
    w.resolve('db');
    const approval = w.rt.approvals.get(parked.waitingOn!)!;
    expect(approval).toMatchObject({ status: 'denied', decidedBy: 'warden', decisionReason: 'cancelled: generic reports it resolved' });
    expect(() => w.rt.decider.decide({ id: approval.id, verdict: 'approved', by: 'alice', transport: 'cli' })).toThrow(/denied \(cancelled: generic reports it resolved\), not pending/);
    await new Promise((r) => setTimeout(r, 300));
    expect(w.docker.starts('db')).toBe(0);
    expect(w.rt.audit.list().filter((e) => e.approvalId === approval.id).map((e) => `${e.principal}:${e.phase}`)).toEqual(['loop:pending', 'warden:rejected', 'alice:denied']);
  });
});

describe('runner: operators\' intent', () => {
  it('holds the start of a container stopped on purpose through warden, and starts it once a human approves', async () => {
    const w = world({ policy: 'rules: [{ tool: stop_container, decision: allow }]', agent: async () => ({ outcome: 'unreachable', summary: 'no key' }) });
    const alice = await linkClient(w.rt, { principal: 'alice', role: 'operator', transport: 'memory' });
    const stopped = await alice.client.callTool({ name: 'stop_container', arguments: { container: 'db' } });
    expect(stopped.isError).toBeFalsy();
    const inc = w.open('db');
    const parked = await w.until(inc.id, ['waiting_approval']);
    expect(w.docker.starts('db')).toBe(0);
    const held = w.rt.approvals.get(parked.waitingOn!)!;
    expect(held).toMatchObject({ tool: 'start_container', rule: 'loop.operator-stopped', reason: expect.stringMatching(/stopped on purpose by alice at .* \(stop_container through warden\)/) });
    w.rt.decider.decide({ id: held.id, verdict: 'approved', by: 'bob', transport: 'cli' });
    w.runner.approvalDecided(held.id);
    expect(await w.until(inc.id)).toMatchObject({ status: 'resolved' });
    expect(w.docker.starts('db')).toBe(1);
    await alice.close();
  });
});

describe("runner: a person's stop recorded as failed", () => {
  it('still holds the start when Docker stopped it although warden recorded the stop as failed (timed out)', async () => {
    const w = world({ policy: 'rules: [{ tool: stop_container, decision: allow }]', agent: async () => ({ outcome: 'unreachable', summary: 'no key' }) });
    let stoppedByDocker = false;
    w.docker.stopContainer = async () => {
      stoppedByDocker = true;
      w.docker.set('db', { status: 'exited', running: false, exitCode: 0 });
      w.docker.pastEventList = [{ type: 'container', action: 'stop', id: 'db', name: 'db', attributes: {}, timeNano: Date.now() * 1e6 }];
      throw new ToolFailure('unavailable', 'Docker on host local: stop timed out; retry later');
    };
    const state = w.docker.containerState.bind(w.docker);
    // Asked by name or by ID (the canonical target carries it): the fake knows the name.
    w.docker.containerState = async () => ({ ...(await state('db')), ...(stoppedByDocker ? { state: 'exited', running: false } : {}) });
    const alice = await linkClient(w.rt, { principal: 'alice', role: 'operator', transport: 'memory' });
    const stopped = await alice.client.callTool({ name: 'stop_container', arguments: { container: 'db' } });
    expect(stopped.isError).toBe(true);
    expect(w.rt.audit.stopIntent('local/db')).toBeUndefined();
    const inc = w.open('db');
    const parked = await w.until(inc.id, ['waiting_approval', 'resolved', 'escalated']);
    expect(parked.status).toBe('waiting_approval');
    expect(w.rt.approvals.get(parked.waitingOn!)).toMatchObject({ rule: 'loop.operator-stopped', reason: expect.stringMatching(/stopped outside warden/) });
    expect(w.docker.starts('db')).toBe(0);
    await alice.close();
  });
});

describe('runner: the tick', () => {
  it('wakes an incident waiting on a dependency whose incident closed without waking it', async () => {
    const w = world({ agent: async () => ({ outcome: 'unreachable', summary: 'no key' }) });
    w.docker.set('web-1', { status: 'running', running: true, exitCode: 0, startedAt: '2026-01-01T00:00:00Z' });
    const parent = w.incidents.create({
      source: 'generic', fingerprint: 'test:db', status: 'firing', severity: 'critical', summary: 'db is down',
      startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: {},
    }, { target: 'local/db', host: 'local', container: 'db', service: null });
    const child = w.incidents.create({
      source: 'generic', fingerprint: 'test:web-1', status: 'firing', severity: 'warning', summary: 'web-1 errors',
      startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: {},
    }, { target: 'local/web-1', host: 'local', container: 'web-1', service: null });
    w.incidents.transition(child.id, 'wait_dependency', 'its dependency fails', { parentId: parent.id });
    // Closed behind the runner's back (another process, a crash before the wake): only the tick sees it.
    w.incidents.transition(parent.id, 'escalate', 'a human has it');
    expect(await w.until(child.id)).toMatchObject({ status: 'resolved', resolution: expect.stringMatching(/^recovered when its dependency did/) });
  });
});
