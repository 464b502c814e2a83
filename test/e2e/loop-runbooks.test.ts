// The loop end to end from Docker's own events, with Claude unreachable (no API key, or the API
// answering 529): a real dockerd, the event watcher, the runner and its deterministic runbooks, and a
// real local HTTP receiver for the escalation webhooks; and restart safety after a crash mid-call.
// No external alert is posted in this file.
import { describe, expect, it } from 'vitest';
import { startLoop } from '../../src/loop/loop-service.js';
import { createContainer } from '../support/containers.js';
import { warden } from '../support/cli.js';
import { useLoopWorlds, type LoopWorld } from '../support/loop-world.js';

const worlds = useLoopWorlds('');
const world = worlds.world;

const MiB = 1024 * 1024;
const byContainer = (name: string) => (i: { container: string | null }) => i.container === name;
const loopStarts = (w: LoopWorld, id: string) =>
  w.rt.audit.forIncident(id).filter((e) => e.tool === 'start_container' && e.phase === 'completed' && e.principal === 'loop');

describe('the loop from Docker events, Claude unreachable', () => {
  it('restarts a container that died (exit 1) on its die event alone: runbook start, verified, resolved', async () => {
    const w = await world({ script: null });
    const c = await createContainer(worlds.dockerd(), 'e2e-b', { cmd: ['sh', '-c', 'if [ -f /died ]; then exec sleep 100000; fi; touch /died; sleep 1; exit 1'] });
    const inc = await w.incident(byContainer('e2e-b'));
    expect(inc).toMatchObject({ status: 'resolved', source: 'docker', target: 'local/e2e-b', attempts: 1 });
    expect(inc.resolution).toMatch(/^runbook start_container on local\/e2e-b \(exited with code 1: restart\); verified: running for 1s/);
    expect((await c.inspect()).State.Running).toBe(true);
    expect(loopStarts(w, inc.id)).toHaveLength(1);
    expect(new Set(w.rt.audit.forIncident(inc.id).map((e) => e.principal))).toEqual(new Set(['loop']));
    expect(w.loop.incidents.payloads()).toEqual([]);
    expect(w.loop.incidents.timeline(inc.id).some((e) => e.kind === 'model' && /no Anthropic API key/.test(e.summary))).toBe(true);
  });

  it('restarts an OOM-killed container once; OOM-killed again, an approved update_container_resources doubles its limit and it runs; `warden changes rollback` restores the limit', async () => {
    // 24 MiB in one buffer, a second after each start: killed under 16 MiB, at home under 32.
    const w = await world({ script: [{ error: { status: 529 } }], loop: 'settleSeconds: 2' });
    const c = await createContainer(worlds.dockerd(), 'e2e-c', { cmd: ['sh', '-c', 'sleep 1; dd if=/dev/zero of=/dev/null bs=24M count=1 || exit 137; exec sleep 100000'], memoryBytes: 16 * MiB });
    const parked = await w.incident(byContainer('e2e-c'), ['waiting_approval', 'escalated'], 60_000);
    expect(parked.status).toBe('waiting_approval');
    expect(loopStarts(w, parked.id)).toHaveLength(1);
    const held = w.rt.approvals.get(parked.waitingOn!)!;
    expect(held).toMatchObject({ tool: 'update_container_resources', status: 'pending' });
    expect(JSON.parse(String(held.args))).toMatchObject({ container: 'e2e-c', memory: '32m', start: true });
    w.rt.decider.decide({ id: held.id, verdict: 'approved', by: 'alice', transport: 'cli' });
    const inc = await w.incident(byContainer('e2e-c'), ['resolved', 'escalated'], 90_000);
    expect(inc.status, inc.resolution ?? '').toBe('resolved');
    expect(inc.resolution).toMatch(/^update_container_resources .*"memory":"32m".* approved by alice; verified: running/);
    const after = await c.inspect();
    expect(after.State.Running).toBe(true);
    expect(after.HostConfig.Memory).toBe(32 * MiB);
    const [change] = w.rt.changes.list({ limit: 1 });
    expect(change).toMatchObject({ status: 'verified', kind: 'container_resources', target: 'local/e2e-c', principal: 'loop', incidentId: inc.id });
    const r = warden(['changes', 'rollback', change!.id, '--reason', 'back to the old limit', '--by', 'alice'], { WARDEN_DATA_DIR: w.rt.config.dataDir, DOCKER_HOST: worlds.dockerd().dockerHost });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${change!.id} rolled_back`));
    expect((await c.inspect()).HostConfig.Memory).toBe(16 * MiB);
    expect(w.rt.changes.get(change!.id)).toMatchObject({ status: 'rolled_back', rollback: expect.stringMatching(/rollback asked by alice: back to the old limit|limits set back/) });
    expect(w.rt.audit.list().filter((e) => e.tool === 'rollback_change').map((e) => `${e.principal}:${e.phase}`)).toEqual(['alice:requested', 'alice:completed']);
  });

  it("after a crash between the 'requested' entry and its outcome, the next runner verifies instead of starting it again", async () => {
    const w = await world({ script: null });
    await w.loop.stop();
    // What a crash mid-call leaves: the incident under way and a 'requested' start without an outcome
    // (the start itself went through: the container runs).
    const c = await createContainer(worlds.dockerd(), 'e2e-g2');
    const inc = w.loop.incidents.create({
      source: 'docker', fingerprint: 'docker:local/e2e-g2', status: 'firing', severity: 'warning', summary: 'e2e-g2 exited with code 1',
      startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: { container: 'e2e-g2' },
    }, { target: 'local/e2e-g2', host: 'local', container: 'e2e-g2', service: null });
    w.loop.incidents.transition(inc.id, 'work', 'the runbooks act');
    w.rt.audit.append({
      callId: 'call-before-the-crash', principal: 'loop', transport: 'loop', tool: 'start_container', target: 'local/e2e-g2',
      args: { host: 'local', container: 'e2e-g2', waitSeconds: 0 }, argsHash: 'h', risk: 'low', decision: 'notify', rule: 'default:low',
      phase: 'requested', incidentId: inc.id,
    });
    const startedAt = (await c.inspect()).State.StartedAt;
    const second = await startLoop(w.rt, { approvalPollMs: 200 });
    try {
      const done = await w.incident((i) => i.id === inc.id);
      expect(done).toMatchObject({ status: 'resolved', attempts: 1 });
      expect(done.resolution).toMatch(/^resumed: start_container on local\/e2e-g2 \(requested before warden stopped; its outcome was not recorded\); verified/);
      expect(loopStarts(w, inc.id)).toEqual([]);
      expect((await c.inspect()).State.StartedAt).toBe(startedAt);
    } finally {
      await second.stop();
    }
  });

  it('stops restarting a container that keeps crashing: a bounded number of restarts, then escalation', async () => {
    const w = await world({ script: null, loop: 'settleSeconds: 3' });
    const c = await createContainer(worlds.dockerd(), 'e2e-d', { cmd: ['sh', '-c', 'sleep 1; exit 1'] });
    const inc = await w.incident(byContainer('e2e-d'), ['escalated'], 60_000);
    expect(inc.resolution).toMatch(/acted 3 times on this incident \(maxAttempts 3\)/);
    // Nothing restarts it afterwards: no later incident of the same container gets another start past the breaker.
    await new Promise((r) => setTimeout(r, 3_000));
    const allStarts = w.rt.audit.list().filter((e) => e.tool === 'start_container' && e.principal === 'loop' && e.phase === 'completed');
    expect(allStarts).toHaveLength(3);
    expect((await c.inspect()).State.Running).toBe(false);
    expect(w.hooks.received.some((n) => n.event === 'escalation' && n.incident === inc.id)).toBe(true);
  });
});
