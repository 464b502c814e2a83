// What safe mode counts (defaults: 5 failed in a row trip it): writes that reached their target and
// failed, never calls refused before anything ran (an open circuit breaker, a busy or full
// database, an endpoint that never answered the connection): a host that is down is its breaker's
// business, not a sign that the loop's judgement is off.
import { describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors.js';
import { dockerFailure } from '../../src/adapters/docker.js';
import { BreakerOpen, openAsFailure } from '../../src/adapters/breakers.js';

const open = () => openAsFailure(new BreakerOpen({ name: 'docker:local', kind: 'docker', state: 'open', since: new Date().toISOString(), failures: 5, retryAt: new Date(Date.now() + 60_000).toISOString() }), 'Docker on host local');
import { useRunnerWorlds } from '../support/runner.js';

const world = useRunnerWorlds();

describe('safe mode and writes that were never attempted', () => {
  it('does not switch to safe mode when every write was refused by an open breaker', async () => {
    const w = world({
      agent: async (req, call) => {
        for (let i = 0; i < 3; i += 1) await call('restart_container', { container: req.incident.container });
        return { outcome: 'done', summary: 'Docker on local is not answering' };
      },
    });
    w.docker.restartContainer = async () => {
      throw openAsFailure(new BreakerOpen({ name: 'docker:local', kind: 'docker', state: 'open', since: new Date().toISOString(), failures: 5, retryAt: new Date(Date.now() + 60_000).toISOString() }), 'Docker on host local');
    };
    await w.until(w.open('db').id);
    await w.until(w.open('web-1').id);
    const kinds = w.rt.audit.list().filter((e) => e.tool === 'restart_container' && e.phase === 'failed').map((e) => e.errorKind);
    expect(kinds).toEqual(Array(6).fill('unavailable'));
    expect(w.rt.safeMode.state()).toMatchObject({ on: false });
  });

  it('does switch to safe mode when the same writes ran and the target refused them', async () => {
    const w = world({
      agent: async (req, call) => {
        for (let i = 0; i < 3; i += 1) await call('restart_container', { container: req.incident.container });
        return { outcome: 'done', summary: 'the restarts fail' };
      },
    });
    w.docker.restartContainer = async () => { throw new ToolFailure('target_failed', 'Docker on host local refused restart: container is marked for removal'); };
    await w.until(w.open('db').id);
    await w.until(w.open('web-1').id);
    expect(w.rt.safeMode.state()).toMatchObject({ on: true, by: 'warden', reason: expect.stringMatching(/of the loop's (last \d+ )?writes/) });
  });

  it('does not switch to safe mode when Docker refused every connection, even at the target lookup before admission', async () => {
    const w = world({
      agent: async (req, call) => {
        for (let i = 0; i < 3; i += 1) await call('restart_container', { container: req.incident.container });
        return { outcome: 'done', summary: 'Docker on local is not answering' };
      },
    });
    // What DockerodeAdapter throws when dockerd is gone at a method's first request: unavailable, notRun (never connected).
    const down = () => dockerFailure(Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' }), 'local', 'inspect', 'x', true);
    expect(down().details.notRun).toBe(true);
    w.docker.resolveContainer = async () => { throw down(); };
    w.docker.restartContainer = async () => { throw down(); };
    await w.until(w.open('db').id);
    await w.until(w.open('web-1').id);
    const failed = w.rt.audit.list().filter((e) => e.tool === 'restart_container' && e.phase === 'failed');
    expect(failed.length).toBe(6);
    expect(w.rt.safeMode.state(), JSON.stringify(w.rt.safeMode.state().evidence)).toMatchObject({ on: false });
  });

  it('does not switch to safe mode when only the verification reads were refused', async () => {
    const w = world({
      agent: async (req, call) => {
        const r = await call('restart_container', { container: req.incident.container });
        return { outcome: 'done', summary: r.text };
      },
    });
    // Each restart runs; right after it, Docker's breaker opens and every inspect is refused at once.
    let down = false;
    const orig = w.docker.inspectContainer.bind(w.docker);
    w.docker.inspectContainer = async (ref) => { if (down) throw open(); return orig(ref); };
    w.docker.onStart = () => { down = true; };
    await w.until(w.open('db').id, ['resolved', 'escalated'], 30_000);
    down = false;
    await w.until(w.open('web-1').id, ['resolved', 'escalated'], 30_000);
    const outcomes = w.rt.safeMode.state();
    const writes = w.rt.audit.list().filter((e) => e.tool === 'restart_container' && e.phase === 'completed').length;
    expect(writes).toBeGreaterThan(0);
    expect(outcomes, JSON.stringify(outcomes.evidence)).toMatchObject({ on: false });
  }, 60_000);
});
