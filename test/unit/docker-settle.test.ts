// waitSettled on scripted container states (a hand-written adapter that answers containerState from
// a list): when it calls a container settled, when it gives up, and that it never waits past its bound.
import { describe, expect, it } from 'vitest';
import type { ContainerState, DockerAdapter } from '../../src/adapters/docker.js';
import { waitSettled } from '../../src/tools/docker-settle.js';

/** Answers the nth look with states[n] (the last one from then on), or with what a function makes of n. */
function scripted(states: Array<Partial<ContainerState>> | ((poll: number) => Partial<ContainerState>)): DockerAdapter & { polls: number } {
  const fake = {
    polls: 0,
    async containerState(): Promise<ContainerState> {
      const n = fake.polls++;
      const s = typeof states === 'function' ? states(n) : states[Math.min(n, states.length - 1)]!;
      return {
        id: 'abc', name: 'web', state: 'running', running: true, restarting: false, restartPolicy: { name: 'no', maximumRetryCount: 0 },
        startedAt: new Date().toISOString(), finishedAt: '', exitCode: 0, oomKilled: false, health: null, restartCount: 0, error: '', labels: {}, ...s,
      };
    },
  };
  return fake as unknown as DockerAdapter & { polls: number };
}

const signal = new AbortController().signal;

describe('waitSettled', () => {
  it('settles at once on a container that has been running for a while', async () => {
    const d = scripted([{ startedAt: '2020-01-01T00:00:00.123456789Z' }]);
    expect(await waitSettled(d, 'local', 'web', 30, signal)).toMatchObject({ settled: true, reason: null });
    expect(d.polls).toBe(1);
  });

  it('settles at once when the health check says healthy', async () => {
    const d = scripted([{ health: 'healthy' }]);
    expect(await waitSettled(d, 'local', 'web', 30, signal)).toMatchObject({ settled: true, health: 'healthy' });
    expect(d.polls).toBe(1);
  });

  it('waits through starting until healthy', async () => {
    const d = scripted([{ health: 'starting' }, { health: 'starting' }, { health: 'healthy' }]);
    expect(await waitSettled(d, 'local', 'web', 30, signal)).toMatchObject({ settled: true });
    expect(d.polls).toBe(3);
  });

  it('does not call a crash loop settled: a new StartedAt at every look is never stable, and two restarts end the wait', async () => {
    const always = { name: 'always', maximumRetryCount: 0 };
    const d = scripted((n) => (n % 2 === 0
      ? { startedAt: new Date().toISOString(), restartCount: n / 2, restartPolicy: always }
      : { state: 'restarting', restarting: true, exitCode: 3, restartCount: (n + 1) / 2, restartPolicy: always }));
    const out = await waitSettled(d, 'local', 'web', 30, signal);
    expect(out).toMatchObject({
      settled: false,
      reason: "it is crash-looping: it died 2 times while warden waited and Docker's restart policy keeps restarting it (always, restart count 2, last exit code 3); container_logs and inspect_container show why",
    });
    expect(d.polls).toBe(4);
  });

  it('never calls a restarting container settled, though Docker says Running and its StartedAt is old', async () => {
    const d = scripted([{ state: 'restarting', restarting: true, startedAt: '2020-01-01T00:00:00Z', exitCode: 1, restartCount: 7, restartPolicy: { name: 'on-failure', maximumRetryCount: 10 } }]);
    expect(await waitSettled(d, 'local', 'web', 1, signal)).toMatchObject({
      state: 'restarting', running: true, settled: false,
      reason: "it was not running after 1s: Docker's restart policy is restarting it (on-failure, max 10, restart count 7, last exit code 1)",
    });
  });

  it('names the restarts it saw when the wait ends with the container caught between two crashes', async () => {
    const d = scripted((n) => (n === 0 ? { state: 'restarting', restarting: true, exitCode: 2, restartCount: 4, restartPolicy: { name: 'always', maximumRetryCount: 0 } }
      : { startedAt: new Date().toISOString(), restartCount: 5, restartPolicy: { name: 'always', maximumRetryCount: 0 } }));
    expect(await waitSettled(d, 'local', 'web', 1, signal)).toMatchObject({
      state: 'running', settled: false, reason: "it did not stay up for 1s: Docker's restart policy restarted it 1 time while warden waited (always, restart count 5, last exit code 2)",
    });
  });

  it('stops at the first unhealthy or exited state with the reason', async () => {
    expect(await waitSettled(scripted([{ health: 'starting' }, { health: 'unhealthy' }]), 'local', 'web', 30, signal))
      .toMatchObject({ settled: false, reason: expect.stringMatching(/^its health check is failing/) });
    expect(await waitSettled(scripted([{ state: 'exited', running: false, exitCode: 137, oomKilled: true }]), 'local', 'web', 30, signal))
      .toMatchObject({ settled: false, reason: expect.stringMatching(/^it exited with code 137 \(OOMKilled\)/) });
  });

  it('keeps waiting while Docker restarts it, within the bound', async () => {
    const d = scripted([{ state: 'restarting', restarting: true, exitCode: 1, restartCount: 3, restartPolicy: { name: 'always', maximumRetryCount: 0 } }]);
    const began = Date.now();
    const out = await waitSettled(d, 'local', 'web', 1, signal);
    expect(out).toMatchObject({ settled: false, reason: "it was not running after 1s: Docker's restart policy is restarting it (always, restart count 3, last exit code 1)" });
    expect(Date.now() - began).toBeLessThan(1_600);
  });

  it('says how often Docker restarted an exited container before its policy gave up', async () => {
    const d = scripted([{ state: 'exited', running: false, exitCode: 1, restartCount: 3, restartPolicy: { name: 'on-failure', maximumRetryCount: 3 } }]);
    expect(await waitSettled(d, 'local', 'web', 30, signal)).toMatchObject({
      settled: false, reason: "it exited with code 1, after Docker's restart policy restarted it 3 times (on-failure, max 3); container_logs and inspect_container show why",
    });
  });
});
