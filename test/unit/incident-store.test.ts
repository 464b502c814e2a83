import { InvalidTransition } from '../../src/shared/incident-machine.js';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/db.js';
import { IncidentStore, MAX_PAYLOAD_BYTES } from '../../src/store/incidents.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { alert, useIncidentWorld } from '../support/incidents.js';

const world = useIncidentWorld();
const WHERE = { target: 'local/db', host: 'local', container: 'db', service: 'db' };

describe('IncidentStore', () => {
  it('opens an incident with an inc_ id, ISO times, one alert and an alert on its timeline', () => {
    const { store } = world();
    const inc = store.create(alert({ summary: 'db exited with code 1', severity: 'critical' }), WHERE);
    expect(inc).toMatchObject({
      id: expect.stringMatching(/^inc_[0-9a-f]{10}$/), status: 'open', title: 'db exited with code 1', severity: 'critical',
      target: 'local/db', host: 'local', container: 'db', service: 'db', alertCount: 1, attempts: 0, flaps: 0,
      parentId: null, waitingOn: null, closedAt: null, resolution: null,
    });
    expect(new Date(inc.openedAt).toISOString()).toBe(inc.openedAt);
    expect(store.timeline(inc.id)).toEqual([expect.objectContaining({ kind: 'alert', summary: 'generic firing: db exited with code 1' })]);
  });

  it('counts repeated alerts and raises the severity to the highest seen', () => {
    const { store } = world();
    const inc = store.create(alert(), WHERE);
    store.addAlert(inc.id, alert({ severity: 'critical' }));
    store.addAlert(inc.id, alert({ severity: 'info' }));
    expect(store.get(inc.id)).toMatchObject({ alertCount: 3, severity: 'critical' });
  });

  it('keeps a storm off the timeline after the first 20 alerts, but for every 100th', () => {
    const { store } = world();
    const inc = store.create(alert(), WHERE);
    for (let i = 0; i < 299; i += 1) store.addAlert(inc.id, alert());
    expect(store.get(inc.id)!.alertCount).toBe(300);
    expect(store.timeline(inc.id).map((e) => e.summary).filter((s) => /alert \d+\)/.test(s)).map((s) => /alert (\d+)/.exec(s)![1]))
      .toEqual([...Array.from({ length: 19 }, (_, i) => String(i + 2)), '100', '200', '300']);
  });

  it('applies a transition, its patch and its timeline event together, or none of them', () => {
    const { store } = world();
    const inc = store.create(alert(), WHERE);
    expect(() => store.transition(inc.id, 'work', 'x', { attempts: 1 }, { kind: 'note', data: { n: 1n } })).toThrow();
    expect(store.get(inc.id)).toMatchObject({ status: 'open', attempts: 0 });
    expect(store.timeline(inc.id)).toHaveLength(1);
    const updated = store.transition(inc.id, 'work', 'asked Claude', { attempts: 1 }, { kind: 'model', data: { turn: 1 } });
    expect(updated).toMatchObject({ status: 'investigating', attempts: 1 });
    expect(store.timeline(inc.id).at(-1)).toMatchObject({ kind: 'model', summary: 'open -> investigating: asked Claude', data: { turn: 1 } });
  });

  it('changes a status only through transition, and refuses an event its status does not allow, writing nothing', () => {
    const { store } = world();
    const inc = store.create(alert(), WHERE);
    expect(() => store.update(inc.id, { status: 'resolved' } as never)).toThrow(/only through transition/);
    store.transition(inc.id, 'hold', 'restart_container held', { waitingOn: 'apr_1' });
    expect(store.get(inc.id)!.waitingOn).toBe('apr_1');
    expect(store.timeline(inc.id).at(-1)).toMatchObject({ kind: 'status', summary: 'open -> waiting_approval: restart_container held' });
    expect(() => store.transition(inc.id, 'dependency_closed', 'x')).toThrow(InvalidTransition);
    store.transition(inc.id, 'resolve', 'source resolved', { resolution: 'source resolved' });
    const before = store.timeline(inc.id).length;
    for (const event of ['work', 'verify', 'hold', 'resolve', 'escalate', 'wait_dependency'] as const) {
      expect(() => store.transition(inc.id, event, 'late')).toThrow(/cannot happen while it is resolved/);
    }
    expect(store.get(inc.id)!.status).toBe('resolved');
    expect(store.timeline(inc.id)).toHaveLength(before);
  });

  it.each(['resolve', 'escalate'] as const)('stamps closed_at once when the incident closes by %s', (event) => {
    const { store } = world();
    const inc = store.create(alert(), WHERE);
    expect(store.get(inc.id)!.closedAt).toBeNull();
    const closed = store.transition(inc.id, event, 'restarted db', { resolution: 'restarted db' });
    expect(closed.closedAt).toBe(closed.updatedAt);
  });

  it('makes the resolution searchable through search_incidents', () => {
    const { store } = world();
    const inc = store.create(alert({ summary: 'db exited with code 137' }), WHERE);
    store.addAlert(inc.id, alert());
    expect(store.search('memory', 5)).toEqual([]);
    store.transition(inc.id, 'resolve', 'raised the memory limit to 2g', { resolution: 'raised the memory limit to 2g' });
    expect(store.search('memory', 5)).toEqual([expect.objectContaining({ id: inc.id, status: 'resolved', resolution: 'raised the memory limit to 2g' })]);
    expect(store.search('137', 5).map((i) => i.id)).toEqual([inc.id]);
  });

  it('finds the active incident by fingerprint or target, never a closed one', () => {
    const { store } = world();
    const old = store.create(alert({ fingerprint: 'fp' }), WHERE);
    store.transition(old.id, 'resolve', 'verified');
    expect(store.findActive({ fingerprint: 'fp' })).toBeUndefined();
    const inc = store.create(alert({ fingerprint: 'fp' }), WHERE);
    expect(store.findActive({ fingerprint: 'fp' })?.id).toBe(inc.id);
    expect(store.findActive({ fingerprint: 'other', target: 'local/db' })?.id).toBe(inc.id);
    expect(store.findActive({ target: 'local/web-1' })).toBeUndefined();
    expect(store.lastClosed({ fingerprint: 'fp' })?.id).toBe(old.id);
    expect(store.lastClosed({ fingerprint: 'other', target: 'local/db' })?.id).toBe(old.id);
  });

  it('lists newest first, by status or all active, capped by limit', () => {
    const { store } = world();
    const a = store.create(alert({ fingerprint: 'a' }), WHERE);
    const b = store.create(alert({ fingerprint: 'b' }), WHERE);
    const c = store.create(alert({ fingerprint: 'c' }), WHERE);
    store.transition(b.id, 'escalate', 'a human has it');
    expect(store.list().map((i) => i.id)).toEqual([c.id, b.id, a.id]);
    expect(store.list({ status: 'active' }).map((i) => i.id)).toEqual([c.id, a.id]);
    expect(store.list({ status: 'escalated' }).map((i) => i.id)).toEqual([b.id]);
    expect(store.list({ limit: 1 }).map((i) => i.id)).toEqual([c.id]);
  });

  it('sums model spend since a time', () => {
    const { store, clock } = world();
    const call = { incidentId: 'inc_x', model: 'claude', inputTokens: 10, outputTokens: 5, latencyMs: 12.4, outcome: 'ok' };
    store.recordModelCall({ ...call, costUsd: 0.25 });
    const later = new Date(clock.now.getTime() + 1);
    store.recordModelCall({ ...call, costUsd: 0.5 });
    expect(store.costSince(new Date(0))).toBeCloseTo(0.75);
    expect(store.costSince(later)).toBeCloseTo(0.5);
  });

  it('records every payload, cutting a body at 64 KiB without splitting a character', () => {
    const { store } = world();
    store.recordPayload({ source: 'generic', outcome: 'rejected', reason: 'summary: required', body: 'é'.repeat(MAX_PAYLOAD_BYTES) });
    store.recordPayload({ source: 'grafana', outcome: 'accepted', body: '{}', incidentIds: ['inc_1'] });
    const [accepted, rejected] = store.payloads();
    expect(accepted).toMatchObject({ source: 'grafana', outcome: 'accepted', incidentIds: ['inc_1'], reason: null });
    expect(rejected).toMatchObject({ outcome: 'rejected', reason: 'summary: required' });
    expect(Buffer.byteLength(rejected!.body)).toBe(MAX_PAYLOAD_BYTES);
    expect(rejected!.body).toMatch(/^é+$/);
  });
});

describe('migration 6', () => {
  it('keeps incidents recorded before it, counted once and still searchable', () => {
    const db = new Database(':memory:');
    MIGRATIONS.slice(0, 5).forEach((m) => db.exec(m));
    db.pragma('user_version = 5');
    db.prepare(`INSERT INTO incidents (id, fingerprint, opened_at, updated_at, status, source, target, title, summary, resolution)
      VALUES ('inc_old', 'fp', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'resolved', 'test', 'local/db', 'db down', '', 'restarted db')`).run();
    migrate(db);
    const store = new IncidentStore(db);
    expect(store.get('inc_old')).toMatchObject({ alertCount: 1, attempts: 0, flaps: 0, host: null });
    expect(store.search('restarted', 5).map((i) => i.id)).toEqual(['inc_old']);
    store.update('inc_old', { resolution: 'raised the limit' });
    expect(store.search('restarted', 5)).toEqual([]);
    expect(store.search('limit', 5).map((i) => i.id)).toEqual(['inc_old']);
    db.close();
  });
});
