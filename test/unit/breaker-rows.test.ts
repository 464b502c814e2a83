// Breaker rows belong to the process that saved them: cleared when it closes, and reported as left
// behind (a warning, not an open breaker) when a process of this machine that saved them is gone.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/compose.js';
import { silentLogger } from '../../src/log.js';
import { readRecordedHealth, recordedChecks } from '../../src/commands/recorded-health.js';
import { testRuntime } from '../support/warden.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';

describe('a breaker left open by a process that is gone', () => {
  it('is not reported as an open breaker after warden restarted', async () => {
    const first = testRuntime({ adapters: fakeAdapters(new FakeDocker()) });
    await first.breakers.get('docker:web', 'docker', () => true).run(async () => { throw new Error('ECONNREFUSED'); }).catch(() => undefined);
    for (let i = 0; i < 5; i += 1) {
      await first.breakers.get('docker:web', 'docker', () => true).run(async () => { throw new Error('ECONNREFUSED'); }).catch(() => undefined);
    }
    expect(first.breakers.find('docker:web')!.view().state).toBe('open');
    const config = first.config;
    await first.close();
    // warden serve starts again: every breaker of the new process is closed.
    const second = createRuntime(config, silentLogger, { adapters: fakeAdapters(new FakeDocker()) });
    const now = new Date();
    const checks = recordedChecks(readRecordedHealth(second.db, now), undefined, now);
    await second.close();
    expect(checks.filter((c) => c.level === 'fail').map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
  });

  it('warns, not fails, of an open row a crashed process of this machine left', () => {
    const rt = testRuntime({ adapters: fakeAdapters(new FakeDocker()) });
    const now = new Date();
    rt.healthStates.saveBreaker({ name: 'docker:web', state: 'open', since: now.toISOString(), failures: 5, lastError: 'ECONNREFUSED', retryAt: now.toISOString(), updatedBy: `${hostname()}:2147483646` });
    rt.healthStates.saveBreaker({ name: 'docker:db', state: 'open', since: now.toISOString(), failures: 5, lastError: 'ECONNREFUSED', retryAt: now.toISOString(), updatedBy: `${hostname()}:${process.pid}` });
    const checks = recordedChecks(readRecordedHealth(rt.db, now), undefined, now).filter((c) => c.name.startsWith('breaker '));
    expect(checks.map((c) => [c.name, c.level])).toEqual([['breaker docker:db', 'fail'], ['breaker docker:web', 'warn']]);
    expect(checks[1]!.detail).toMatch(/which is gone/);
    return rt.close();
  });
});
