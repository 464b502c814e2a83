// inject_fault on a real dockerd through the guard: it refuses a container without the label
// warden.chaos=true, a caller other than principal chaos, an oom fault without a memory limit and an
// unhealthy fault without the marker's health check, each leaving the container as it was; and each
// fault really does what it says, and its undo puts it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { CHAOS_PRINCIPAL } from '../../src/shared/roles.js';
import type { Runtime } from '../../src/server/runtime.js';
import type { CallOutcome, Caller } from '../../src/policy/call.js';
import { UNHEALTHY_MARKER } from '../../src/tools/chaos-fault.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer, waitUntil, type ContainerOptions } from '../support/containers.js';
import { testRuntime } from '../support/warden.js';

let dockerd: Dockerd;
let rt: Runtime;
const POLICY = 'rules:\n  - name: chaos-may-inject\n    principal: chaos\n    tool: inject_fault\n    decision: allow\n  - { name: others-may-too, tool: inject_fault, decision: allow }\n';
const CHAOS: Caller = { principal: CHAOS_PRINCIPAL, role: 'operator', transport: 'cli' };
const OPTED_IN = { 'warden.chaos': 'true' };
/** A main process that exits 143 on SIGTERM at once, as services do (a bare sleep as PID 1 ignores it). */
const SERVICE = ['sh', '-c', 'trap "exit 143" TERM; while :; do sleep 1 & wait $!; done'];
const MARKER_CHECK = { test: ['CMD-SHELL', `test ! -e ${UNHEALTHY_MARKER}`], intervalMs: 300, retries: 1 };

beforeAll(async () => {
  dockerd = await startDockerd();
  rt = testRuntime({ dockerHost: dockerd.dockerHost, policy: POLICY, config: 'tools:\n  enabled: [inject_fault]\n' });
});
afterAll(async () => {
  await rt?.close();
  await dockerd?.stop();
});

const inject = (container: string, fault: string, extra: Record<string, unknown> = {}, caller = CHAOS): Promise<CallOutcome> =>
  rt.guard.call(caller, 'inject_fault', { container, fault, ...extra }, new AbortController().signal);

async function started(name: string, opts: ContainerOptions): Promise<Docker.Container> {
  const c = await createContainer(dockerd, name, { cmd: SERVICE, ...opts });
  await waitUntil(c, 'running', (i) => i.State.Running);
  return c;
}

function failure(o: CallOutcome): { kind: string; message: string } {
  expect(o.ok, JSON.stringify(o)).toBe(false);
  return o as unknown as { kind: string; message: string };
}

describe('inject_fault refuses', () => {
  it('a container without the label warden.chaos=true, read from Docker', async () => {
    const c = await started('cf-bystander', { labels: { 'warden.chaos': 'yes' } });
    const before = (await c.inspect()).State;
    expect(failure(await inject('cf-bystander', 'kill'))).toMatchObject({ kind: 'denied', message: expect.stringMatching(/does not carry the label warden\.chaos=true/) });
    expect((await c.inspect()).State).toMatchObject({ Running: true, StartedAt: before.StartedAt, Paused: false });
  });

  it('any principal but chaos, even where the policy allows it', async () => {
    const c = await started('cf-other-caller', { labels: OPTED_IN });
    const before = (await c.inspect()).State;
    const o = failure(await inject('cf-other-caller', 'stop', {}, { principal: 'alice', role: 'admin', transport: 'cli' }));
    expect(o).toMatchObject({ kind: 'denied', message: expect.stringMatching(/only as principal chaos/) });
    expect((await c.inspect()).State).toMatchObject({ Running: true, StartedAt: before.StartedAt });
  });

  it('an oom fault into a container without a memory limit', async () => {
    const c = await started('cf-no-limit', { labels: OPTED_IN });
    const before = (await c.inspect()).State;
    expect(failure(await inject('cf-no-limit', 'oom'))).toMatchObject({ kind: 'invalid_input', message: expect.stringMatching(/has no memory limit/) });
    expect((await c.inspect()).State).toMatchObject({ Running: true, StartedAt: before.StartedAt });
  });

  it('an oom hog larger than the memory limit', async () => {
    await started('cf-small-limit', { labels: OPTED_IN, memoryBytes: 16 * 1024 * 1024 });
    expect(failure(await inject('cf-small-limit', 'oom', { megabytes: 17 }))).toMatchObject({ kind: 'invalid_input', message: expect.stringMatching(/at most 16/) });
  });

  it('an unhealthy fault into a container whose health check ignores the marker', async () => {
    await started('cf-other-check', { labels: OPTED_IN, healthcheck: { test: ['CMD-SHELL', 'true'], intervalMs: 300, retries: 1 } });
    expect(failure(await inject('cf-other-check', 'unhealthy'))).toMatchObject({ kind: 'invalid_input', message: expect.stringMatching(/no health check that fails while/) });
  });

  it('the default policy denies it to everyone, chaos included', async () => {
    const plain = testRuntime({ dockerHost: dockerd.dockerHost, config: 'tools:\n  enabled: [inject_fault]\n' });
    try {
      const o = await plain.guard.call(CHAOS, 'inject_fault', { container: 'cf-other-caller', fault: 'kill' }, new AbortController().signal);
      expect(o).toMatchObject({ ok: false, kind: 'denied', details: { rule: 'chaos-needs-a-policy' } });
    } finally {
      await plain.close();
    }
  });
});

describe('inject_fault faults', () => {
  it('kill: SIGKILL through Docker (exit 137), undone by a start', async () => {
    const c = await started('cf-kill', { labels: OPTED_IN });
    expect(await inject('cf-kill', 'kill')).toMatchObject({ ok: true, output: { after: { running: false, exitCode: 137 } } });
    expect(await inject('cf-kill', 'kill', { undo: true })).toMatchObject({ ok: true, output: { acted: true, after: { running: true } } });
    expect((await c.inspect()).State.Running).toBe(true);
  });

  it('exit: a signal to PID 1 from inside ends it with the service\'s own code', async () => {
    await started('cf-exit', { labels: OPTED_IN });
    expect(await inject('cf-exit', 'exit')).toMatchObject({ ok: true, output: { after: { running: false, exitCode: 143 } } });
  });

  it('exit: a main process that ignores the signal is a target failure, not a silent success', async () => {
    await started('cf-exit-ignored', { labels: OPTED_IN, cmd: ['sleep', '1000'] });
    expect(failure(await inject('cf-exit-ignored', 'exit'))).toMatchObject({ kind: 'target_failed', message: expect.stringMatching(/still runs/) });
  });

  it('oom: the kernel kills the main process within the container\'s limit (OOMKilled)', async () => {
    await started('cf-oom', { labels: OPTED_IN, memoryBytes: 24 * 1024 * 1024 });
    const o = await inject('cf-oom', 'oom');
    expect(o, JSON.stringify(o)).toMatchObject({ ok: true, output: { after: { running: false, oomKilled: true, exitCode: 137 } } });
  });

  it('pause, undone by an unpause; an undo of what is not paused does nothing', async () => {
    const c = await started('cf-pause', { labels: OPTED_IN });
    expect(await inject('cf-pause', 'pause')).toMatchObject({ ok: true, output: { after: { state: 'paused' } } });
    expect(await inject('cf-pause', 'pause', { undo: true })).toMatchObject({ ok: true, output: { acted: true, after: { state: 'running' } } });
    expect(await inject('cf-pause', 'pause', { undo: true })).toMatchObject({ ok: true, output: { acted: false } });
    expect((await c.inspect()).State.Paused).toBe(false);
  });

  it('unhealthy: the marker fails its check, and a restart clears it as a real wedge clears', async () => {
    const c = await started('cf-unhealthy', { labels: OPTED_IN, healthcheck: MARKER_CHECK });
    await waitUntil(c, 'healthy', (i) => i.State.Health?.Status === 'healthy');
    expect(await inject('cf-unhealthy', 'unhealthy')).toMatchObject({ ok: true });
    await waitUntil(c, 'unhealthy', (i) => i.State.Health?.Status === 'unhealthy');
    await c.restart({ t: 0 });
    await waitUntil(c, 'healthy again after a restart', (i) => i.State.Health?.Status === 'healthy');
    expect(await inject('cf-unhealthy', 'unhealthy')).toMatchObject({ ok: true });
    await waitUntil(c, 'unhealthy', (i) => i.State.Health?.Status === 'unhealthy');
    expect(await inject('cf-unhealthy', 'unhealthy', { undo: true })).toMatchObject({ ok: true, output: { acted: true } });
    await waitUntil(c, 'healthy again after the undo', (i) => i.State.Health?.Status === 'healthy');
  });
});
