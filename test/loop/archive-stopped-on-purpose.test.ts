// The loop's "stopped on purpose" hold must survive archiving the audit: a person's stop_container is
// kept apart from it (stop_intents, by triggers on the audit), until a start through warden, or a
// start outside warden that Docker's StartedAt shows, ends it.
import { describe, expect, it } from 'vitest';
import { archiveAudit } from '../../src/store/audit-archive.js';
import { useRunnerWorlds, type RunnerWorld } from '../support/runner.js';

const world = useRunnerWorlds();
const POLICY = 'rules: [{ name: people-stop, tool: stop_container, principal: alice, decision: allow }]';

async function stoppedByAlice(w: RunnerWorld): Promise<void> {
  const alice = { principal: 'alice', role: 'operator' as const, transport: 'cli' as const };
  expect(await w.rt.guard.call(alice, 'stop_container', { container: 'db' })).toMatchObject({ ok: true });
  w.docker.set('db', { status: 'exited', running: false, exitCode: 0 });
  await w.rt.guard.call(alice, 'list_containers', {}); // a newer head, so the stop can be archived
}

describe('audit archive and the stopped-on-purpose hold', () => {
  it('control: the loop holds a start of a container a person stopped', async () => {
    const w = world({ policy: POLICY, agent: async () => ({ outcome: 'unreachable', summary: 'down' }) });
    await stoppedByAlice(w);
    const inc = w.open('db');
    expect(await w.until(inc.id, ['waiting_approval', 'resolved', 'escalated'])).toMatchObject({ status: 'waiting_approval' });
    expect(w.docker.starts('db')).toBe(0);
  });

  it('still holds the container once the stop entry itself was archived', async () => {
    const w = world({ policy: POLICY, agent: async () => ({ outcome: 'unreachable', summary: 'down' }) });
    const alice = { principal: 'alice', role: 'operator' as const, transport: 'cli' as const };
    await w.rt.guard.call(alice, 'list_containers', {});
    await stoppedByAlice(w);
    const later = new Date(Date.now() + 2 * 86_400_000);
    const r = await archiveAudit(w.rt.db, w.rt.audit, w.rt.config.dataDir, undefined, { before: new Date(later.getTime() - 86_400_000), now: later, by: 'warden', transport: 'internal' });
    expect(r.entries).toBeGreaterThan(0);
    expect(w.rt.audit.list({ limit: 1_000 }).some((e) => e.tool === 'stop_container')).toBe(false);
    const inc = w.open('db');
    expect(await w.until(inc.id, ['waiting_approval', 'resolved', 'escalated'])).toMatchObject({ status: 'waiting_approval' });
    expect(w.docker.starts('db')).toBe(0);
  });

  it('forgets the stop once a start through warden followed it', async () => {
    const w = world({ policy: `${POLICY.slice(0, -1)}, { name: people-start, tool: start_container, principal: alice, decision: allow }]`, agent: async () => ({ outcome: 'unreachable', summary: 'down' }) });
    await stoppedByAlice(w);
    const alice = { principal: 'alice', role: 'operator' as const, transport: 'cli' as const };
    expect(await w.rt.guard.call(alice, 'start_container', { container: 'db' })).toMatchObject({ ok: true });
    await w.rt.guard.call(alice, 'list_containers', {});
    const later = new Date(Date.now() + 2 * 86_400_000);
    const r = await archiveAudit(w.rt.db, w.rt.audit, w.rt.config.dataDir, undefined, { before: new Date(later.getTime() - 86_400_000), now: later, by: 'warden', transport: 'internal' });
    expect(r.stoppedAt).toMatch(/is the newest/);
    expect(w.rt.audit.stopIntent('local/db')).toBeUndefined();
  });

  it('archives entries written long after a stop of a container that was since removed', async () => {
    const w = world({ policy: POLICY, agent: async () => ({ outcome: 'unreachable', summary: 'down' }) });
    const alice = { principal: 'alice', role: 'operator' as const, transport: 'cli' as const };
    expect(await w.rt.guard.call(alice, 'stop_container', { container: 'db' })).toMatchObject({ ok: true });
    // The container is decommissioned (docker rm): nothing in warden will ever start it again.
    w.docker.containers = w.docker.containers.filter((c) => c.name !== 'db');
    for (let i = 0; i < 20; i += 1) await w.rt.guard.call(alice, 'list_containers', {});
    const before = w.rt.audit.list({ limit: 10_000 }).length;
    const later = new Date(Date.now() + 400 * 86_400_000); // a year on, everything is past auditArchiveDays
    const r = await archiveAudit(w.rt.db, w.rt.audit, w.rt.config.dataDir, undefined, { before: new Date(later.getTime() - 86_400_000), now: later, by: 'warden', transport: 'internal' });
    const after = w.rt.audit.list({ limit: 10_000 }).length;
    // Everything but the newest entry (and this pass's own audit.archive) could go; the pin keeps ~all.
    expect({ archived: r.entries, liveBefore: before, liveAfter: after, why: r.stoppedAt }).toMatchObject({ liveAfter: expect.any(Number) });
    expect(after, r.stoppedAt ?? '').toBeLessThan(5);
  });
});
