// restart_container, start_container and stop_container on a real dockerd, through the guard with a
// real SDK client: what each really does to a container, how long restart and start wait and what
// they report, that they never race Docker's own restart policy, and that a dry run of every write
// tool changes nothing and is audited as one.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer, dockerFor, startedAt, waitUntil } from '../support/containers.js';
import { DRY_RUN_POLICY, callTool, inspectByName, snapshot } from '../support/write-tools.js';

let dockerd: Dockerd;

beforeAll(async () => {
  dockerd = await startDockerd();
});

afterAll(async () => {
  await dockerd?.stop();
});

const ISO = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
const healthy = (test: string[]) => ({ healthcheck: { test, intervalMs: 200, retries: 1 } });

describe('restart_container', () => {
  it('restarts, waits until the health check passes, and reports the new StartedAt', async () => {
    const c = await createContainer(dockerd, 'rs-healthy', healthy(['CMD-SHELL', 'true']));
    await waitUntil(c, 'healthy', (i) => i.State.Health?.Status === 'healthy');
    const before = await startedAt(c);
    const call = await callTool(dockerd, 'restart_container', { container: 'rs-healthy', timeoutSeconds: 0 });
    expect(call.result.isError, call.text).toBeFalsy();
    const after = await inspectByName(dockerd, 'rs-healthy');
    expect(after.State.StartedAt).not.toBe(before);
    expect(call.out).toEqual({
      host: 'local', name: 'rs-healthy', id: after.Id.slice(0, 12), state: 'running', running: true, startedAt: after.State.StartedAt,
      health: 'healthy', restartCount: 0, exitCode: 0, settled: true, reason: null, waitedMs: expect.any(Number),
    });
    expect(call.text).toMatch(/^local\/rs-healthy restarted: running, healthy since .*; settled after [\d.]+s$/);
    expect(call.audit.map((e) => [e.tool, e.phase, e.decision])).toEqual([
      ['restart_container', 'requested', 'allow'],
      ['restart_container', 'completed', 'allow'],
    ]);
  });

  it('returns settled=false with the reason, without waiting it out, when the health check fails after the restart', async () => {
    await createContainer(dockerd, 'rs-sick', healthy(['CMD-SHELL', 'exit 1']));
    const call = await callTool(dockerd, 'restart_container', { container: 'rs-sick', timeoutSeconds: 0, waitSeconds: 60 });
    expect(call.result.isError, call.text).toBeFalsy();
    expect(call.out).toMatchObject({ state: 'running', health: 'unhealthy', settled: false, reason: expect.stringMatching(/health check is failing/) });
    expect(call.out.waitedMs).toBeLessThan(15_000);
    expect(call.text).toMatch(/NOT settled: its health check is failing \(unhealthy\)/);
  });

  it('returns settled=false with the exit code when the container exits right after the restart', async () => {
    // The first run leaves a marker in its own filesystem; every later run sees it and exits 3.
    await createContainer(dockerd, 'rs-once', { cmd: ['sh', '-c', 'test -f /ran && exit 3; touch /ran; sleep 1000'] });
    const call = await callTool(dockerd, 'restart_container', { container: 'rs-once', timeoutSeconds: 0 });
    expect(call.out).toMatchObject({ state: 'exited', running: false, exitCode: 3, settled: false, reason: expect.stringMatching(/^it exited with code 3;/) });
  });

  it('gives up after waitSeconds while the health check has not passed yet', async () => {
    await createContainer(dockerd, 'rs-slow', { healthcheck: { test: ['CMD-SHELL', 'true'], intervalMs: 60_000, retries: 1 } });
    const call = await callTool(dockerd, 'restart_container', { container: 'rs-slow', timeoutSeconds: 0, waitSeconds: 1 });
    expect(call.out).toMatchObject({ state: 'running', health: 'starting', settled: false, reason: 'its health check had not passed after 1s (still starting)' });
    expect(call.out.waitedMs).toBeGreaterThanOrEqual(1_000);
    expect(call.out.waitedMs).toBeLessThan(3_000);
  });
});

describe('start_container', () => {
  it('starts a stopped container and reports it settled', async () => {
    await createContainer(dockerd, 'st-idle', { start: false });
    const call = await callTool(dockerd, 'start_container', { container: 'st-idle' });
    const after = await inspectByName(dockerd, 'st-idle');
    expect(after.State.Running).toBe(true);
    expect(call.out).toMatchObject({ name: 'st-idle', state: 'running', running: true, startedAt: after.State.StartedAt, health: null, settled: true, reason: null });
    expect(call.out.waitedMs).toBeGreaterThanOrEqual(1_000); // running held for STABLE_MS, no health check to wait for
  });

  it('leaves a running container as it is', async () => {
    const c = await createContainer(dockerd, 'st-running');
    const before = await startedAt(c);
    const call = await callTool(dockerd, 'start_container', { container: 'st-running', waitSeconds: 0 });
    expect(call.out).toMatchObject({ running: true, startedAt: before, settled: true });
    expect(await startedAt(c)).toBe(before);
  });

  it('says an unknown container is invalid input, refuses it before anything runs, and audits it', async () => {
    const call = await callTool(dockerd, 'start_container', { container: 'ghost' });
    expect(call.text).toBe('[invalid_input] no container "ghost" on host local; list_containers shows the valid names');
    expect(call.audit.map((e) => [e.phase, e.target, e.errorKind])).toEqual([['failed', 'local/ghost', 'invalid_input']]);
  });
});

/** The actions of Docker's events for one container between two times (seconds): what happened to it, by whoever. */
async function eventsOf(name: string, since: number, until: number): Promise<string[]> {
  const stream = await dockerFor(dockerd).getEvents({ since, until, filters: { container: [name] } });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { Action: string }).Action);
}

const crashLoop = { cmd: ['sh', '-c', 'exit 1'], restartPolicy: 'always' as const };

describe("never racing Docker's restart policy", () => {
  // A crash loop left behind would change the daemon under the dry-run snapshots below.
  afterEach(async () => {
    const docker = dockerFor(dockerd);
    const mine = await docker.listContainers({ all: true, filters: { name: ['^/race-'] } });
    await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  it('sees Docker hold a crash-looping container in restarting between its runs, never in exited', async () => {
    // The rule the tools follow rests on this: under a policy, only State.Restarting says Docker will start it again.
    const c = await createContainer(dockerd, 'race-watch', crashLoop);
    const statuses = new Set<string>();
    for (const until = Date.now() + 3_000; Date.now() < until;) {
      const i = await c.inspect();
      statuses.add(`${i.State.Status} running=${i.State.Running} restarting=${i.State.Restarting}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(statuses).toContain('restarting running=true restarting=true');
    expect([...statuses].filter((x) => !['restarting running=true restarting=true', 'running running=true restarting=false'].includes(x))).toEqual([]);
  });

  it('refuses restart_container on a crash-looping container, naming the restart count, and Docker sees no restart from warden', async () => {
    const c = await createContainer(dockerd, 'race-rs', crashLoop);
    const before = await waitUntil(c, 'restarted twice by Docker', (i) => i.RestartCount >= 2);
    const since = Math.floor(Date.now() / 1000);
    const call = await callTool(dockerd, 'restart_container', { container: 'race-rs', timeoutSeconds: 0 });
    const after = await c.inspect();
    expect(call.result.isError).toBe(true);
    expect(call.text).toMatch(/^\[unavailable\] race-rs on host local (is being restarted by Docker's restart policy \(always, restart count \d+, last exit code 1\)|was started by Docker's restart policy [\d.]+s ago \(always, restart count \d+\)).*warden does not race it/);
    const named = Number(/restart count (\d+)/.exec(call.text)![1]);
    expect(named).toBeGreaterThanOrEqual(before.RestartCount);
    expect(named).toBeLessThanOrEqual(after.RestartCount);
    // A restart through the API resets RestartCount to 0 and logs stop and restart events.
    expect(after.RestartCount).toBeGreaterThanOrEqual(before.RestartCount);
    const actions = await eventsOf('race-rs', since, Math.ceil(Date.now() / 1000) + 1);
    expect(actions.filter((a) => /^(stop|restart|kill)$/.test(a))).toEqual([]);
    expect(call.audit.map((e) => [e.phase, e.errorKind])).toEqual([['requested', null], ['failed', 'unavailable']]);
  });

  it('start_container on a crash-looping container reports settled=false with the restart count and the last exit code', async () => {
    const c = await createContainer(dockerd, 'race-st', { ...crashLoop, start: false });
    const call = await callTool(dockerd, 'start_container', { container: 'race-st', waitSeconds: 60 });
    expect(call.result.isError, call.text).toBeFalsy();
    expect(call.out).toMatchObject({
      settled: false,
      reason: expect.stringMatching(/^it is crash-looping: it died \d+ times while warden waited and Docker's restart policy keeps restarting it \(always, restart count \d+, last exit code 1\)/),
    });
    expect(['restarting', 'running']).toContain(call.out.state);
    expect(call.out.waitedMs).toBeLessThan(30_000);
    expect(call.text).toMatch(/NOT settled: it is crash-looping/);
    expect((await c.inspect()).RestartCount).toBeGreaterThanOrEqual(2);
  });

  it("start_container on a container whose command does not exist fails at once with Docker's error, and Docker left it created", async () => {
    const c = await createContainer(dockerd, 'race-nope', { cmd: ['nope'], restartPolicy: 'always', start: false });
    const call = await callTool(dockerd, 'start_container', { container: 'race-nope' });
    expect(call.text).toMatch(/^\[target_failed\] race-nope on host local could not start: Docker's error: .*exec: "nope": executable file not found in \$PATH.* \(exit 127: the command was not found\)\. A configuration error: starting it again will not help/);
    expect(call.audit.at(-1)).toMatchObject({ phase: 'failed', errorKind: 'target_failed' });
    expect((await c.inspect()).State).toMatchObject({ Status: 'created', Running: false, ExitCode: 127 });
  });
});

describe('stop_container', () => {
  it('stops a running container, SIGKILLing it after the grace period when it ignores SIGTERM', async () => {
    // sleep as PID 1 has no SIGTERM handler, so the kernel ignores the signal: Docker kills it after 1 s.
    await createContainer(dockerd, 'sp-victim');
    const call = await callTool(dockerd, 'stop_container', { container: 'sp-victim', timeoutSeconds: 1 });
    const after = await inspectByName(dockerd, 'sp-victim');
    expect(after.State.Running).toBe(false);
    expect(call.out).toEqual({
      host: 'local', name: 'sp-victim', id: after.Id.slice(0, 12), state: 'exited', running: false, exitCode: 137, finishedAt: ISO, wasRunning: true,
    });
    expect(call.text).toMatch(/^local\/sp-victim stopped: exited, exit 137 at /);
  });

  it('does nothing to a container that is already stopped', async () => {
    const c = await createContainer(dockerd, 'sp-done', { cmd: ['true'] });
    await waitUntil(c, 'exited', (i) => i.State.Status === 'exited');
    const call = await callTool(dockerd, 'stop_container', { container: 'sp-done' });
    expect(call.out).toMatchObject({ state: 'exited', exitCode: 0, wasRunning: false });
    expect(call.text).toBe('local/sp-done was not running (exited); nothing done');
  });

  it('is held for approval by the default decision for medium risk, and the container keeps running', async () => {
    const c = await createContainer(dockerd, 'sp-held');
    const before = await startedAt(c);
    const call = await callTool(dockerd, 'stop_container', { container: 'sp-held' }, 'rules: []\n');
    expect(call.text).toMatch(/^\[approval_required\]/);
    expect((await inspectByName(dockerd, 'sp-held')).State).toMatchObject({ Running: true, StartedAt: before });
  });
});

describe('dry run', () => {
  beforeAll(async () => {
    await createContainer(dockerd, 'dry-running', healthy(['CMD-SHELL', 'true']));
    await createContainer(dockerd, 'dry-stopped', { start: false });
    await createContainer(dockerd, 'dry-prunable', { start: false, labels: { 'warden-test': 'dry' } });
  });

  it.each([
    ['restart_container', { container: 'dry-running' }, /^restart container dry-running on host local \(grace 10s\), then wait up to 30s/],
    ['start_container', { container: 'dry-stopped' }, /^start container dry-stopped on host local, then wait up to 30s/],
    ['stop_container', { container: 'dry-running', timeoutSeconds: 2 }, /^stop container dry-running on host local \(stop signal, then SIGKILL after 2s\)/],
    ['recreate_container', { container: 'dry-running' }, /^recreate container dry-running on host local: stop it .* carrying over Cmd, Entrypoint, Env, .*HostConfig \(Binds, Mounts, Memory/],
    ['docker_prune', { labels: ['warden-test=dry'], danglingImages: true }, /^prune on host local: stopped containers \(created, exited, dead\) and dangling images used by no container with labels label=warden-test=dry/],
  ])('%s changes nothing and is audited as a dry run', async (tool, args, plan) => {
    const before = await snapshot(dockerd);
    const call = await callTool(dockerd, tool, args, DRY_RUN_POLICY);
    expect(await snapshot(dockerd)).toEqual(before);
    expect(call.text).toMatch(/^\[dry_run\] dry run: would /);
    expect(call.text.replace(/^\[dry_run\] dry run: would /, '')).toMatch(plan);
    expect(call.text).toMatch(/\(decision allow by test-allows-container-writes\); nothing was executed$/);
    expect(call.audit.map((e) => [e.tool, e.phase, e.dryRun])).toEqual([[tool, 'requested', true], [tool, 'completed', true]]);
    expect(call.audit[1]!.result).toMatch(/^dry run: would /);
  });
});
