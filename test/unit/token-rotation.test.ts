// Several tokens per principal: rotation with an overlap on an injected clock, revocation by id or
// principal, the default lifetime, the expiry warnings, and migration 20 keeping existing tokens.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueToken, parseExpiry, parseOverlap, revokeToken, rotateToken } from '../../src/server/auth.js';
import { AuditLog } from '../../src/store/audit.js';
import { migrate, openDb } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { TokenStore, expiresSoon, expiryWarning, type TokenRecord } from '../../src/store/tokens.js';
import { MAX_LIFETIME_MS, sortableIso } from '../../src/shared/durations.js';
import { tempDir } from '../support/processes.js';

const DAY = 86_400_000;
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

function world(opts: ConstructorParameters<typeof TokenStore>[1] = {}) {
  const db = openDb(join(tempDir('tokens'), 'data'));
  const audit = new AuditLog(db, null);
  return { db, audit, tokens: new TokenStore(db, opts), deps: { tokens: new TokenStore(db, opts), audit } };
}

describe('several tokens per principal', () => {
  it('keeps two active tokens of one principal, each with its own id, both accepted', () => {
    const { tokens } = world();
    const a = tokens.create('alice', 'operator', null, T0);
    const b = tokens.create('alice', 'operator', null, T0);
    expect(a.record.id).not.toBe(b.record.id);
    expect(tokens.check(a.token, T0)).toMatchObject({ ok: true, token: { id: a.record.id, name: 'alice' } });
    expect(tokens.check(b.token, T0)).toMatchObject({ ok: true, token: { id: b.record.id, name: 'alice' } });
  });

  it('gives a token 90 days by default, and none with never', () => {
    const w = world();
    expect(issueToken(w.deps, { principal: 'ci', role: 'readonly', by: 't' }, T0).record.expiresAt).toBe(at(90 * DAY).toISOString());
    expect(issueToken(w.deps, { principal: 'ci', role: 'readonly', expiresInMs: parseExpiry('never'), by: 't' }, T0).record.expiresAt).toBeNull();
    expect(parseExpiry('12h')).toBe(43_200_000);
  });

  it('rotates: the old token works until the overlap ends, then is refused as expired; the new one keeps role and lifetime', () => {
    const w = world();
    const old = issueToken(w.deps, { principal: 'ci', role: 'operator', expiresInMs: 30 * DAY, by: 't' }, T0);
    const rotated = rotateToken(w.deps, { principal: 'ci', overlapMs: parseOverlap('1h'), by: 'bob' }, at(DAY));
    expect(rotated.record).toMatchObject({ name: 'ci', role: 'operator', expiresAt: at(31 * DAY).toISOString() });
    expect(rotated.old.map((t) => [t.id, t.expiresAt])).toEqual([[old.record.id, at(DAY + 3_600_000).toISOString()]]);
    expect(w.tokens.check(old.token, at(DAY + 3_599_000)).ok).toBe(true);
    expect(w.tokens.check(old.token, at(DAY + 3_600_000))).toEqual({ ok: false, why: 'expired', name: 'ci' });
    expect(w.tokens.check(rotated.token, at(DAY + 3_600_000)).ok).toBe(true);
    const entry = w.audit.list().at(-1)!;
    expect(entry).toMatchObject({ tool: 'tokens.rotate', principal: 'bob', target: 'ci' });
    expect(JSON.parse(entry.args)).toMatchObject({ tokenId: rotated.record.id, overlapMs: 3_600_000, old: [{ tokenId: old.record.id }] });
    expect(JSON.stringify(w.audit.list())).not.toContain(rotated.token.slice(4));
  });

  it('rotates with --overlap 0: the old token ends at once; an overlap never lengthens a token', () => {
    const w = world();
    const old = issueToken(w.deps, { principal: 'ci', role: 'readonly', expiresInMs: 60_000, by: 't' }, T0);
    expect(parseOverlap('0')).toBe(0);
    const r = rotateToken(w.deps, { principal: 'ci', overlapMs: 0, by: 't' }, at(1_000));
    expect(w.tokens.check(old.token, at(1_000))).toMatchObject({ ok: false, why: 'expired' });
    const again = rotateToken(w.deps, { principal: 'ci', overlapMs: DAY, by: 't' }, at(2_000));
    expect(again.old.map((t) => t.expiresAt)).toEqual([r.record.expiresAt]);
  });

  it('refuses to rotate a principal without an active token, or with active tokens of different roles', () => {
    const w = world();
    expect(() => rotateToken(w.deps, { principal: 'nobody', overlapMs: 0, by: 't' }, T0)).toThrow(/no active token/);
    issueToken(w.deps, { principal: 'mixed', role: 'admin', by: 't' }, T0);
    issueToken(w.deps, { principal: 'mixed', role: 'readonly', by: 't' }, T0);
    expect(() => rotateToken(w.deps, { principal: 'mixed', overlapMs: 0, by: 't' }, T0)).toThrow(/different roles \(readonly, admin\)/);
    expect(w.tokens.ofPrincipal('mixed')).toHaveLength(2);
  });

  it('revokes one token by id, or every token of a principal, each change audited', () => {
    const w = world();
    const [a, b, c] = [1, 2, 3].map(() => issueToken(w.deps, { principal: 'alice', role: 'operator', by: 't' }));
    expect(revokeToken(w.deps, { id: a!.record.id }, 'bob').map((t) => t.id)).toEqual([a!.record.id]);
    expect(revokeToken(w.deps, { id: a!.record.id }, 'bob')).toEqual([]);
    expect(w.tokens.check(b!.token).ok).toBe(true);
    expect(revokeToken(w.deps, { principal: 'alice' }, 'bob').map((t) => t.id).sort()).toEqual([b!.record.id, c!.record.id].sort());
    expect(w.tokens.check(c!.token)).toMatchObject({ ok: false, why: 'revoked' });
    expect(w.audit.list().filter((e) => e.tool === 'tokens.revoke').map((e) => (JSON.parse(e.args) as { tokenIds: number[] }).tokenIds.length)).toEqual([1, 2]);
    expect(w.audit.verify().ok).toBe(true);
  });
});

describe('lifetimes at the edge', () => {
  it('accepts --expires and --overlap up to 10 years and refuses longer ones, naming the flag', () => {
    expect(parseExpiry('3653d')).toBe(MAX_LIFETIME_MS);
    expect(parseOverlap('3653d')).toBe(MAX_LIFETIME_MS);
    expect(() => parseExpiry('3654d')).toThrow(/^--expires "3654d": at most 10 years \(3653d\), or never$/);
    expect(() => parseExpiry('999999w')).toThrow(/--expires "999999w": at most 10 years/);
    // Parts add up: past what a Date can hold, still a refusal of the input, not "Invalid time value".
    expect(() => parseExpiry('999999w'.repeat(15))).toThrow(/^--expires "[9w]{40}\.\.\.": at most 10 years/);
    expect(() => parseOverlap('999999w')).toThrow(/^--overlap "999999w": at most 10 years \(3653d\)$/);
  });

  // Stored times are compared as text: "+010000-..." sorts before "2026-..." and would read as long past.
  it('never stores a time outside the years 0000-9999, and changes nothing when refusing one', () => {
    const w = world();
    expect(() => w.tokens.create('ci', 'operator', new Date(Date.UTC(10_000, 0, 1)), T0)).toThrow(RangeError);
    expect(() => w.tokens.create('ci', 'operator', new Date(NaN), T0)).toThrow(/invalid date/);
    expect(w.tokens.list()).toEqual([]);
    const made = w.tokens.create('ci', 'operator', at(DAY), T0);
    expect(() => w.tokens.rotate('ci', 'operator', at(2 * DAY), new Date(8.64e15), T0)).toThrow(/\+275760/);
    expect(w.tokens.list().map((t) => [t.id, t.expiresAt])).toEqual([[made.record.id, at(DAY).toISOString()]]);
    expect(sortableIso(new Date('9999-12-31T23:59:59.999Z'))).toBe('9999-12-31T23:59:59.999Z');
    expect(() => sortableIso(new Date('-000001-01-01T00:00:00Z'))).toThrow(/-000001-01-01/);
  });

  it('holds a rotation to 10 years when the newest token (made before that bound) lived longer', () => {
    const w = world();
    w.tokens.create('ci', 'operator', new Date('9999-12-31T00:00:00Z'), T0);
    const later = at(400 * DAY);
    const r = rotateToken(w.deps, { principal: 'ci', overlapMs: 0, by: 't' }, later);
    expect(r.record.expiresAt).toBe(new Date(later.getTime() + MAX_LIFETIME_MS).toISOString());
    expect(w.tokens.check(r.token, later).ok).toBe(true);
  });
});

describe('expiry warnings', () => {
  it('marks active tokens ending within 14 days, and names the command that replaces them', () => {
    const { tokens } = world();
    const soon = tokens.create('a', 'operator', at(13 * DAY), T0).record;
    const later = tokens.create('b', 'operator', at(15 * DAY), T0).record;
    expect([expiresSoon(soon, T0), expiresSoon(later, T0)]).toEqual([true, false]);
    expect(tokens.expiringWithin(14 * DAY, T0).map((t) => t.id)).toEqual([soon.id]);
    expect(expiryWarning(soon, T0)).toBe(`token ${soon.id} of a (operator) expires in 13 days, at ${soon.expiresAt}: warden tokens rotate a`);
  });

  it('tells of a token used within 7 days of its end once a day, and never breaks the check', () => {
    const told: TokenRecord[] = [];
    const w = world({ onExpiringSoon: (t) => { told.push(t); throw new Error('a broken logger'); } });
    const { token } = w.tokens.create('a', 'operator', at(10 * DAY), T0);
    expect(w.tokens.check(token, at(2 * DAY)).ok).toBe(true);
    expect(told).toHaveLength(0);
    for (const h of [0, 1, 23]) expect(w.tokens.check(token, at(4 * DAY + h * 3_600_000)).ok).toBe(true);
    expect(told).toHaveLength(1);
    expect(w.tokens.check(token, at(5 * DAY)).ok).toBe(true);
    expect(told).toHaveLength(2);
  });
});

describe('migration 20', () => {
  it('keeps the tokens of a database at version 19: ids, hashes and refusals as they were', () => {
    const db = new Database(':memory:');
    for (let v = 0; v < 19; v += 1) { db.exec(MIGRATIONS[v]!); db.pragma(`user_version = ${v + 1}`); }
    const secret = `wdn_${'A'.repeat(43)}`;
    const hash = createHash('sha256').update(secret).digest('hex');
    const ins = db.prepare('INSERT INTO tokens (id, name, role, hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    ins.run(7, 'alice', 'admin', hash, T0.toISOString(), null, null);
    ins.run(9, 'gone', 'readonly', 'f'.repeat(64), T0.toISOString(), null, T0.toISOString());
    expect(() => ins.run(10, 'alice', 'admin', 'e'.repeat(64), T0.toISOString(), null, null)).toThrow(/UNIQUE/);
    migrate(db);
    const tokens = new TokenStore(db);
    expect(tokens.check(secret)).toMatchObject({ ok: true, token: { id: 7, name: 'alice', role: 'admin' } });
    expect(tokens.byId(9)).toMatchObject({ name: 'gone', revokedAt: T0.toISOString() });
    const second = tokens.create('alice', 'admin', null);
    expect(second.record.id).toBeGreaterThan(9);
    expect(tokens.active('alice').map((t) => t.id)).toEqual([second.record.id, 7]);
  });
});
