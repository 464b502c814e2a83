// The deterministic runbooks as a decision table: a container's inspect view and the incident's
// history in, one action out. DESIGN.md's corrections to the hand-built trees are rows here: 137
// alone is a SIGKILL (restart), OOMKilled restarts once then escalates, Docker's own restarts are not raced.
import { describe, expect, it } from 'vitest';
import { decideFallback, historyOf, lookOf, type ContainerView, type FallbackHistory } from '../../src/loop/fallback.js';
import type { TimelineEvent } from '../../src/shared/incidents.js';

const cfg = { maxAttempts: 3 };
const none: FallbackHistory = { looks: [] };

function view(over: Partial<ContainerView> = {}): ContainerView {
  return {
    state: 'exited', running: false, restarting: false, exitCode: 1, oomKilled: false,
    restartPolicy: { name: 'no', maximumRetryCount: 0 }, restartCount: 0, health: null,
    startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:01:00Z', limits: { memoryBytes: null },
    ...over,
  };
}

const running = { state: 'running', running: true, finishedAt: null };

describe('decideFallback', () => {
  it.each<[string, Partial<ContainerView>, number, string, RegExp]>([
    ['exit 0 -> restart', { exitCode: 0 }, 0, 'restart', /exited with code 0/],
    ['exit 1 -> restart', { exitCode: 1 }, 0, 'restart', /exited with code 1/],
    ['exit 137 without OOMKilled is a SIGKILL -> restart', { exitCode: 137 }, 0, 'restart', /SIGKILL.*not an OOM/],
    ['exit 137 with OOMKilled -> restart once', { exitCode: 137, oomKilled: true }, 0, 'restart', /OOM-killed/],
    ['exit 139 (SIGSEGV) -> escalate', { exitCode: 139 }, 0, 'escalate', /segmentation fault/],
    ['an exit no runbook covers -> escalate', { exitCode: 42 }, 0, 'escalate', /no runbook covers/],
    ['exit 143 (SIGTERM from inside) -> restart like a crash', { exitCode: 143 }, 0, 'restart', /^exit 143 = SIGTERM sent from inside the container \(no stop or kill came through Docker\)/],
    ['exit 130 (SIGINT from inside) -> restart like a crash', { exitCode: 130 }, 0, 'restart', /^exit 130 = SIGINT sent from inside the container/],
    ['exit 126 -> configuration error, escalate at once', { exitCode: 126 }, 0, 'escalate', /^configuration error: exit 126, its command cannot execute/],
    ['exit 127 -> configuration error, escalate at once', { exitCode: 127 }, 0, 'escalate', /^configuration error: exit 127, its command was not found/],
    ['exit 127 while Docker restarts it -> escalate, not wait', { state: 'restarting', running: true, restarting: true, exitCode: 127, restartPolicy: { name: 'always', maximumRetryCount: 0 } }, 0, 'escalate', /exit 127/],
    ['running, no health check -> nothing to do', running, 0, 'none', /^running: nothing to do/],
    ['running and healthy -> nothing to do', { ...running, health: { status: 'healthy' } }, 0, 'none', /running and healthy/],
    ['running but unhealthy -> restart', { ...running, health: { status: 'unhealthy' } }, 0, 'restart', /health check fails/],
    ['health check still starting -> wait', { ...running, health: { status: 'starting' } }, 0, 'wait', /restart policy/],
    ['State.Restarting -> wait, never race Docker', { state: 'restarting', restarting: true, restartPolicy: { name: 'always', maximumRetryCount: 0 } }, 0, 'wait', /does not race/],
    ['exited under policy always -> wait for Docker', { restartPolicy: { name: 'always', maximumRetryCount: 0 } }, 0, 'wait', /always/],
    ['exited under unless-stopped -> wait for Docker', { restartPolicy: { name: 'unless-stopped', maximumRetryCount: 0 } }, 0, 'wait', /unless-stopped/],
    ['on-failure with retries left -> wait', { restartPolicy: { name: 'on-failure', maximumRetryCount: 5 }, restartCount: 2 }, 0, 'wait', /on-failure/],
    ['on-failure and exit 0: Docker will not restart -> restart', { exitCode: 0, restartPolicy: { name: 'on-failure', maximumRetryCount: 5 } }, 0, 'restart', /code 0/],
    ['on-failure retries used up -> escalate', { restartPolicy: { name: 'on-failure', maximumRetryCount: 3 }, restartCount: 3 }, 0, 'escalate', /already restarted it 3 times/],
    ['maxAttempts reached -> escalate', { exitCode: 1 }, 3, 'escalate', /acted 3 times/],
    ['paused -> escalate', { state: 'paused', running: true }, 0, 'escalate', /paused/],
    ['created, never started -> start', { state: 'created', exitCode: 0, finishedAt: null }, 0, 'restart', /never started/],
  ])('%s', (_name, over, attempts, kind, reason) => {
    const action = decideFallback(view(over), attempts, none, cfg);
    expect(action.kind).toBe(kind);
    expect(action.reason).toMatch(reason);
  });

  it.each<[number, string]>([[143, 'sigterm'], [130, 'sigint']])('restarts exit %i as a crash with cause %s', (exitCode, cause) => {
    expect(decideFallback(view({ exitCode }), 0, none, cfg)).toMatchObject({ kind: 'restart', tool: 'start_container', cause });
  });

  it("escalates Docker's start error at once, quoting it, before any start of a created container", () => {
    const error = 'failed to create shim task: OCI runtime create failed: exec: "nope": executable file not found in $PATH: unknown';
    const action = decideFallback(view({ state: 'created', exitCode: 127, error, finishedAt: null }), 0, none, cfg);
    expect(action).toEqual({
      kind: 'escalate',
      reason: `configuration error: Docker could not start it: "${error}" (exit 127); a restart will not fix it: its command, image or mounts must change (Docker restart count 0, last exit code 127)`,
    });
  });

  it('ignores a start error that a later successful start cleared: a running, healthy container is fine', () => {
    expect(decideFallback(view({ ...running, error: '' }), 0, none, cfg).kind).toBe('none');
  });

  it.each<[string, Partial<ContainerView>, number, FallbackHistory, RegExp]>([
    ['exit 139', { exitCode: 139, restartCount: 2 }, 0, none, /segmentation fault.* \(Docker restart count 2, last exit code 139\)$/],
    ['an uncovered exit', { exitCode: 42 }, 0, none, /no runbook covers.* \(Docker restart count 0, last exit code 42\)$/],
    ['maxAttempts', { exitCode: 1, restartCount: 1, finishedAt: 'c' }, 3,
      { looks: [lookOf('restart', view({ exitCode: 137, finishedAt: 'a' })), lookOf('restart', view({ exitCode: 1, finishedAt: 'b' }))] },
      /acted 3 times.* \(Docker restart count 1, last exit codes 137, 1, 1\)$/],
    ['on-failure out of retries', { restartPolicy: { name: 'on-failure', maximumRetryCount: 3 }, restartCount: 3, exitCode: 2 }, 0, none, /\(Docker restart count 3, last exit code 2\)$/],
    ['paused', { state: 'paused', running: true, restartCount: 1 }, 0, none, /paused.* \(Docker restart count 1, no exit seen\)$/],
    ['a running, unhealthy one after maxAttempts', { ...running, health: { status: 'unhealthy' }, restartCount: 4 }, 3, none, /\(Docker restart count 4, no exit seen\)$/],
  ])('every escalation names the restart count and the last exit codes: %s', (_name, over, attempts, history, reason) => {
    expect(decideFallback(view(over), attempts, history, cfg)).toMatchObject({ kind: 'escalate', reason: expect.stringMatching(reason) });
  });

  it('names the exit codes seen while Docker kept restarting it, once per exit, when it escalates', () => {
    const always = { name: 'always', maximumRetryCount: 0 };
    const at = (restartCount: number, exitCode: number, finishedAt: string) =>
      view({ state: 'restarting', running: true, restarting: true, restartPolicy: always, restartCount, exitCode, finishedAt });
    const looks = [lookOf('wait', at(1, 1, 'a')), lookOf('wait', at(1, 1, 'a')), lookOf('wait', at(2, 137, 'b')), lookOf('wait', at(3, 2, 'c'))];
    expect(decideFallback(at(4, 1, 'd'), 0, { looks }, cfg)).toEqual({
      kind: 'escalate',
      reason: "Docker's restart policy (always) restarted it 3 more times while the loop watched, and it still fails (Docker restart count 4, last exit codes 137, 2, 1)",
    });
  });

  it.each<[string, Partial<ContainerView>, string]>([
    ['a stopped container is started', { exitCode: 1 }, 'start_container'],
    ['a running, unhealthy one is restarted', { ...running, health: { status: 'unhealthy' } }, 'restart_container'],
  ])('picks the tool: %s', (_name, over, tool) => {
    expect(decideFallback(view(over), 0, none, cfg)).toMatchObject({ kind: 'restart', tool });
  });

  it('answers a second OOM kill in the same incident by doubling the memory limit through update_container_resources, starting it', () => {
    const first = view({ exitCode: 137, oomKilled: true, limits: { memoryBytes: 64 * 1024 * 1024 } });
    const history = { looks: [lookOf('restart', first)] };
    const again = { ...first, finishedAt: '2026-01-01T00:05:00Z' };
    expect(decideFallback(again, 1, history, cfg)).toMatchObject({ kind: 'resize', tool: 'update_container_resources', memory: '128m', reason: expect.stringMatching(/OOM-killed again/) });
  });

  it('escalates an OOM kill after the limit was already doubled, proposing a higher limit than the current one', () => {
    const first = view({ exitCode: 137, oomKilled: true, limits: { memoryBytes: 64 * 1024 * 1024 } });
    const resized = { ...first, finishedAt: '2026-01-01T00:05:00Z', limits: { memoryBytes: 128 * 1024 * 1024 } };
    const history = { looks: [lookOf('restart', first), lookOf('resize', resized)] };
    const action = decideFallback({ ...resized, finishedAt: '2026-01-01T00:09:00Z' }, 2, history, cfg);
    expect(action).toMatchObject({ kind: 'escalate', reason: expect.stringMatching(/OOM-killed again/) });
    expect(action.kind === 'escalate' && action.proposal).toMatch(/current 128 MiB.*256 MiB/);
  });

  it('escalates a second OOM kill of a container without a memory limit: the host ran out, not the container', () => {
    const first = view({ exitCode: 137, oomKilled: true, limits: { memoryBytes: null } });
    const action = decideFallback({ ...first, finishedAt: '2026-01-01T00:05:00Z' }, 1, { looks: [lookOf('restart', first)] }, cfg);
    expect(action.kind === 'escalate' && action.proposal).toMatch(/no memory limit/);
  });

  it('does not count a second look at the same OOM exit as a second OOM', () => {
    const first = view({ exitCode: 137, oomKilled: true });
    expect(decideFallback(first, 0, { looks: [lookOf('restart', first)] }, cfg)).toMatchObject({ kind: 'restart', cause: 'oom' });
  });

  it('does not count a look while it still ran with OOMKilled set (the oom event before its own die) as an earlier OOM', () => {
    const during = view({ state: 'running', running: true, exitCode: 0, oomKilled: true, finishedAt: '2026-01-01T00:00:00Z' });
    const died = view({ exitCode: 137, oomKilled: true, finishedAt: '2026-01-01T00:05:00Z', limits: { memoryBytes: 64 * 1024 * 1024 } });
    expect(decideFallback(died, 0, { looks: [lookOf('none', during)] }, cfg)).toMatchObject({ kind: 'restart', cause: 'oom' });
  });

  it('escalates when the restart count keeps climbing while it waits for Docker', () => {
    const v = view({ state: 'restarting', restarting: true, restartPolicy: { name: 'always', maximumRetryCount: 0 }, restartCount: 4 });
    const history = { looks: [lookOf('wait', { ...v, restartCount: 1 })] };
    expect(decideFallback(v, 0, history, cfg)).toMatchObject({ kind: 'escalate', reason: expect.stringMatching(/restarted it 3 more times/) });
    expect(decideFallback({ ...v, restartCount: 2 }, 0, history, cfg).kind).toBe('wait');
  });

  it('acts on an exited container whose policy would restart it when Docker did nothing since the last look', () => {
    const v = view({ restartPolicy: { name: 'always', maximumRetryCount: 0 }, restartCount: 2 });
    expect(decideFallback(v, 0, { looks: [lookOf('wait', v)] }, cfg)).toMatchObject({ kind: 'restart', tool: 'start_container' });
  });

  it('gives up waiting after many looks', () => {
    const v = view({ state: 'restarting', restarting: true, restartPolicy: { name: 'always', maximumRetryCount: 0 } });
    const looks = Array.from({ length: 10 }, () => lookOf('wait', v));
    expect(decideFallback(v, 0, { looks }, cfg)).toMatchObject({ kind: 'escalate', reason: expect.stringMatching(/after 10 looks/) });
  });
});

describe('historyOf', () => {
  it('reads the looks recorded in the timeline and skips other events', () => {
    const ev = (id: number, data: unknown): TimelineEvent => ({ id, incidentId: 'inc', time: '', kind: 'note', summary: '', data });
    const look = lookOf('restart', view({ oomKilled: true }));
    expect(historyOf([ev(1, null), ev(2, { fallback: look }), ev(3, { other: 1 })])).toEqual({ looks: [look] });
  });
});
