// Correlation on a real SQLite store and the example inventory (lb -> web-1, web-2 -> db).
import { describe, expect, it } from 'vitest';
import { dependentsOf, instanceHost, resolveWhere } from '../../src/loop/correlate.js';
import { RESOLVED_BEFORE_ACTING } from '../../src/loop/intake.js';
import { alert, useIncidentWorld } from '../support/incidents.js';

const world = useIncidentWorld();

const on = (container: string, fingerprint = `fp:${container}`) => alert({ fingerprint, hints: { container }, summary: `${container} is down` });

describe('target resolution', () => {
  it.each([
    ['a container, on the one host that runs it', { container: 'trainer' }, { target: 'gpu-worker/trainer', host: 'gpu-worker', service: 'trainer' }],
    ['a container and host', { host: 'local', container: '/web-1' }, { target: 'local/web-1', host: 'local', service: 'web-1' }],
    ['an unknown container, on local', { container: 'cron-job' }, { target: 'local/cron-job', host: 'local', service: null }],
    ['a service name', { service: 'db' }, { target: 'local/db', host: 'local', container: 'db', service: 'db' }],
    ['a monitor named like a service', { service: 'WEB-2' }, { target: 'local/web-2', service: 'web-2' }],
    ['an instance a health check listens on', { instance: '127.0.0.1:8081' }, { target: 'local/web-1', service: 'web-1' }],
    ['an instance on an inventory host', { instance: 'gpu-worker:9100' }, { target: null, host: 'gpu-worker', service: null }],
    ['nothing the inventory knows', { service: 'billing' }, { target: null, host: null, container: null, service: null }],
  ])('resolves %s', (_what, hints, expected) => {
    const { inventory } = world();
    expect(resolveWhere(inventory, hints)).toMatchObject(expected);
  });

  it.each([['10.0.0.1:9100', '10.0.0.1'], ['[::1]:9100', '::1'], ['db', 'db'], ['fe80::1', 'fe80::1']])('reads the host of instance %s', (i, host) => {
    expect(instanceHost(i)).toBe(host);
  });
});

describe('Intake', () => {
  it('turns repeats of one alert into one incident, woken once', () => {
    const { intake, store, woken } = world();
    const ids = [0, 1, 2, 3, 4].map(() => intake.ingest([on('web-1')]).incidentIds[0]);
    expect(new Set(ids).size).toBe(1);
    expect(store.list()).toHaveLength(1);
    expect(store.get(ids[0]!)!.alertCount).toBe(5);
    expect(woken).toEqual([ids[0]]);
  });

  it('joins a different fingerprint on the same target to the open incident', () => {
    const { intake, store, woken } = world();
    const [first] = intake.ingest([on('web-1', 'alertmanager:a')]).incidentIds;
    const [second] = intake.ingest([alert({ fingerprint: 'uptime-kuma:7', hints: { service: 'web-1' } })]).incidentIds;
    expect(second).toBe(first);
    expect(store.get(first!)).toMatchObject({ alertCount: 2, target: 'local/web-1' });
    expect(woken).toHaveLength(1);
  });

  it('still opens an incident when the alert names nothing the inventory knows', () => {
    const { intake, store, woken } = world();
    const [id] = intake.ingest([alert({ hints: { service: 'billing' } })]).incidentIds;
    expect(store.get(id!)).toMatchObject({ target: null, status: 'open' });
    expect(woken).toEqual([id]);
  });

  it('closes an incident the source resolves before warden started on it', () => {
    const { intake, store } = world();
    const [id] = intake.ingest([on('web-1')]).incidentIds;
    intake.ingest([{ ...on('web-1'), status: 'resolved' }]);
    expect(store.get(id!)).toMatchObject({ status: 'resolved', resolution: RESOLVED_BEFORE_ACTING, alertCount: 2 });
    expect(store.get(id!)!.closedAt).not.toBeNull();
  });

  it.each(['investigating', 'verifying', 'waiting_approval'] as const)('only notes a resolved alert while the incident is %s', (status) => {
    const { intake, store } = world();
    const [id] = intake.ingest([on('web-1')]).incidentIds;
    store.update(id!, { status });
    intake.ingest([{ ...on('web-1'), status: 'resolved' }]);
    expect(store.get(id!)!.status).toBe(status);
    expect(store.timeline(id!).at(-1)).toMatchObject({ kind: 'note', summary: expect.stringMatching(/reports resolved.*verification decides/) });
  });

  it('ignores a resolved alert with no active incident', () => {
    const { intake, store } = world();
    expect(intake.ingest([{ ...on('web-1'), status: 'resolved' }]).incidentIds).toEqual([]);
    expect(store.list()).toEqual([]);
  });

  it('reopens a fingerprint that closed within the cooldown as a new incident, counting flaps, and escalates at the limit', () => {
    const { intake, store, woken, clock } = world({ cooldownMinutes: 10, flapLimit: 3 });
    const seen: Array<{ id: string; flaps: number; status: string }> = [];
    for (let i = 0; i < 4; i += 1) {
      // Each failure is a new occurrence: it started after the previous incident closed.
      const [id] = intake.ingest([{ ...on('web-1'), startsAt: clock.now.toISOString() }]).incidentIds;
      const inc = store.get(id!)!;
      seen.push({ id: inc.id, flaps: inc.flaps, status: inc.status });
      if (inc.status !== 'escalated') store.update(inc.id, { status: 'resolved', resolution: 'restarted' });
      clock.advanceMinutes(5);
    }
    expect(seen.map(({ flaps, status }) => [flaps, status])).toEqual([[0, 'open'], [1, 'open'], [2, 'open'], [3, 'escalated']]);
    expect(new Set(seen.map((s) => s.id)).size).toBe(4);
    expect(store.get(seen[3]!.id)!.resolution).toBe('flapping: 3 re-openings within the cooldown');
    expect(woken).toEqual(seen.slice(0, 3).map((s) => s.id));
  });

  it('counts the late repeats of an occurrence on the incident it opened, even after that closed, within the cooldown', () => {
    const { intake, store, woken, clock } = world({ cooldownMinutes: 10 });
    const storm = { ...on('web-1'), startsAt: clock.now.toISOString() };
    const [first] = intake.ingest([storm]).incidentIds;
    clock.advanceMinutes(1);
    store.update(first!, { status: 'resolved', resolution: 'verified healthy' });
    clock.advanceMinutes(1);
    const later = [0, 1, 2].map(() => intake.ingest([storm]).incidentIds[0]);
    expect(later).toEqual([first, first, first]);
    expect(store.list()).toHaveLength(1);
    expect(store.get(first!)).toMatchObject({ status: 'resolved', alertCount: 4 });
    expect(woken).toEqual([first]);
    // A new occurrence (it started after the close) is a new incident, and a flap.
    const [again] = intake.ingest([{ ...storm, startsAt: clock.now.toISOString() }]).incidentIds;
    expect(again).not.toBe(first);
    expect(store.get(again!)!.flaps).toBe(1);
  });

  it('opens a new incident for a still-firing occurrence once the cooldown has passed', () => {
    const { intake, store, clock } = world({ cooldownMinutes: 10 });
    const storm = { ...on('web-1'), startsAt: clock.now.toISOString() };
    const [first] = intake.ingest([storm]).incidentIds;
    store.update(first!, { status: 'resolved' });
    clock.advanceMinutes(11);
    expect(intake.ingest([storm]).incidentIds[0]).not.toBe(first);
  });

  it('does not count a re-opening after the cooldown as flapping', () => {
    const { intake, store, clock } = world({ cooldownMinutes: 10 });
    const [first] = intake.ingest([on('web-1')]).incidentIds;
    store.update(first!, { status: 'resolved' });
    clock.advanceMinutes(11);
    const [second] = intake.ingest([on('web-1')]).incidentIds;
    expect(second).not.toBe(first);
    expect(store.get(second!)!.flaps).toBe(0);
  });

  it('makes web incidents wait on an open db incident instead of waking the runner', () => {
    const { intake, store, woken } = world();
    const [db] = intake.ingest([on('db')]).incidentIds;
    const [web1] = intake.ingest([on('web-1')]).incidentIds;
    const [web2] = intake.ingest([on('web-2')]).incidentIds;
    for (const id of [web1, web2]) expect(store.get(id!)).toMatchObject({ status: 'waiting_dependency', parentId: db });
    expect(woken).toEqual([db]);
    expect(dependentsOf(store, db!).map((i) => i.id).sort()).toEqual([web1, web2].sort());
  });

  it('re-parents open web incidents onto a db incident that opens after them', () => {
    const { intake, store, woken } = world();
    const [web1] = intake.ingest([on('web-1')]).incidentIds;
    const [web2] = intake.ingest([on('web-2')]).incidentIds;
    const [db] = intake.ingest([on('db')]).incidentIds;
    for (const id of [web1, web2]) expect(store.get(id!)).toMatchObject({ status: 'waiting_dependency', parentId: db });
    expect(store.get(db!)).toMatchObject({ status: 'open', parentId: null });
    expect(woken).toEqual([web1, web2, db]);
    expect(store.timeline(web1!).at(-1)!.summary).toMatch(new RegExp(`waiting on ${db}`));
  });

  it('only links a dependent already being worked on, leaving its status to the runner', () => {
    const { intake, store } = world();
    const [web1] = intake.ingest([on('web-1')]).incidentIds;
    store.update(web1!, { status: 'investigating' });
    const [db] = intake.ingest([on('db')]).incidentIds;
    expect(store.get(web1!)).toMatchObject({ status: 'investigating', parentId: db });
    expect(dependentsOf(store, db!)).toEqual([]);
  });

  it('chains waits: lb waits on a waiting web incident, not on db', () => {
    const { intake, store } = world();
    const [db] = intake.ingest([on('db')]).incidentIds;
    const [web1] = intake.ingest([on('web-1')]).incidentIds;
    const [lb] = intake.ingest([on('lb')]).incidentIds;
    expect(store.get(lb!)).toMatchObject({ status: 'waiting_dependency', parentId: web1 });
    expect(store.get(web1!)!.parentId).toBe(db);
  });

  it('reports each touched incident once per batch, in order', () => {
    const { intake } = world();
    const { incidentIds } = intake.ingest([on('web-1'), on('web-1'), on('web-2'), on('web-1')]);
    expect(incidentIds).toHaveLength(2);
  });
});
