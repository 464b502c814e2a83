// Operators' intent, end to end with a real dockerd and Claude unreachable: a container a person
// stopped with `docker stop`, or one carrying the maintenance label, is not started by the loop.
// The start is held for a human instead, one approval from running again. And one failure seen by
// two sources is one incident. Asserted from Docker's state and the audit, not from what the loop says.
import { describe, expect, it } from 'vitest';
import { createContainer } from '../support/containers.js';
import { alertmanagerPayload, useLoopWorlds, type LoopWorld } from '../support/loop-world.js';

const worlds = useLoopWorlds('');
const world = worlds.world;

const byContainer = (name: string) => (i: { container: string | null }) => i.container === name;
const loopStarts = (w: LoopWorld, id: string) =>
  w.rt.audit.forIncident(id).filter((e) => /^(start|restart)_container$/.test(e.tool) && e.phase === 'completed' && e.principal === 'loop');

describe("the loop and operators' intent", () => {
  it('holds the start of a container a person stopped outside warden, and starts it once a human approves', async () => {
    const w = await world({ script: null });
    const c = await createContainer(worlds.dockerd(), 'in-stopped');
    await c.stop({ t: 1 });
    // Docker's own die event follows a stop request: the watcher skips it. A monitor reports it down.
    expect((await w.postAlert('alertmanager', alertmanagerPayload('in-stopped', 'in-stopped is down'))).status).toBe(202);
    const inc = await w.incident(byContainer('in-stopped'), ['waiting_approval']);
    const held = w.rt.approvals.get(inc.waitingOn!)!;
    expect(held).toMatchObject({ tool: 'start_container', rule: 'loop.operator-stopped', status: 'pending' });
    expect(held.reason).toMatch(/stopped outside warden at .* \(docker (stop|kill)/);
    expect((await c.inspect()).State.Running).toBe(false);
    expect(loopStarts(w, inc.id)).toEqual([]);

    w.rt.decider.decide({ id: held.id, verdict: 'approved', by: 'alice', transport: 'cli' });
    w.loop.runner.approvalDecided(held.id);
    expect(await w.incident(byContainer('in-stopped'))).toMatchObject({ status: 'resolved' });
    expect((await c.inspect()).State.Running).toBe(true);
    expect(loopStarts(w, inc.id)).toHaveLength(1);
  });

  it('holds a start the model aims at a stopped container by its ID prefix, as it holds one by name', async () => {
    const c = await createContainer(worlds.dockerd(), 'in-byid');
    await c.stop({ t: 1 });
    const prefix = (await c.inspect()).Id.slice(0, 10);
    const w = await world({
      script: [
        { content: [{ type: 'tool_use', name: 'start_container', input: { container: prefix } }] },
        { content: [{ type: 'text', text: 'asked to start it' }] },
      ],
    });
    await w.postAlert('alertmanager', alertmanagerPayload('in-byid', 'in-byid is down'));
    const inc = await w.incident(byContainer('in-byid'), ['waiting_approval', 'escalated', 'resolved']);
    expect(inc.status).toBe('waiting_approval');
    expect(w.rt.approvals.get(inc.waitingOn!)).toMatchObject({ tool: 'start_container', target: 'local/in-byid', rule: 'loop.operator-stopped' });
    expect((await c.inspect()).State.Running).toBe(false);
  });

  it(`never starts a container labelled warden.maintenance=true: the start waits for a human`, async () => {
    const w = await world({ script: null });
    const c = await createContainer(worlds.dockerd(), 'in-maint', { cmd: ['sh', '-c', 'sleep 1; exit 1'], labels: { 'warden.maintenance': 'true' } });
    const inc = await w.incident(byContainer('in-maint'), ['waiting_approval']);
    expect(w.rt.approvals.get(inc.waitingOn!)).toMatchObject({ tool: 'start_container', rule: 'loop.maintenance', reason: expect.stringMatching(/warden\.maintenance=true/) });
    expect((await c.inspect()).State).toMatchObject({ Running: false, ExitCode: 1 });
    expect(loopStarts(w, inc.id)).toEqual([]);
  });
});

describe('the loop keeps memory per container, across alert sources', () => {
  it("joins a monitor's late report of an OOM that Docker's events already brought to the incident Docker's opened: one incident, one restart", async () => {
    const w = await world({ script: null });
    const oomOnce = ['sh', '-c', 'if [ -f /oomed ]; then exec sleep 100000; fi; touch /oomed; sleep 1; x=a; while true; do x=$x$x; done'];
    const c = await createContainer(worlds.dockerd(), 'in-oom', { cmd: oomOnce, memoryBytes: 16 * 1024 * 1024 });
    const first = await w.incident(byContainer('in-oom'));
    expect(first).toMatchObject({ status: 'resolved', source: 'docker' });
    const startedAt = (await c.inspect()).State.StartedAt;
    // Alertmanager reports the same OOM seconds later, under its own fingerprint, with the time it began.
    const payload = alertmanagerPayload('in-oom', 'in-oom was OOM-killed') as { alerts: Array<Record<string, unknown>> };
    payload.alerts[0]!.startsAt = first.openedAt;
    payload.alerts[0]!.labels = { alertname: 'ContainerOOM', container: 'in-oom', severity: 'critical' };
    expect((await w.postAlert('alertmanager', payload)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 2_000));
    const all = w.loop.incidents.list().filter(byContainer('in-oom'));
    expect(all.map((i) => i.id)).toEqual([first.id]);
    expect(all[0]!.alertCount).toBeGreaterThanOrEqual(2);
    expect(loopStarts(w, first.id)).toHaveLength(1);
    expect((await c.inspect()).State.StartedAt).toBe(startedAt);
  }, 90_000);
});
