// An approval given back by a call that failed before acting: a retry with the same arguments runs
// on it; a call that may have acted consumes it; two calls racing on one approval run once. Through
// the real guard and store, on a hand-written fake of our Docker adapter.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ToolFailure } from '../../src/errors.js';
import type { CallOutcome, Caller } from '../../src/policy/call.js';
import { EffectWatch } from '../../src/policy/effect-watch.js';
import type { Runtime } from '../../src/server/runtime.js';
import type { ChangeJournal } from '../../src/store/changes.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { testRuntime } from '../support/warden.js';

const POLICY = 'rules:\n  - { name: restarts-need-a-human, tool: restart_container, decision: approve }\n';
const ALICE: Caller = { principal: 'alice', role: 'operator', transport: 'memory' };
const ARGS = { container: 'web-1', timeoutSeconds: 1, waitSeconds: 0 };
const unreachable = (): ToolFailure => new ToolFailure('unavailable', 'Docker on host local is unreachable (ECONNREFUSED) during restart; retry later', { notRun: true });

/** A FakeDocker whose next restarts fail as scripted, or wait for a gate. */
class ScriptedDocker extends FakeDocker {
  restartFailures: ToolFailure[] = [];
  /** undefined: that inspect answers. */
  stateFailures: Array<ToolFailure | undefined> = [];
  restartGate: Promise<void> | undefined;

  override async containerState(ref: string) {
    const f = this.stateFailures.shift();
    if (f) throw f;
    return super.containerState(ref);
  }

  override async restartContainer(ref: string): Promise<void> {
    this.calls.push(`restart attempt ${ref}`);
    await this.restartGate;
    const f = this.restartFailures.shift();
    if (f) throw f;
    return super.restartContainer(ref);
  }
}

const open: Runtime[] = [];
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
});

async function approved(): Promise<{ rt: Runtime; docker: ScriptedDocker; id: string }> {
  const docker = new ScriptedDocker();
  const rt = testRuntime({ adapters: fakeAdapters(docker), policy: POLICY });
  open.push(rt);
  const held = await rt.guard.call(ALICE, 'restart_container', ARGS);
  const id = (held as { details: { approvalId: string } }).details.approvalId;
  rt.decider.decide({ id, verdict: 'approved', by: 'bob', transport: 'cli' });
  return { rt, docker, id };
}

const run = (rt: Runtime, id: string): Promise<CallOutcome> => rt.guard.call(ALICE, 'restart_container', { ...ARGS, approvalId: id });
const restarts = (d: FakeDocker): number => d.calls.filter((c) => c === 'restart web-1').length;

describe('an approval and a call that failed before acting', () => {
  it('stays usable after Docker refused the connection, and the retry with the same arguments runs on it', async () => {
    const { rt, docker, id } = await approved();
    docker.restartFailures.push(unreachable());
    const failed = await run(rt, id);
    expect(failed).toMatchObject({ ok: false, kind: 'unavailable', details: { notRun: true, approvalId: id } });
    expect((failed as { message: string }).message).toMatch(new RegExp(`Nothing was changed: approval ${id} is still valid`));
    expect(rt.approvals.get(id)).toMatchObject({ status: 'approved', usedAt: null });
    expect(await run(rt, id)).toMatchObject({ ok: true });
    expect(restarts(docker)).toBe(1);
    expect(rt.approvals.get(id)?.status).toBe('used');
    expect(await run(rt, id)).toMatchObject({ ok: false, kind: 'denied', message: expect.stringMatching(/already used/) });
    const entries = rt.audit.list().filter((e) => e.approvalId === id && e.tool === 'restart_container').map((e) => [e.phase, e.result?.match(/claimed approval|released/)?.[0] ?? null]);
    expect(entries).toEqual([
      ['pending', null], ['approved', null],
      ['requested', 'claimed approval'], ['failed', 'released'],
      ['requested', 'claimed approval'], ['completed', null],
      ['denied', null],
    ]);
    expect(rt.audit.verify().ok).toBe(true);
  });

  it('stays usable when the container is gone by the time the call runs (a read said so, nothing was written)', async () => {
    const { rt, docker, id } = await approved();
    docker.stateFailures.push(new ToolFailure('invalid_input', 'no container "web-1" on host local'));
    expect(await run(rt, id)).toMatchObject({ ok: false, kind: 'invalid_input', details: { approvalId: id } });
    expect(rt.approvals.get(id)?.status).toBe('approved');
    expect(await run(rt, id)).toMatchObject({ ok: true });
  });

  it('is consumed when the call may have acted: Docker answered the restart with an error', async () => {
    const { rt, docker, id } = await approved();
    docker.restartFailures.push(new ToolFailure('target_failed', 'Docker on host local refused restart: driver failed'));
    const failed = await run(rt, id);
    expect(failed).toMatchObject({ ok: false, kind: 'target_failed' });
    expect((failed as { message: string }).message).not.toMatch(/still valid/);
    expect(rt.approvals.get(id)?.status).toBe('used');
    expect(await run(rt, id)).toMatchObject({ ok: false, kind: 'denied' });
    expect(rt.audit.list().filter((e) => e.phase === 'failed').map((e) => e.result)).not.toContainEqual(expect.stringMatching(/released/));
  });

  it('is consumed when the connection broke mid-request (a reset may have reached Docker)', async () => {
    const { rt, docker, id } = await approved();
    docker.restartFailures.push(new ToolFailure('unavailable', 'Docker on host local is unreachable (ECONNRESET) during restart; retry later'));
    expect(await run(rt, id)).toMatchObject({ ok: false, kind: 'unavailable' });
    expect(rt.approvals.get(id)?.status).toBe('used');
  });

  it('runs once when two calls race on one approval; the loser is refused and nothing else runs', async () => {
    const { rt, docker, id } = await approved();
    let open_: () => void = () => undefined;
    docker.restartGate = new Promise((resolve) => { open_ = resolve; });
    const both = Promise.all([run(rt, id), run(rt, id)]);
    // Both are in the guard before the first is let through: the second meets a claimed approval.
    await vi.waitFor(() => expect(docker.calls.some((c) => c.startsWith('restart attempt'))).toBe(true));
    open_();
    const outcomes = await both;
    expect(outcomes.map((o) => o.ok).sort()).toEqual([false, true]);
    expect(outcomes.find((o) => !o.ok)).toMatchObject({ kind: 'denied', message: expect.stringMatching(/already used \(or a call with it is under way\)/) });
    expect(docker.calls.filter((c) => c.startsWith('restart attempt'))).toHaveLength(1);
  });

  it('runs once when two calls race and the first fails before acting: the approval is then free for one retry', async () => {
    const { rt, docker, id } = await approved();
    docker.restartFailures.push(unreachable());
    const outcomes = await Promise.all([run(rt, id), run(rt, id)]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(0);
    expect(docker.calls.filter((c) => c.startsWith('restart attempt'))).toHaveLength(1);
    expect(await run(rt, id)).toMatchObject({ ok: true });
  });

  it('is not given back once it has expired while the call ran', async () => {
    const { rt, docker, id } = await approved();
    let open_: () => void = () => undefined;
    docker.restartGate = new Promise((resolve) => { open_ = resolve; });
    docker.restartFailures.push(unreachable());
    const pending = run(rt, id);
    // Claimed and under way: it expires now, before the call fails (no wall-clock race with the claim).
    await vi.waitFor(() => expect(docker.calls.some((c) => c.startsWith('restart attempt'))).toBe(true));
    rt.db.prepare('UPDATE approvals SET expires_at = ? WHERE id = ?').run(new Date(Date.now() - 1_000).toISOString(), id);
    open_();
    const failed = await pending;
    expect((failed as { message: string }).message).not.toMatch(/still valid/);
    expect(rt.approvals.get(id)?.status).toBe('used');
  });
});

describe('EffectWatch', () => {
  const docker = () => new ScriptedDocker();

  it('counts a write that reached Docker, and not one that never connected', async () => {
    const w = new EffectWatch();
    const d = docker();
    d.restartFailures.push(unreachable());
    const watched = w.adapters(fakeAdapters(d)).docker('local');
    await watched.containerState('web-1');
    await expect(watched.restartContainer('web-1', 1)).rejects.toThrow(/ECONNREFUSED/);
    expect(w.sealIfUntouched()).toBe(true);
  });

  it('says a call that wrote and then failed to connect may have acted', async () => {
    const w = new EffectWatch();
    const d = docker();
    const watched = w.adapters(fakeAdapters(d)).docker('local');
    await watched.stopContainer('web-1', 1);
    d.restartFailures.push(unreachable());
    await expect(watched.restartContainer('web-1', 1)).rejects.toThrow(/ECONNREFUSED/);
    expect(w.sealIfUntouched()).toBe(false);
  });

  it('keeps a failure\'s notRun after only a change-journal write (no target touched), though the approval stays used', async () => {
    const w = new EffectWatch();
    const d = docker();
    d.restartFailures.push(unreachable());
    const journal = w.changes({ begin: () => 1 } as unknown as ChangeJournal);
    (journal as unknown as { begin: () => number }).begin();
    const err = await w.adapters(fakeAdapters(d)).docker('local').restartContainer('web-1', 1).catch((e: unknown) => e);
    expect(w.honest((err as ToolFailure).details)).toEqual({ notRun: true });
    expect(w.sealIfUntouched()).toBe(false);
  });

  it('counts a symbol-keyed method, and one added after wrapping, as possible writes (only the named reads are not)', () => {
    const act = Symbol('act');
    const calls: string[] = [];
    const raw: Record<PropertyKey, unknown> = { [act]: () => calls.push('symbol') };
    const bySymbol = new EffectWatch();
    (bySymbol.changes(raw as unknown as ChangeJournal) as unknown as Record<symbol, () => void>)[act]!();
    expect(bySymbol.sealIfUntouched()).toBe(false);
    const later = new EffectWatch();
    const watched = later.changes(raw as unknown as ChangeJournal) as unknown as Record<string, () => void>;
    raw.addedLater = () => calls.push('later');
    watched.addedLater!();
    expect(later.sealIfUntouched()).toBe(false);
    expect(calls).toEqual(['symbol', 'later']);
  });

  it('a write that throws synchronously before its first request: notRun gives the call back, any other error does not', () => {
    const raw = {
      refusedAtOnce: () => { throw new ToolFailure('unavailable', 'breaker open', { notRun: true }); },
      badArgument: () => { throw new TypeError('bad argument'); },
    };
    const notRun = new EffectWatch();
    expect(() => (notRun.changes(raw as unknown as ChangeJournal) as unknown as typeof raw).refusedAtOnce()).toThrow(/breaker open/);
    expect(notRun.sealIfUntouched()).toBe(true);
    const other = new EffectWatch();
    expect(() => (other.changes(raw as unknown as ChangeJournal) as unknown as typeof raw).badArgument()).toThrow(TypeError);
    expect(other.sealIfUntouched()).toBe(false);
  });

  it('refuses every write after it is sealed (a handler still running past its deadline), without calling through', async () => {
    const w = new EffectWatch();
    const d = docker();
    const watched = w.adapters(fakeAdapters(d));
    expect(w.sealIfUntouched()).toBe(true);
    expect(() => watched.docker('local').restartContainer('web-1', 1)).toThrow(ToolFailure);
    expect(() => watched.commands('local').run(['true'], { timeoutMs: 1_000 })).toThrow(/not run/);
    expect(d.calls).toEqual([]);
  });
});

describe('notRun in the result of a write that made several adapter calls', () => {
  const STOP = 'rules:\n  - { name: stops-allowed, tool: stop_container, decision: allow }\n';
  const stop = async (failures: Array<ToolFailure | undefined>): Promise<CallOutcome> => {
    const docker = new ScriptedDocker();
    docker.stateFailures.push(...failures);
    const rt = testRuntime({ adapters: fakeAdapters(docker), policy: STOP });
    open.push(rt);
    return rt.guard.call(ALICE, 'stop_container', { container: 'web-1', timeoutSeconds: 1 });
  };

  // The loop reads notRun as "nothing ran" and does not count the failure against its writes.
  it('is dropped when a later step never reached Docker but the stop before it did', async () => {
    const after = await stop([undefined, unreachable()]);
    expect(after).toMatchObject({ ok: false, kind: 'unavailable', message: expect.stringMatching(/ECONNREFUSED/) });
    expect((after as { details: object }).details).not.toHaveProperty('notRun');
  });

  it('is kept when the failing step was the first thing the call tried', async () => {
    expect(await stop([unreachable()])).toMatchObject({ ok: false, kind: 'unavailable', details: { notRun: true } });
  });
});
