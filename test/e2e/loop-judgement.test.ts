// The loop's judgement end to end, with a real dockerd and a scripted model behind the real SDK:
// a resolve that arrives while the model works stops the work before its next write, and a model
// that keeps asking to restart a container Docker's restart policy is already restarting gets
// refused every time. Asserted from Docker's state and the audit, not from what the model says.
import { describe, expect, it } from 'vitest';
import { createContainer, waitUntil } from '../support/containers.js';
import { alertmanagerPayload, eventually, useLoopWorlds } from '../support/loop-world.js';
import type { ScriptedTurn } from '../support/messages-api.js';

const worlds = useLoopWorlds('watchDockerEvents: false\n');
const world = worlds.world;

const use = (name: string, input: Record<string, unknown>, delayMs = 0): ScriptedTurn => ({ content: [{ type: 'tool_use', name, input }], delayMs });
const say = (text: string): ScriptedTurn => ({ content: [{ type: 'text', text }] });
const byContainer = (name: string) => (i: { container: string | null }) => i.container === name;

/** The same Alertmanager alert, resolved. */
function resolvedPayload(container: string, summary: string): Record<string, unknown> {
  const firing = alertmanagerPayload(container, summary) as { alerts: Array<Record<string, unknown>> };
  return { ...firing, status: 'resolved', alerts: firing.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: new Date().toISOString() })) };
}

describe('the loop, judgement', () => {
  it('stops when the alert resolves while the model investigates: the restart it then asks for never runs', async () => {
    const c = await createContainer(worlds.dockerd(), 'j-resolve', { cmd: ['sh', '-c', 'exit 1'] });
    await waitUntil(c, 'exited', (i) => i.State.Status === 'exited');
    const finishedAt = (await c.inspect()).State.FinishedAt;
    const w = await world({
      script: [
        use('inspect_container', { container: 'j-resolve' }),
        // The model thinks for a while; the monitor says resolved meanwhile.
        use('restart_container', { container: 'j-resolve' }, 2_000),
        say('restarted it'),
      ],
    });
    expect((await w.postAlert('alertmanager', alertmanagerPayload('j-resolve', 'j-resolve is down'))).status).toBe(202);
    await eventually('the model asked the second time', () => w.api!.requests.length >= 2);
    expect((await w.postAlert('alertmanager', resolvedPayload('j-resolve', 'j-resolve is up'))).status).toBe(202);
    const inc = await w.incident(byContainer('j-resolve'));
    expect(inc).toMatchObject({ status: 'resolved', resolution: expect.stringMatching(/^resolved by the source while warden was working on it/) });
    // Give a restart that should not happen the time it would take.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await c.inspect()).State).toMatchObject({ Status: 'exited', FinishedAt: finishedAt });
    const restarts = w.rt.audit.forIncident(inc.id).filter((e) => e.tool === 'restart_container');
    expect(restarts.filter((e) => e.phase === 'requested' || e.phase === 'completed')).toEqual([]);
  });

  it("refuses a model that keeps asking to restart a container Docker's restart policy is restarting", async () => {
    const c = await createContainer(worlds.dockerd(), 'j-loop', { cmd: ['sh', '-c', 'sleep 0.3; exit 3'], restartPolicy: 'always' });
    await eventually('Docker to be restarting it', async () => ((await c.inspect()).RestartCount ?? 0) >= 2, 20_000);
    const w = await world({
      script: [
        use('restart_container', { container: 'j-loop' }),
        use('restart_container', { container: 'j-loop' }),
        use('start_container', { container: 'j-loop' }),
        say('Docker is restarting it; a human should look.'),
      ],
    });
    const before = (await c.inspect()).RestartCount;
    expect((await w.postAlert('alertmanager', alertmanagerPayload('j-loop', 'j-loop keeps crashing'))).status).toBe(202);
    const inc = await w.incident(byContainer('j-loop'), ['escalated', 'resolved'], 60_000);
    const writes = w.rt.audit.forIncident(inc.id).filter((e) => /^(re)?start_container$/.test(e.tool));
    // No restart reached Docker: each was refused naming its restart policy. A start caught
    // between two crashes is a no-op for Docker (it runs) and reports it never settled.
    expect(writes.filter((e) => e.tool === 'restart_container' && e.phase === 'completed')).toEqual([]);
    expect(writes.filter((e) => e.tool === 'restart_container' && e.phase === 'failed').length).toBeGreaterThan(0);
    for (const e of writes.filter((x) => x.phase === 'failed')) expect(e.result).toMatch(/restart policy .*does not race/);
    for (const e of writes.filter((x) => x.phase === 'completed')) expect(e.result).toMatch(/NOT settled: it is crash-looping/);
    // A restart through the API would have reset Docker's restart count.
    expect((await c.inspect()).RestartCount).toBeGreaterThanOrEqual(before);
    await c.remove({ force: true });
  }, 90_000);
});

describe('the loop, correlation whatever the order', () => {
  it('parks a web incident that opened first when its database fails a moment later, and acts on web only after the db incident closed', async () => {
    const crashOnce = ['sh', '-c', 'if [ -f /ran ]; then exec sleep 100000; fi; touch /ran; exit 1'];
    const web = await createContainer(worlds.dockerd(), 'c-web', { cmd: crashOnce });
    const db = await createContainer(worlds.dockerd(), 'c-db', { cmd: crashOnce });
    for (const c of [web, db]) await waitUntil(c, 'exited', (i) => i.State.Status === 'exited');
    const w = await world({
      inventory: { 'services.yaml': 'services:\n  - { name: c-db, host: local, container: c-db, tier: standard }\n  - { name: c-web, host: local, container: c-web, tier: standard, dependsOn: [c-db] }\n' },
      script: [
        // web's run: the model is slow, and wants to restart web; the db alert lands meanwhile.
        use('restart_container', { container: 'c-web' }, 1_500),
        // db's run.
        use('restart_container', { container: 'c-db' }),
        say('c-db had exited; restarted it.'),
        // web's run again, once db's incident closed and web still fails.
        use('restart_container', { container: 'c-web' }),
        say('c-web had exited; restarted it.'),
      ],
    });
    expect((await w.postAlert('alertmanager', alertmanagerPayload('c-web', 'c-web is down'))).status).toBe(202);
    await eventually('the model asked about web', () => w.api!.requests.length >= 1);
    expect((await w.postAlert('alertmanager', alertmanagerPayload('c-db', 'c-db is down'))).status).toBe(202);
    const dbInc = await w.incident(byContainer('c-db'));
    const webInc = await w.incident(byContainer('c-web'), ['resolved', 'escalated'], 60_000);
    expect(dbInc.status).toBe('resolved');
    expect(webInc.status).toBe('resolved');
    expect(w.loop.incidents.timeline(webInc.id).some((e) => new RegExp(`waiting on ${dbInc.id}`).test(e.summary))).toBe(true);
    // From the audit: web was restarted once, and only after db's incident had closed.
    const webRestarts = w.rt.audit.forIncident(webInc.id).filter((e) => e.tool === 'restart_container' && e.phase === 'requested');
    expect(webRestarts).toHaveLength(1);
    expect(webRestarts[0]!.time > dbInc.closedAt!).toBe(true);
    expect((await web.inspect()).State.Running).toBe(true);
  }, 90_000);
});
