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
        id: 'abc', name: 'web', state: 'running', running: true, startedAt: new Date().toISOString(), finishedAt: '',
        exitCode: 0, oomKilled: false, health: null, restartCount: 0, ...s,
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

  it('does not call a crash loop settled: a new StartedAt at every look is never stable', async () => {
    const d = scripted((n) => ({ startedAt: new Date().toISOString(), restartCount: n }));
    const out = await waitSettled(d, 'local', 'web', 2, signal);
    expect(out).toMatchObject({ settled: false, reason: 'it was not running after 2s (state running)' });
  });

  it('stops at the first unhealthy or exited state with the reason', async () => {
    expect(await waitSettled(scripted([{ health: 'starting' }, { health: 'unhealthy' }]), 'local', 'web', 30, signal))
      .toMatchObject({ settled: false, reason: expect.stringMatching(/^its health check is failing/) });
    expect(await waitSettled(scripted([{ state: 'exited', running: false, exitCode: 137, oomKilled: true }]), 'local', 'web', 30, signal))
      .toMatchObject({ settled: false, reason: expect.stringMatching(/^it exited with code 137 \(OOMKilled\)/) });
  });

  it('keeps waiting while Docker restarts it, within the bound', async () => {
    const d = scripted([{ state: 'restarting', running: false }]);
    const began = Date.now();
    const out = await waitSettled(d, 'local', 'web', 1, signal);
    expect(out).toMatchObject({ settled: false, reason: 'it was not running after 1s (state restarting)' });
    expect(Date.now() - began).toBeLessThan(1_600);
  });
});
