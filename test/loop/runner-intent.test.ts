// The runner's judgement at the edges an adversarial review found: the loop's own stop is not an
// operator's, and a dependency that fails while an incident is being verified parks it (it is not
// escalated as an internal error). Over warden's real guard, audit and store, and a scripted Docker.
import { describe, expect, it } from 'vitest';
import { useRunnerWorlds } from '../support/runner.js';
import { SilenceStore } from '../../src/store/silences.js';

const world = useRunnerWorlds();

describe('runner: whose stop it was', () => {
  it("does not hold a start after the loop's own stop: only a person's stop is an operator's intent", async () => {
    const w = world({
      policy: 'rules: [{ tool: stop_container, decision: allow }, { tool: start_container, decision: allow }]',
      agent: async (_req, call) => {
        await call('stop_container', { container: 'db' });
        const started = await call('start_container', { container: 'db' });
        return { outcome: 'done', summary: started.ok ? 'stopped and started db' : started.text };
      },
    });
    const inc = w.open('db');
    expect(await w.until(inc.id)).toMatchObject({ status: 'resolved' });
    expect(w.docker.starts('db')).toBe(1);
    expect(w.rt.approvals.list()).toEqual([]);
  });
});

describe('runner: a dependency that fails while an incident is verified', () => {
  it('parks the incident, then verifies the restart it made once the dependency closed: no second restart, no internal-error escalation', async () => {
    let openDb: (() => void) | undefined;
    const w = world({
      inventory: { 'services.yaml': 'services:\n  - { name: db, host: local, container: db, tier: standard }\n  - { name: web-1, host: local, container: web-1, tier: standard, dependsOn: [db] }\n' },
      agent: async (req, call) => {
        if (req.incident.container === 'web-1') {
          await call('restart_container', { container: 'web-1' });
          return { outcome: 'done', summary: 'restarted web-1' };
        }
        // db's investigation takes a while: web's verification ends while db's incident is open.
        await new Promise((r) => setTimeout(r, 2_000));
        return { outcome: 'done', summary: 'db looks fine now' };
      },
    });
    // web-1 restarts fine; while it is being verified, db's incident opens.
    w.docker.onStart = (name) => {
      w.docker.set(name, { status: 'running', running: true, exitCode: 0, oomKilled: false, startedAt: new Date().toISOString(), finishedAt: null });
      if (name === 'web-1') setTimeout(() => openDb?.(), 50);
    };
    w.docker.set('web-1', { status: 'exited', running: false, exitCode: 1 });
    // As intake opens them: with the inventory's service, which correlation follows.
    const openFor = (container: string) => {
      const inc = w.incidents.create({
        source: 'generic', fingerprint: `test:${container}`, status: 'firing', severity: 'critical', summary: `${container} is down`,
        startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: { container },
      }, { target: `local/${container}`, host: 'local', container, service: container });
      w.runner.wake(inc.id);
      return inc;
    };
    const web = openFor('web-1');
    let dbId: string | undefined;
    openDb = () => { dbId = openFor('db').id; };
    await w.until(web.id, ['waiting_dependency']);
    expect(dbId).toBeDefined();
    const done = await w.until(web.id);
    expect(done.status).toBe('resolved');
    // The restart it made before it was parked is verified, never repeated.
    expect(done.resolution).toMatch(/^resumed: restart_container on local\/web-1 \(completed, not yet verified\); verified/);
    expect(w.docker.starts('web-1')).toBe(1);
    expect(w.incidents.timeline(web.id).map((e) => e.summary).join('\n')).not.toMatch(/internal error/);
  });
});

describe('runner: a silence added while an incident is open', () => {
  it("holds the loop's writes for it, on its own target and on any other it reaches for", async () => {
    let results: string[] = [];
    const w = world({
      policy: 'rules: [{ tool: restart_container, decision: allow }]',
      agent: async (_req, call) => {
        results = [(await call('restart_container', { container: 'db' })).kind ?? 'ok', (await call('restart_container', { container: 'web-1' })).kind ?? 'ok'];
        return { outcome: 'done', summary: 'tried' };
      },
    });
    new SilenceStore(w.rt.db, w.rt.audit).add({ matchers: [{ name: 'target', op: '=', value: 'local/db' }], endsAt: new Date(Date.now() + 3_600_000), reason: 'db migration', by: 'alice' });
    const inc = w.open('db');
    await w.until(inc.id, ['waiting_approval', 'escalated', 'resolved']);
    expect(results).toEqual(['approval_required', 'approval_required']);
    expect(w.docker.starts('db') + w.docker.starts('web-1')).toBe(0);
    expect(w.rt.approvals.list({}).map((a) => [a.target, a.rule])).toEqual(expect.arrayContaining([['local/db', 'loop.silenced']]));
  });
});
