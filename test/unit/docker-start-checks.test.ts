// Never racing Docker, as a decision table: when restart_container and start_container refuse a
// container because Docker's own restart policy is bringing it back, and what the refusal names.
import { describe, expect, it } from 'vitest';
import type { ContainerState } from '../../src/adapters/docker.js';
import { raceWithDocker } from '../../src/tools/docker-start-checks.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const always = { name: 'always', maximumRetryCount: 0 };

function state(over: Partial<ContainerState> = {}): ContainerState {
  return {
    id: 'abc', name: 'web', state: 'running', running: true, restarting: false, restartPolicy: { name: 'no', maximumRetryCount: 0 },
    startedAt: '2026-11-23T11:00:00Z', finishedAt: '', exitCode: 0, oomKilled: false, health: null, restartCount: 0, error: '', labels: {}, ...over,
  };
}

const restarting = { state: 'restarting', restarting: true, restartPolicy: always, restartCount: 7, exitCode: 1 };
const justRestarted = { restartPolicy: always, restartCount: 3, startedAt: '2026-11-23T11:59:57.500Z' };

describe('raceWithDocker', () => {
  it.each<['start' | 'restart', string, Partial<ContainerState>, RegExp | undefined]>([
    ['restart', 'restarting', restarting, /^web on host local is being restarted by Docker's restart policy \(always, restart count 7, last exit code 1\); warden does not race it: wait, or stop it first$/],
    ['start', 'restarting', restarting, /is being restarted by Docker's restart policy/],
    ['restart', 'restarting after an OOM kill, on-failure with a maximum', { ...restarting, exitCode: 137, oomKilled: true, restartPolicy: { name: 'on-failure', maximumRetryCount: 5 } },
      /\(on-failure, max 5, restart count 7, last exit code 137 \(OOMKilled\)\)/],
    ['restart', 'running, started by the policy 2.5s ago', justRestarted, /^web on host local was started by Docker's restart policy 2\.5s ago \(always, restart count 3\): it may be crash-looping; warden does not race it: wait 10s/],
    ['start', 'running, started by the policy 2.5s ago (a start changes nothing)', justRestarted, undefined],
    ['restart', 'running, started by the policy an hour ago', { ...justRestarted, startedAt: '2026-11-23T11:00:00Z' }, undefined],
    ['restart', 'running, started through the API 2.5s ago (count reset to 0)', { ...justRestarted, restartCount: 0 }, undefined],
    ['restart', 'running, no restart policy', { startedAt: '2026-11-23T11:59:59Z' }, undefined],
    ['start', 'exited under always: Docker gave up or it was stopped', { state: 'exited', running: false, restartPolicy: always, restartCount: 3, exitCode: 1 }, undefined],
    ['start', 'created', { state: 'created', running: false, restartPolicy: always }, undefined],
  ])('%s of a container %s', (action, _what, over, refusal) => {
    const said = raceWithDocker(state(over), 'local', action, NOW);
    if (refusal === undefined) expect(said).toBeUndefined();
    else expect(said).toMatch(refusal);
  });
});
