// Incidents that waited on an open Docker breaker wake around its retryAt; the first call becomes the
// trial (half open), other calls are refused at once, and the other incidents keep waiting for the
// trial's outcome instead of being escalated ("the runbooks cannot inspect").
import { describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors.js';
import { openAsFailure } from '../../src/adapters/breakers.js';
import { dockerBreaker } from '../../src/adapters/breaker-wrap.js';
import { useRunnerWorlds } from '../support/runner.js';

const world = useRunnerWorlds();

describe('incidents on a host whose breaker is in its trial', () => {
  it('a second incident on the host waits for the trial instead of being escalated', async () => {
    const w = world({ loop: '  concurrency: 4\nbreakers: { failures: 5, halfOpenSeconds: 1.5 }\n' });
        const b = dockerBreaker(w.rt.breakers, 'local');
    w.docker.containers.push({ id: 'ccc', name: 'api', image: 'api', state: 'exited', status: 'Exited (1) 1 minute ago', exitCode: 1, health: null, restartCount: 0, restartPolicy: 'no' });
    w.docker.set('api', { status: 'exited', running: false, exitCode: 1 });
    w.docker.set('db', { status: 'exited', running: false, exitCode: 1 });
    // Every Docker call of the fake passes the host's breaker, as createAdapters wires it.
    let trialDelay = 0;
    const orig = w.docker.inspectContainer.bind(w.docker);
    w.docker.inspectContainer = (ref) => b.run(async () => {
      if (trialDelay) { const d = trialDelay; trialDelay = 0; await new Promise((r) => setTimeout(r, d)); }
      return orig(ref);
    }).catch((err: unknown) => { throw openAsFailure(err, 'Docker on host local'); });
    // Open it: 5 unreachable failures in a row.
    const down = new ToolFailure('unavailable', 'Docker on host local is unreachable (ECONNREFUSED)', {}, Object.assign(new Error('x'), { code: 'ECONNREFUSED' }));
    for (let i = 0; i < 5; i += 1) await b.run(async () => { throw down; }).catch(() => undefined);
    expect(b.view().state).toBe('open');
    trialDelay = 600; // the trial inspect takes a moment, as a first call to a recovering host does
    const a = w.open('db');
    const c = w.open('api');
    const [ia, ic] = await Promise.all([w.until(a.id, ['resolved', 'escalated'], 20_000), w.until(c.id, ['resolved', 'escalated'], 20_000)]);
    const why = (id: string) => w.incidents.timeline(id).map((e) => `${e.kind}: ${e.summary}`).join('\n');
    expect(b.view().state).toBe('closed');
    expect(ia.status, why(a.id)).toBe('resolved');
    expect(ic.status, why(c.id)).toBe('resolved');
  }, 30_000);
});
