// Silences match alerts the way Alertmanager does (every matcher must hold, regexes match whole
// values), only while active, and every change is an audit entry in the same transaction.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/shared/durations.js';
import { matchesAll, parseMatcher, renderMatchers, targetGlobRegex, type LabelMatcher } from '../../src/shared/label-matchers.js';
import { AuditLog } from '../../src/store/audit.js';
import { openDb } from '../../src/store/db.js';
import { SilenceStore, silenceProblem, type SilenceSubject } from '../../src/store/silences.js';
import { tempDir } from '../support/processes.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;
const at = (ms: number): Date => new Date(NOW.getTime() + ms);

function world() {
  const dir = tempDir('silences');
  const db = openDb(join(dir, 'data'));
  const audit = new AuditLog(db, join(dir, 'data', 'warden.db.head'));
  return { db, audit, store: new SilenceStore(db, audit) };
}

const m = (text: string): LabelMatcher => {
  const r = parseMatcher(text);
  if ('problem' in r) throw new Error(r.problem);
  return r.matcher;
};

const subject = (over: Partial<SilenceSubject> = {}): SilenceSubject => ({
  target: 'local/web-1', service: 'web', labels: { alertname: 'HighLatency', severity: 'warning', env: 'prod' }, ...over,
});

const valueOf = (s: SilenceSubject) => (name: string): string =>
  name === 'target' ? s.target ?? '' : name === 'service' ? s.service ?? '' : s.labels[name] ?? '';

describe('matchers', () => {
  it.each([
    ['alertname=HighLatency', true],
    ['alertname=Other', false],
    ['alertname!=Other', true],
    ['alertname!=HighLatency', false],
    ['alertname=~High.*', true],
    ['alertname=~High', false],
    ['alertname=~"Low|HighLatency"', true],
    ['alertname!~High.*', false],
    ['alertname!~Low.*', true],
    ['missing=', true],
    ['missing!=', false],
    ['severity=~warn', false],
    ['service=web', true],
    ['service=~we', false],
    ['target=local/web-1', true],
    ['env = prod', true],
  ])('%s holds: %s', (text, expected) => {
    expect(matchesAll([m(text)], valueOf(subject()))).toBe(expected);
  });

  it('requires every matcher to hold', () => {
    expect(matchesAll([m('service=web'), m('env=prod')], valueOf(subject()))).toBe(true);
    expect(matchesAll([m('service=web'), m('env=staging')], valueOf(subject()))).toBe(false);
  });

  it.each([
    ['alertname', /not a matcher/],
    ['1x=a', /not a matcher/],
    ['a=~(', /a=~: not a regular expression warden runs/],
    ['a!~(?=x)', /a!~: not a regular expression warden runs/],
    ['a=~x)|(y', /not a regular expression/],
    ['a=~\\p{L}+', /unicode property classes/],
    ['a="unterminated', /quoted value/],
    [`a=${'x'.repeat(300)}`, /longer than 256/],
  ])('refuses %s', (text, why) => {
    const r = parseMatcher(text);
    expect('problem' in r && r.problem).toMatch(why);
  });

  it('renders matchers as Alertmanager prints them', () => {
    expect(renderMatchers([m('service=web'), m('alertname=~"A|B"')])).toBe('{service="web", alertname=~"A|B"}');
  });
});

describe('target globs', () => {
  const matches = (glob: string, target: string) => matchesAll([{ name: 'target', op: '=~', value: targetGlobRegex(glob) }], () => target);

  it.each([
    ['web-*', 'local/web-1', true],
    ['web-*', 'gpu1/web-2', true],
    ['web-*', 'web-3', true],
    ['web-*', 'local/db', false],
    ['web-*', 'local/myweb-1', false],
    ['local/web-*', 'local/web-1', true],
    ['local/web-*', 'edge/web-1', false],
    ['*/db', 'local/db', true],
    ['*', 'anything/at-all', true],
    ['web-?', 'local/web-1', true],
    ['web-?', 'local/web-10', false],
    ['web.1', 'local/webx1', false],
    ['web.1', 'local/web.1', true],
  ])('%s on %s: %s', (glob, target, expected) => {
    expect(matches(glob, target)).toBe(expected);
  });
});

describe('durations', () => {
  it.each([
    ['90m', 90 * 60_000], ['2h', 2 * HOUR], ['1h30m', 90 * 60_000], ['3d', 72 * HOUR], ['1w', 168 * HOUR], ['0h', 0],
    ['-2h', undefined], ['1.5h', undefined], ['2 hours', undefined], ['10s', undefined], ['', undefined],
  ])('%s is %s ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });
});

describe('SilenceStore', () => {
  it('matches an alert while the silence is active, and not after it ends', () => {
    const { store } = world();
    const s = store.add({ matchers: [m('service=web')], endsAt: at(2 * HOUR), reason: 'deploy', by: 'alice' }, NOW);
    expect(s.id).toMatch(/^sil_[A-Za-z0-9_-]{12}$/);
    expect(store.matching(subject(), at(HOUR))?.id).toBe(s.id);
    expect(store.matching(subject({ service: 'db' }), at(HOUR))).toBeUndefined();
    expect(store.matching(subject(), at(2 * HOUR))).toBeUndefined();
    expect(store.matching(subject(), new Date(NOW.getTime() - 1))).toBeUndefined();
  });

  it('reads target and service from the subject, not from labels of those names', () => {
    const { store } = world();
    store.add({ matchers: [m('service=web')], endsAt: at(HOUR), reason: 'r', by: 'a' }, NOW);
    expect(store.matching(subject({ service: null, labels: { service: 'web' } }), NOW)).toBeUndefined();
  });

  it('matches a target glob with and without a host', () => {
    const { store } = world();
    const anyHost = store.add({ matchers: [{ name: 'target', op: '=~', value: targetGlobRegex('web-*') }], endsAt: at(HOUR), reason: 'r', by: 'a' }, NOW);
    expect(store.matching(subject({ target: 'edge/web-9' }), NOW)?.id).toBe(anyHost.id);
    expect(store.matching(subject({ target: 'edge/db' }), NOW)).toBeUndefined();
    expect(store.matching(subject({ target: null }), NOW)).toBeUndefined();
  });

  it('gives the oldest of several matching silences', () => {
    const { store } = world();
    const first = store.add({ matchers: [m('env=prod')], endsAt: at(HOUR), reason: 'r', by: 'a' }, NOW);
    store.add({ matchers: [m('service=web')], endsAt: at(HOUR), reason: 'r', by: 'a' }, at(1));
    expect(store.matching(subject(), at(2))?.id).toBe(first.id);
  });

  it('stops matching once removed, and removes only an active silence once', () => {
    const { store } = world();
    const s = store.add({ matchers: [m('service=web')], endsAt: at(HOUR), reason: 'r', by: 'alice' }, NOW);
    expect(store.remove(s.id, 'bob', at(1))).toBe(true);
    expect(store.remove(s.id, 'bob', at(2))).toBe(false);
    expect(store.remove('sil_nope', 'bob', at(2))).toBe(false);
    expect(store.matching(subject(), at(3))).toBeUndefined();
    expect(store.get(s.id)).toMatchObject({ removedBy: 'bob', removedAt: at(1).toISOString() });
    const expired = store.add({ matchers: [m('service=web')], endsAt: at(HOUR), reason: 'r', by: 'alice' }, NOW);
    expect(store.remove(expired.id, 'bob', at(HOUR))).toBe(false);
  });

  it('lists active silences, or every one with all', () => {
    const { store } = world();
    const ended = store.add({ matchers: [m('a=1')], endsAt: at(HOUR), reason: 'r', by: 'a' }, NOW);
    const removed = store.add({ matchers: [m('a=2')], endsAt: at(3 * HOUR), reason: 'r', by: 'a' }, at(1));
    const live = store.add({ matchers: [m('a=3')], endsAt: at(3 * HOUR), reason: 'r', by: 'a' }, at(2));
    store.remove(removed.id, 'a', at(3));
    expect(store.list({}, at(2 * HOUR)).map((s) => s.id)).toEqual([live.id]);
    expect(store.list({ all: true }, at(2 * HOUR)).map((s) => s.id)).toEqual([live.id, removed.id, ended.id]);
  });

  it('audits each add and remove, and the chain stays intact', () => {
    const { store, audit } = world();
    const s = store.add({ matchers: [m('service=web'), m('env=~prod|staging')], endsAt: at(HOUR), reason: 'deploy', by: 'alice' }, NOW);
    store.remove(s.id, 'bob', at(1));
    const entries = audit.list();
    expect(entries.map((e) => [e.tool, e.principal, e.transport, e.phase, e.target])).toEqual([
      ['silence.add', 'alice', 'cli', 'completed', '{service="web", env=~"prod|staging"}'],
      ['silence.remove', 'bob', 'cli', 'completed', '{service="web", env=~"prod|staging"}'],
    ]);
    expect(JSON.parse(entries[0]!.args)).toMatchObject({ id: s.id, reason: 'deploy', createdBy: 'alice', removedAt: null });
    expect(JSON.parse(entries[1]!.args)).toMatchObject({ id: s.id, removedBy: 'bob' });
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 2 });
  });

  it('writes neither the silence nor an entry when the audit append fails', () => {
    const { store, audit, db } = world();
    db.exec(`CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit down'); END;`);
    expect(() => store.add({ matchers: [m('service=web')], endsAt: at(HOUR), reason: 'r', by: 'a' }, NOW)).toThrow(/audit down/);
    expect(store.list({ all: true })).toEqual([]);
    expect(audit.list()).toEqual([]);
  });

  it.each([
    [{ matchers: [] }, 'matchers', /at least one matcher/],
    [{ matchers: [m('missing=')] }, 'matchers', /matches alerts without any labels/],
    [{ matchers: [m('a=~.*')] }, 'matchers', /matches alerts without any labels/],
    [{ matchers: [{ name: 'a', op: '=~', value: '(' }] }, 'matchers', /a=~: not a regular expression/],
    [{ endsAt: NOW }, 'endsAt', /not in the future/],
    [{ endsAt: at(31 * 24 * HOUR) }, 'endsAt', /more than 30 days/],
    [{ reason: '  ' }, 'reason', /needs a reason/],
  ] as const)('refuses %j naming %s', (over, field, why) => {
    const base = { matchers: [m('service=web')], endsAt: at(HOUR), reason: 'r', by: 'a' };
    const p = silenceProblem({ ...base, ...over } as typeof base, NOW);
    expect(p?.field).toBe(field);
    expect(p?.problem).toMatch(why);
  });

  it('refuses an invalid silence in add, writing nothing', () => {
    const { store, audit } = world();
    expect(() => store.add({ matchers: [{ name: 'a', op: '=~', value: '(' }], endsAt: at(HOUR), reason: 'r', by: 'a' }, NOW)).toThrow(/matchers: a=~/);
    expect(store.list({ all: true })).toEqual([]);
    expect(audit.list()).toEqual([]);
  });
});
