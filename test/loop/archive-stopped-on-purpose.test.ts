// The loop's "stopped on purpose" hold reads a person's stop_container from the live audit, back to
// the container's last start, which can be weeks ago: archiving the audit keeps such a stop live
// (and everything after it) while no start followed it, so the hold survives any archive.
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

  it('keeps a stop that no start followed out of every archive segment, so the hold still applies days later', async () => {
    const w = world({ policy: POLICY, agent: async () => ({ outcome: 'unreachable', summary: 'down' }) });
    const alice = { principal: 'alice', role: 'operator' as const, transport: 'cli' as const };
    await w.rt.guard.call(alice, 'list_containers', {});
    await stoppedByAlice(w);
    const later = new Date(Date.now() + 2 * 86_400_000);
    const r = await archiveAudit(w.rt.db, w.rt.audit, w.rt.config.dataDir, undefined, { before: new Date(later.getTime() - 86_400_000), now: later, by: 'warden', transport: 'internal' });
    expect(r.entries).toBeGreaterThan(0);
    expect(r.stoppedAt).toMatch(/is a stop_container by a person on a container not started since/);
    expect(w.rt.audit.list({ limit: 1_000 }).some((e) => e.tool === 'stop_container' && e.principal === 'alice')).toBe(true);
    const inc = w.open('db');
    expect(await w.until(inc.id, ['waiting_approval', 'resolved', 'escalated'])).toMatchObject({ status: 'waiting_approval' });
    expect(w.docker.starts('db')).toBe(0);
  });

  it('archives the stop once a start followed it: the intent ended', async () => {
    const w = world({ policy: `${POLICY.slice(0, -1)}, { name: people-start, tool: start_container, principal: alice, decision: allow }]`, agent: async () => ({ outcome: 'unreachable', summary: 'down' }) });
    await stoppedByAlice(w);
    const alice = { principal: 'alice', role: 'operator' as const, transport: 'cli' as const };
    expect(await w.rt.guard.call(alice, 'start_container', { container: 'db' })).toMatchObject({ ok: true });
    await w.rt.guard.call(alice, 'list_containers', {});
    const later = new Date(Date.now() + 2 * 86_400_000);
    const r = await archiveAudit(w.rt.db, w.rt.audit, w.rt.config.dataDir, undefined, { before: new Date(later.getTime() - 86_400_000), now: later, by: 'warden', transport: 'internal' });
    expect(r.stoppedAt).toMatch(/is the newest/);
    expect(w.rt.audit.list({ limit: 1_000 }).some((e) => e.tool === 'stop_container')).toBe(false);
  });
});
