import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseDuration, checkPrincipalName } from '../../src/server/auth.js';
import { RateLimiter } from '../../src/server/rate-limit.js';
import { defaultAllowedHosts } from '../../src/server/daemon.js';
import { openDb } from '../../src/store/db.js';
import { TokenStore } from '../../src/store/tokens.js';
import { tempDir } from '../support/processes.js';

const store = () => new TokenStore(openDb(join(tempDir('tokens'), 'data')));

describe('TokenStore', () => {
  it('checks a token it made and refuses anything else', () => {
    const s = store();
    const { token, record } = s.create('alice', 'operator', null);
    expect(s.check(token)).toEqual({ ok: true, token: expect.objectContaining({ id: record.id, name: 'alice', role: 'operator' }) });
    expect(s.check(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toEqual({ ok: false, why: 'unknown' });
    expect(s.check('Bearer nope')).toEqual({ ok: false, why: 'malformed' });
  });

  it('refuses an expired token and a revoked one, and keeps them listed beside a new token of the same principal', () => {
    const s = store();
    const now = new Date('2026-01-01T00:00:00Z');
    const { token } = s.create('ci', 'readonly', new Date('2026-01-02T00:00:00Z'), now);
    expect(s.check(token, new Date('2026-01-01T12:00:00Z')).ok).toBe(true);
    expect(s.check(token, new Date('2026-01-02T00:00:00Z'))).toEqual({ ok: false, why: 'expired', name: 'ci' });
    const bob = s.create('bob', 'admin', null);
    expect(s.revokePrincipal('bob').map((t) => t.id)).toEqual([bob.record.id]);
    expect(s.revokePrincipal('bob')).toEqual([]);
    expect(s.check(bob.token)).toEqual({ ok: false, why: 'revoked', name: 'bob' });
    const again = s.create('bob', 'readonly', null).token;
    expect(s.check(again)).toMatchObject({ ok: true, token: { role: 'readonly' } });
    expect(s.check(bob.token)).toEqual({ ok: false, why: 'revoked', name: 'bob' });
    expect(s.ofPrincipal('bob')).toHaveLength(2);
  });

  it('records when a token was last used', () => {
    const s = store();
    const { token, record } = s.create('alice', 'operator', null);
    expect(s.byId(record.id)?.lastUsedAt).toBeNull();
    s.check(token, new Date('2026-03-01T00:00:00Z'));
    expect(s.byId(record.id)?.lastUsedAt).toBe('2026-03-01T00:00:00.000Z');
  });
});

describe('token options', () => {
  it.each([['90m', 5_400_000], ['12h', 43_200_000], ['30d', 2_592_000_000], ['2w', 1_209_600_000]])('--expires %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['0d', '30', 'soon', '1y', '-1d'])('refuses --expires %s naming the option', (text) => {
    expect(() => parseDuration(text)).toThrow(/--expires/);
  });

  it('refuses the principal of the loop and names that are not names', () => {
    expect(() => checkPrincipalName('loop')).toThrow(/reserved/);
    expect(() => checkPrincipalName('a b')).toThrow(/--principal/);
    expect(() => checkPrincipalName('alice@example.org')).not.toThrow();
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then one request per refill interval, with the wait in whole seconds', () => {
    const r = new RateLimiter({ perMinute: 60, burst: 2 });
    expect([r.take('a', 0), r.take('a', 0)]).toEqual([{ ok: true }, { ok: true }]);
    expect(r.take('a', 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(r.take('b', 0)).toEqual({ ok: true });
    expect(r.take('a', 1_000)).toEqual({ ok: true });
    expect(r.take('a', 1_000)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('asks a slow bucket to wait as long as it takes to refill one request', () => {
    const r = new RateLimiter({ perMinute: 2, burst: 1 });
    r.take('a', 0);
    expect(r.take('a', 0)).toEqual({ ok: false, retryAfterSeconds: 30 });
  });
});

describe('default allowed hosts', () => {
  it.each([
    ['127.0.0.1', ['localhost', '127.0.0.1', '[::1]']],
    ['0.0.0.0', ['localhost', '127.0.0.1', '[::1]']],
    ['10.1.2.3', ['localhost', '127.0.0.1', '[::1]', '10.1.2.3']],
    ['fd00::1', ['localhost', '127.0.0.1', '[::1]', '[fd00::1]']],
  ])('listening on %s', (host, names) => {
    expect(defaultAllowedHosts(host)).toEqual(names);
  });
});
