// Validated fixes in the store: only a resolved incident with a resolution can be validated, by a
// person (never a reserved principal, in any letter case), once; the validation and its audit entry
// commit together or not at all; a withdrawal clears it; retention keeps validated incidents; search
// boosts a validated fix among equally relevant ones, never above a clearly better match.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { AuditLog } from '../../src/store/audit.js';
import { ValidationRefused } from '../../src/store/incident-validation.js';
import { VALIDATED_BOOST } from '../../src/store/incidents.js';
import { pruneBatch } from '../../src/store/retention.js';
import { alert, useIncidentWorld } from '../support/incidents.js';
import { tempDir } from '../support/processes.js';

const world = useIncidentWorld();
const WHERE = { target: 'local/db', host: 'local', container: 'db', service: 'db' };

function setup() {
  const w = world();
  const audit = new AuditLog(w.db, join(tempDir('validate'), 'warden.db.head'));
  const open = (fingerprint: string) => w.store.create(alert({ fingerprint, summary: `${fingerprint} exited with code 137` }), WHERE);
  const resolved = (fingerprint: string, resolution = 'raised the memory limit to 2g') => {
    const i = open(fingerprint);
    return w.store.transition(i.id, 'resolve', resolution, { resolution });
  };
  const entries = (tool: string) => audit.list({ limit: 100 }).filter((e) => e.tool === tool);
  return { ...w, audit, open, resolved, entries };
}

const refusal = (fn: () => unknown): ValidationRefused => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationRefused) return err;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('IncidentStore.validate', () => {
  it('records who validated a resolved incident, when, and the note, with one incident.validate entry', () => {
    const { store, audit, resolved, entries } = setup();
    const inc = resolved('a');
    const after = store.validate(inc.id, { by: 'alice', note: '  right fix: the nightly batch needs 2g  ', transport: 'cli' }, audit);
    expect(after).toMatchObject({ validatedBy: 'alice', validatedAt: expect.stringMatching(/^2026-11-23T/), validatedNote: 'right fix: the nightly batch needs 2g', status: 'resolved' });
    expect(after.updatedAt).toBe(inc.updatedAt);
    expect(entries('incident.validate')).toEqual([expect.objectContaining({
      principal: 'alice', transport: 'cli', target: inc.id, incidentId: inc.id, phase: 'completed',
      args: JSON.stringify({ incidentId: inc.id, note: 'right fix: the nightly batch needs 2g', resolution: 'raised the memory limit to 2g' }),
    })]);
    expect(audit.verify().ok).toBe(true);
  });

  it.each([
    ['open', (s: ReturnType<typeof setup>) => s.open('o').id, 'state', /is still open: a fix can be validated once the incident is resolved/],
    ['escalated', (s: ReturnType<typeof setup>) => s.store.transition(s.open('e').id, 'escalate', 'gave up', { resolution: 'escalated: gave up' }).id, 'state', /was escalated, not resolved/],
    ['unknown', () => 'inc_0000000000', 'unknown', /no incident inc_0000000000/],
  ] as const)('refuses a(n) %s incident, naming why, and writes nothing', (_name, make, reason, message) => {
    const s = setup();
    const id = make(s);
    const err = refusal(() => s.store.validate(id, { by: 'alice', note: 'looks right', transport: 'cli' }, s.audit));
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
    expect(s.entries('incident.validate')).toEqual([]);
    expect(s.store.get(id)?.validatedAt ?? null).toBeNull();
  });

  it('refuses a resolved incident without a resolution: there is nothing to confirm', () => {
    const { store, audit, open, entries } = setup();
    const inc = store.transition(open('n').id, 'resolve', 'resolved by the source');
    expect(refusal(() => store.validate(inc.id, { by: 'alice', note: 'ok', transport: 'cli' }, audit)).message).toMatch(/no resolution recorded/);
    expect(entries('incident.validate')).toEqual([]);
  });

  it.each(['loop', 'loop-n1', 'chaos', 'warden', 'Loop', ' LOOP-N1 ', 'Warden'])('never lets reserved principal %j validate', (by) => {
    const { store, audit, resolved, entries } = setup();
    const inc = resolved('r');
    const err = refusal(() => store.validate(inc.id, { by, note: 'I fixed it myself', transport: 'console' }, audit));
    expect(err).toMatchObject({ reason: 'input', message: expect.stringMatching(/reserved for warden itself; only a person validates/) });
    expect(store.get(inc.id)!.validatedAt).toBeNull();
    expect(entries('incident.validate')).toEqual([]);
  });

  it.each([
    ['an empty note', { note: '   ' }, /note: required/],
    ['a note over 1000 characters', { note: 'x'.repeat(1_001) }, /note: at most 1000 characters/],
    ['an empty name', { by: ' ' }, /by: expected a person's name/],
    ['a name with a control character', { by: 'ali\u001bce' }, /by: expected a person's name/],
  ])('refuses %s, naming the field', (_name, over, message) => {
    const { store, audit, resolved } = setup();
    const inc = resolved('i');
    expect(refusal(() => store.validate(inc.id, { by: 'alice', note: 'ok', transport: 'cli', ...over }, audit))).toMatchObject({ reason: 'input', message: expect.stringMatching(message) });
  });

  it('redacts a secret pasted into the note before it is stored or audited', () => {
    const { store, audit, resolved, entries } = setup();
    const inc = resolved('s');
    const after = store.validate(inc.id, { by: 'alice', note: 'fixed; DB_PASSWORD=hunter2hunter2 was wrong', transport: 'cli' }, audit);
    expect(after.validatedNote).toBe('fixed; DB_PASSWORD=[REDACTED] was wrong');
    expect(entries('incident.validate')[0]!.args).not.toContain('hunter2');
  });

  it('refuses a second validation naming the first, until it is withdrawn; the withdrawal is audited', () => {
    const { store, audit, resolved, entries } = setup();
    const inc = resolved('t');
    store.validate(inc.id, { by: 'alice', note: 'right fix', transport: 'cli' }, audit);
    const err = refusal(() => store.validate(inc.id, { by: 'bob', note: 'also right', transport: 'console' }, audit));
    expect(err).toMatchObject({ reason: 'state', message: expect.stringMatching(/already validated by alice at .*; withdraw that first/) });
    expect(store.get(inc.id)!.validatedBy).toBe('alice');

    expect(store.unvalidate(inc.id, { by: 'bob', reason: 'it came back the next night', transport: 'console' }, audit))
      .toMatchObject({ validatedBy: null, validatedAt: null, validatedNote: null });
    expect(entries('incident.unvalidate')).toEqual([expect.objectContaining({ principal: 'bob', transport: 'console', incidentId: inc.id })]);
    expect(JSON.parse(entries('incident.unvalidate')[0]!.args)).toMatchObject({ reason: 'it came back the next night', was: { by: 'alice', note: 'right fix' } });
    expect(refusal(() => store.unvalidate(inc.id, { by: 'bob', reason: 'again', transport: 'cli' }, audit))).toMatchObject({ reason: 'state', message: expect.stringMatching(/is not validated: nothing to withdraw/) });
    expect(store.validate(inc.id, { by: 'bob', note: 'right after all', transport: 'cli' }, audit).validatedBy).toBe('bob');
    expect(entries('incident.validate')).toHaveLength(2);
  });

  it('never lets a reserved principal withdraw a validation either', () => {
    const { store, audit, resolved } = setup();
    const inc = resolved('w');
    store.validate(inc.id, { by: 'alice', note: 'right fix', transport: 'cli' }, audit);
    expect(refusal(() => store.unvalidate(inc.id, { by: 'loop', reason: 'mine is better', transport: 'cli' }, audit)).reason).toBe('input');
    expect(store.get(inc.id)!.validatedBy).toBe('alice');
  });

  it('writes nothing when its audit entry cannot be written: the two commit together', () => {
    const { db, store, audit, resolved, entries } = setup();
    const inc = resolved('x');
    db.exec(`CREATE TEMP TRIGGER refuse_validate BEFORE INSERT ON audit WHEN new.tool = 'incident.validate' BEGIN SELECT RAISE(ABORT, 'audit refused'); END`);
    expect(() => store.validate(inc.id, { by: 'alice', note: 'right fix', transport: 'cli' }, audit)).toThrow(/audit refused/);
    expect(store.get(inc.id)!.validatedAt).toBeNull();
    db.exec('DROP TRIGGER refuse_validate');
    store.validate(inc.id, { by: 'alice', note: 'right fix', transport: 'cli' }, audit);
    expect(entries('incident.validate')).toHaveLength(1);
    expect(audit.verify().ok).toBe(true);
  });
});

describe('search and retention of validated fixes', () => {
  it('ranks a validated fix above an otherwise equal one, and says so', () => {
    const { store, audit, resolved } = setup();
    const older = resolved('web', 'raised the memory limit');
    const newer = resolved('web', 'raised the memory limit');
    // Equal relevance: the newest first, until a person validates the older.
    expect(store.search('web 137 memory', 10).map((i) => i.id)).toEqual([newer.id, older.id]);
    store.validate(older.id, { by: 'alice', note: 'right fix', transport: 'cli' }, audit);
    const found = store.search('web 137 memory', 10);
    expect(found.map((i) => i.id)).toEqual([older.id, newer.id]);
    expect(found[0]).toMatchObject({ validated: true, validation: { by: 'alice', at: expect.any(String), note: 'right fix' } });
    expect(found[1]).toEqual(expect.objectContaining({ validated: false }));
    expect(found[1]).not.toHaveProperty('validation');
  });

  it(`never ranks a validated fix above one that matches the words clearly better (boost ${VALIDATED_BOOST})`, () => {
    const { store, audit, resolved } = setup();
    const weak = resolved('db', 'restarted it');
    const strong = resolved('db oom exit 137 oom', 'raised the memory limit; oom exit 137 gone');
    store.validate(weak.id, { by: 'alice', note: 'restart was enough', transport: 'cli' }, audit);
    expect(store.search('db oom 137', 10).map((i) => [i.id, i.validated])).toEqual([[strong.id, false], [weak.id, true]]);
  });

  it('does not rank a validated fix sharing one common word above one matching every word', () => {
    const { store, audit } = setup();
    const exact = store.transition(store.create(alert({ fingerprint: 'a', summary: 'web-1 exited with code 137' }), WHERE).id,
      'resolve', 'raised the memory limit', { resolution: 'raised the memory limit' });
    const nowhere = { target: null, host: null, container: null, service: null };
    const other = store.transition(store.create(alert({ fingerprint: 'b', summary: 'backup finished with warnings' }), nowhere).id,
      'resolve', 'nothing to do', { resolution: 'nothing to do' });
    store.validate(other.id, { by: 'alice', note: 'fine', transport: 'cli' }, audit);
    expect(store.search('web-1 exited with code 137', 10).map((i) => i.id)).toEqual([exact.id, other.id]);
  });

  // The loop asks search(`${title} ${target}`, 6) for similar past incidents (src/loop/loop-service.ts).
  // Every incident on host "local" shares the word "local" with that query: validated fixes of
  // unrelated failures there must not push the exact earlier match out of the prompt.
  it("keeps the exact earlier match in the loop's similar incidents when unrelated fixes on the host are validated", () => {
    const { store, audit } = setup();
    const on = (container: string) => ({ target: `local/${container}`, host: 'local', container, service: container });
    const fixed = (container: string, summary: string, resolution: string): string =>
      store.transition(store.create(alert({ fingerprint: `fp:${container}`, summary }), on(container)).id, 'resolve', resolution, { resolution }).id;
    const exact = fixed('web-1', 'web-1 exited with code 137', 'raised web-1 memory limit to 1g');
    const unrelated = [
      fixed('db', 'db disk full on /var/lib/postgresql', 'pruned WAL archives'),
      fixed('cache', 'cache evictions above threshold', 'raised maxmemory'),
      fixed('lb', 'nginx config test failed', 'reverted the upstream edit'),
      fixed('queue', 'queue backlog growing', 'scaled consumers'),
      fixed('cron', 'cron job missed its schedule', 'restarted crond'),
      fixed('dns', 'dns resolution slow', 'restarted resolver'),
    ];
    for (const id of unrelated) store.validate(id, { by: 'alice', note: 'right fix', transport: 'cli' }, audit);
    expect(store.search('web-1 exited with code 137 local/web-1', 6)[0]!.id).toBe(exact);
  });

  it('keeps a validated incident past the retention cutoff; a withdrawn one goes', () => {
    const { db, store, audit, resolved, clock } = setup();
    const kept = resolved('k');
    const gone = resolved('g');
    store.validate(kept.id, { by: 'alice', note: 'right fix', transport: 'cli' }, audit);
    clock.advanceMinutes(60);
    const cut = { alertsBefore: clock.now.toISOString(), incidentsBefore: clock.now.toISOString(), outcomesBefore: clock.now.toISOString() };
    expect(pruneBatch(db, cut).incidents).toBe(1);
    expect(store.get(gone.id)).toBeUndefined();
    expect(store.get(kept.id)).toBeDefined();
    store.unvalidate(kept.id, { by: 'alice', reason: 'wrong after all', transport: 'cli' }, audit);
    expect(pruneBatch(db, cut).incidents).toBe(1);
    expect(store.get(kept.id)).toBeUndefined();
  });
});
