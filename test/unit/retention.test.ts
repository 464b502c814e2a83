// Retention on a real SQLite file: old alert payloads, closed incidents (with their timelines and
// model calls) and loop outcomes go; active incidents, those an active one waits on, and the audit stay.
import { afterEach, describe, expect, it } from 'vitest';
import { auditArchiver, retentionPass, startRetention } from '../../src/server/retention.js';
import { eventually } from '../support/loop-world.js';
import { IncidentStore } from '../../src/store/incidents.js';
import type { Runtime } from '../../src/server/runtime.js';
import { testAlert } from '../support/agent.js';
import { testRuntime } from '../support/warden.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
});

const NOW = new Date(Date.now() + 24 * 60 * 60_000);
const OLD = '2025-06-01T00:00:00.000Z';

function world(config = '') {
  const rt = testRuntime({ config });
  open.push(rt);
  const incidents = new IncidentStore(rt.db);
  const where = (c: string) => ({ target: `local/${c}`, host: 'local', container: c, service: null });
  const make = (c: string, close?: 'resolve' | 'escalate', old = true) => {
    const inc = incidents.create(testAlert({ fingerprint: `fp-${c}`, summary: `${c} zq${c}word` }), where(c));
    incidents.addEvent(inc.id, 'note', 'looked');
    incidents.recordModelCall({ incidentId: inc.id, model: 'm', inputTokens: 1, outputTokens: 1, latencyMs: 1, costUsd: 0, outcome: 'ok' });
    if (close) incidents.transition(inc.id, close, 'done');
    if (old) {
      rt.db.prepare('UPDATE incidents SET opened_at = ?, updated_at = ?, closed_at = CASE WHEN closed_at IS NULL THEN NULL ELSE ? END WHERE id = ?').run(OLD, OLD, OLD, inc.id);
    }
    return inc;
  };
  return { rt, incidents, make };
}

const count = (rt: Runtime, table: string): number => (rt.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('the retention pass', () => {
  it('deletes closed incidents past their age with their timelines and model calls, and keeps every active one', async () => {
    const w = world();
    const oldResolved = w.make('a', 'resolve');
    const oldEscalated = w.make('b', 'escalate');
    const oldActive = w.make('c');
    const fresh = w.make('d', 'resolve', false);
    const auditBefore = count(w.rt, 'audit');
    const pass = await retentionPass(w.rt, undefined, NOW);
    expect(pass).toMatchObject({ incidents: 2, events: expect.any(Number), modelCalls: 2 });
    expect(w.incidents.get(oldResolved.id)).toBeUndefined();
    expect(w.incidents.get(oldEscalated.id)).toBeUndefined();
    expect(w.incidents.get(oldActive.id)).toBeDefined();
    expect(w.incidents.get(fresh.id)).toBeDefined();
    expect(w.incidents.timeline(oldResolved.id)).toEqual([]);
    expect(w.incidents.search('zqaword', 5)).toEqual([]);
    expect(w.incidents.search('zqdword', 5).map((s) => s.id)).toEqual([fresh.id]);
    expect(count(w.rt, 'audit')).toBe(auditBefore);
    expect(w.rt.healthStates.watches().find((r) => r.name === 'retention')).toMatchObject({ ok: true, detail: expect.stringMatching(/2 closed incidents/) });
  });

  it('keeps a closed incident that an active incident still waits on', async () => {
    const w = world();
    const parent = w.make('p', 'resolve');
    const child = w.make('q');
    w.rt.db.prepare('UPDATE incidents SET parent_id = ? WHERE id = ?').run(parent.id, child.id);
    await retentionPass(w.rt, undefined, NOW);
    expect(w.incidents.get(parent.id)).toBeDefined();
  });

  it('deletes alert payloads and loop outcomes past their age, and honours the configured ages', async () => {
    const w = world('retention:\n  alertsDays: 600\n  incidentsDays: 600\n');
    w.incidents.recordPayload({ source: 'generic', outcome: 'accepted', body: '{}' });
    w.rt.db.prepare('UPDATE alert_payloads SET received_at = ?').run(OLD);
    w.make('z', 'resolve');
    expect(await retentionPass(w.rt, undefined, NOW)).toMatchObject({ alerts: 0, incidents: 0 });
    expect(await retentionPass(w.rt, undefined, new Date('2028-06-01T00:00:00Z'))).toMatchObject({ alerts: 1, incidents: 1 });
    w.rt.safeMode.recordOutcome({ time: OLD, incidentId: null, tool: 't', target: null, ok: false, stage: 'write', detail: 'x' });
    expect(await retentionPass(w.rt, undefined, new Date('2028-06-01T00:00:00Z'))).toMatchObject({ outcomes: 1 });
  });

  it('works off a backlog larger than one batch in one pass', async () => {
    const w = world();
    const insert = w.rt.db.prepare(`INSERT INTO alert_payloads (received_at, source, outcome, body) VALUES (?, 'generic', 'accepted', '{}')`);
    w.rt.db.transaction(() => { for (let i = 0; i < 1_234; i += 1) insert.run(OLD); })();
    expect(await retentionPass(w.rt, undefined, NOW)).toMatchObject({ alerts: 1_234 });
    expect(count(w.rt, 'alert_payloads')).toBe(0);
  });
});

describe('the retention pass and the audit', () => {
  it('archives audit entries past retention.auditArchiveDays into a signed segment, never deleting one: the chain still verifies', async () => {
    const w = world('retention:\n  auditArchiveDays: 1\n');
    for (let i = 0; i < 5; i += 1) w.rt.audit.append({ callId: `c${i}`, principal: 'test', transport: 'cli', tool: 'test.entry', args: { i }, argsHash: '', phase: 'completed' });
    const later = new Date(Date.now() + 3 * 24 * 60 * 60_000);
    const pass = await retentionPass(w.rt, auditArchiver(w.rt), later);
    expect(pass.archived).toBe(4);
    expect(w.rt.db.prepare('SELECT count(*) AS n FROM audit_archives').get()).toEqual({ n: 1 });
    const live = w.rt.audit.list({ limit: 10 }).map((e) => e.tool);
    expect(live).toEqual(['test.entry', 'audit.archive']);
    expect(w.rt.healthStates.watches().find((r) => r.name === 'retention')).toMatchObject({ ok: true, detail: expect.stringMatching(/archived 4 audit entries/) });
  });

  it('archives nothing without auditArchiveDays', () => {
    expect(auditArchiver(world().rt)).toBeUndefined();
  });
});

describe('stopping the retention sweep', () => {
  it('aborts the pass under way, and does not wait for one that ignores the abort', async () => {
    const w = world('retention:\n  auditArchiveDays: 1\n');
    let seen: AbortSignal | undefined;
    let finished = false;
    const archiver = async (_before: Date, _now: Date, signal?: AbortSignal) => {
      seen = signal;
      await new Promise((r) => setTimeout(r, 6_000));
      finished = true;
      return 0;
    };
    const retention = startRetention(w.rt, archiver, 60 * 60_000);
    await eventually('the pass reached the archive', () => seen !== undefined, 10_000);
    await retention.stop();
    expect(seen!.aborted).toBe(true);
    expect(finished).toBe(false);
  }, 20_000);
});
