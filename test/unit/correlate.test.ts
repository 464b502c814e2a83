// Correlation on a real SQLite store and the example inventory (lb -> web-1, web-2 -> db).
import { describe, expect, it } from 'vitest';
import { dependentsOf, instanceHost, resolveWhere } from '../../src/loop/correlate.js';
import { RESOLVED_BEFORE_ACTING, RESOLVED_UNSEEN, RESOLVED_WHILE_WORKING } from '../../src/loop/intake.js';
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

  it.each(['work', 'verify', 'hold'] as const)('resolves on its own alert\'s resolve while work is under way (%s), and tells the runner to stop', (event) => {
    const { intake, store, closed } = world();
    const [id] = intake.ingest([on('web-1')]).incidentIds;
    const status = store.transition(id!, event, 'the loop works on it', event === 'hold' ? { waitingOn: 'apr_1' } : {}).status;
    intake.ingest([{ ...on('web-1'), status: 'resolved' }]);
    expect(store.get(id!)).toMatchObject({ status: 'resolved', waitingOn: null, resolution: `${RESOLVED_WHILE_WORKING} (it was ${status}); what had not run was cancelled` });
    expect(closed).toEqual([{ id, reason: 'generic reports it resolved' }]);
  });

  it('only notes the resolve of another alert on the same target', () => {
    const { intake, store, closed } = world();
    const [id] = intake.ingest([on('web-1')]).incidentIds;
    intake.ingest([{ ...on('web-1'), fingerprint: 'fp-other', status: 'resolved' }]);
    expect(store.get(id!)!.status).toBe('open');
    expect(store.timeline(id!).at(-1)).toMatchObject({ kind: 'note', summary: expect.stringMatching(/reports resolved.*stays open/) });
    expect(closed).toEqual([]);
  });

  it('records a resolve that arrives before its firing, and never acts on the late firing of that occurrence', () => {
    const { intake, store, woken, clock } = world({ cooldownMinutes: 10 });
    const startedAt = clock.now.toISOString();
    clock.advanceMinutes(1);
    const [id] = intake.ingest([{ ...on('web-1'), status: 'resolved', startsAt: startedAt }]).incidentIds;
    expect(store.get(id!)).toMatchObject({ status: 'resolved', resolution: RESOLVED_UNSEEN });
    clock.advanceMinutes(1);
    // The firing of the same occurrence (it started before the resolve), delivered late.
    expect(intake.ingest([{ ...on('web-1'), startsAt: startedAt }]).incidentIds).toEqual([id]);
    expect(store.list()).toHaveLength(1);
    expect(store.get(id!)).toMatchObject({ status: 'resolved', alertCount: 2 });
    expect(woken).toEqual([]);
  });

  it('acts on a new occurrence after a resolve seen first, without counting that as a flap', () => {
    const { intake, store, woken, clock } = world({ cooldownMinutes: 10 });
    intake.ingest([{ ...on('web-1'), status: 'resolved' }]);
    clock.advanceMinutes(1);
    const [id] = intake.ingest([{ ...on('web-1'), startsAt: clock.now.toISOString() }]).incidentIds;
    expect(store.get(id!)).toMatchObject({ status: 'open', flaps: 0 });
    expect(woken).toEqual([id]);
  });

  it('changes nothing for a resolve of an incident that already closed within the cooldown', () => {
    const { intake, store } = world({ cooldownMinutes: 10 });
    const [id] = intake.ingest([on('web-1')]).incidentIds;
    store.transition(id!, 'resolve', 'restarted', { resolution: 'restarted' });
    expect(intake.ingest([{ ...on('web-1'), status: 'resolved' }]).incidentIds).toEqual([]);
    expect(store.list()).toHaveLength(1);
  });

  it('reopens a fingerprint that closed within the cooldown as a new incident, counting flaps, and escalates at the limit', () => {
    const { intake, store, woken, clock } = world({ cooldownMinutes: 10, flapLimit: 3 });
    const seen: Array<{ id: string; flaps: number; status: string }> = [];
    for (let i = 0; i < 4; i += 1) {
      // Each failure is a new occurrence: it started after the previous incident closed.
      const [id] = intake.ingest([{ ...on('web-1'), startsAt: clock.now.toISOString() }]).incidentIds;
      const inc = store.get(id!)!;
      seen.push({ id: inc.id, flaps: inc.flaps, status: inc.status });
      if (inc.status !== 'escalated') store.transition(inc.id, 'resolve', 'restarted', { resolution: 'restarted' });
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
    store.transition(first!, 'resolve', 'verified healthy', { resolution: 'verified healthy' });
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

  it('counts a new failure of a target escalated within the cooldown on that incident: one escalation per target', () => {
    const { intake, store, woken, clock } = world({ cooldownMinutes: 10 });
    const [first] = intake.ingest([{ ...on('web-1'), startsAt: clock.now.toISOString() }]).incidentIds;
    store.transition(first!, 'escalate', 'segfault: a human has it', { resolution: 'escalated: segfault' });
    for (let i = 0; i < 3; i += 1) {
      clock.advanceMinutes(2);
      // A new crash each time (a later start), from Docker's events or a monitor: same target.
      const fingerprint = i % 2 === 0 ? 'fp:web-1' : 'docker:local/web-1';
      expect(intake.ingest([{ ...on('web-1', fingerprint), startsAt: clock.now.toISOString() }]).incidentIds).toEqual([first]);
    }
    expect(store.list()).toHaveLength(1);
    expect(store.get(first!)).toMatchObject({ status: 'escalated', alertCount: 4 });
    expect(woken).toEqual([first]);
    clock.advanceMinutes(11);
    expect(intake.ingest([{ ...on('web-1'), startsAt: clock.now.toISOString() }]).incidentIds[0]).not.toBe(first);
  });

  it('keeps memory per target across sources: a monitor\'s late report of a failure Docker already reported joins its incident', () => {
    const { intake, store, woken, clock } = world({ cooldownMinutes: 10 });
    const startsAt = clock.now.toISOString();
    const [fromDocker] = intake.ingest([{ ...on('web-1', 'docker:local/web-1'), startsAt }]).incidentIds;
    clock.advanceMinutes(1);
    store.transition(fromDocker!, 'resolve', 'restarted; verified', { resolution: 'restarted; verified' });
    clock.advanceMinutes(0.1);
    // Alertmanager saw the same failure (it started before the close) under its own fingerprint.
    expect(intake.ingest([{ ...on('web-1', 'am:ContainerDown:web-1'), startsAt }]).incidentIds).toEqual([fromDocker]);
    expect(woken).toEqual([fromDocker]);
    // A new failure of the target from the monitor is a re-opening of that target: a flap.
    const [again] = intake.ingest([{ ...on('web-1', 'am:ContainerDown:web-1'), startsAt: clock.now.toISOString() }]).incidentIds;
    expect(again).not.toBe(fromDocker);
    expect(store.get(again!)!.flaps).toBe(1);
  });

  it('opens a new incident for a still-firing occurrence once the cooldown has passed', () => {
    const { intake, store, clock } = world({ cooldownMinutes: 10 });
    const storm = { ...on('web-1'), startsAt: clock.now.toISOString() };
    const [first] = intake.ingest([storm]).incidentIds;
    store.transition(first!, 'resolve', 'verified healthy');
    clock.advanceMinutes(11);
    expect(intake.ingest([storm]).incidentIds[0]).not.toBe(first);
  });

  it('does not count a re-opening after the cooldown as flapping', () => {
    const { intake, store, clock } = world({ cooldownMinutes: 10 });
    const [first] = intake.ingest([on('web-1')]).incidentIds;
    store.transition(first!, 'resolve', 'verified healthy');
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

  it('adopts a dependent being investigated that has not acted yet, whatever order the alerts came in', () => {
    const { intake, store } = world();
    const [web1] = intake.ingest([on('web-1')]).incidentIds;
    store.transition(web1!, 'work', 'Claude investigates');
    const [db] = intake.ingest([on('db')]).incidentIds;
    expect(store.get(web1!)).toMatchObject({ status: 'waiting_dependency', parentId: db });
    expect(dependentsOf(store, db!).map((i) => i.id)).toEqual([web1]);
  });

  it('only links a dependent that already acted, leaving its status to the runner', () => {
    const { intake, store } = world();
    const [web1] = intake.ingest([on('web-1')]).incidentIds;
    store.transition(web1!, 'verify', 'restarted web-1', { attempts: 1 });
    const [db] = intake.ingest([on('db')]).incidentIds;
    expect(store.get(web1!)).toMatchObject({ status: 'verifying', parentId: db });
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
