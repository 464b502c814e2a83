// Refused HTTP requests in the audit: the first of a kind at once, the rest counted into one entry
// per window, a bounded number of kinds, pending counts written at close, and a locked database
// that neither throws into the request nor loses the count. Real audit table, fake clock.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ANONYMOUS, REFUSAL_TOOL, RefusalAudit, type Refusal } from '../../src/server/refusal-audit.js';
import { AuditLog } from '../../src/store/audit.js';
import { canonicalJson, sha256 } from '../../src/store/canonical.js';
import { dbPath, openDb } from '../../src/store/db.js';
import { tempDir } from '../support/processes.js';

const T0 = new Date('2026-05-01T12:00:00.000Z');
const WINDOW = 60_000;

function world(): { audit: AuditLog; db: Database.Database; dataDir: string; refusals: () => ReturnType<AuditLog['list']> } {
  const dataDir = join(tempDir('refusal-audit'), 'data');
  const db = openDb(dataDir);
  const audit = new AuditLog(db, null);
  return { audit, db, dataDir, refusals: () => audit.list().filter((e) => e.tool === REFUSAL_TOOL) };
}

const countOf = (e: { args: string }): number => (JSON.parse(e.args) as { count?: number }).count ?? 1;

const wrongToken: Refusal = { route: '/mcp', method: 'POST', status: 401, principal: ANONYMOUS, remote: '10.0.0.7', reason: 'unknown token' };

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RefusalAudit', () => {
  it('writes the first refusal at once as a denied http entry, and counts the rest into one entry when the window ends', () => {
    const { audit, refusals } = world();
    const r = new RefusalAudit(audit, silentLogger);
    for (let i = 0; i < 50; i += 1) r.record(wrongToken);
    expect(refusals()).toHaveLength(1);
    const args = { route: '/mcp', method: 'POST', status: 401, remote: '10.0.0.7' };
    expect(refusals()[0]).toMatchObject({
      principal: ANONYMOUS, transport: 'http', tool: 'http.auth', target: '/mcp', phase: 'denied', errorKind: 'denied', decision: 'deny',
      result: 'unknown token', args: canonicalJson(args), argsHash: sha256(canonicalJson(args)),
    });
    vi.advanceTimersByTime(WINDOW - 1);
    expect(refusals()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(refusals()).toHaveLength(2);
    const aggregate = refusals()[1]!;
    expect(aggregate.result).toBe(`49 more refusals like this since ${T0.toISOString()}; the last: unknown token`);
    expect(JSON.parse(aggregate.args)).toEqual({ ...args, count: 49, since: T0.toISOString() });
    // A quiet window after that forgets the group: the next refusal is written at once again.
    vi.advanceTimersByTime(WINDOW);
    expect(r.size).toBe(0);
    r.record(wrongToken);
    expect(refusals().map((e) => e.result)).toEqual([expect.any(String), expect.any(String), 'unknown token']);
    expect(audit.verify().ok).toBe(true);
  });

  it('writes one entry a window while the same refusals keep coming', () => {
    const { audit, refusals } = world();
    const r = new RefusalAudit(audit, silentLogger);
    for (let minute = 0; minute < 5; minute += 1) {
      for (let i = 0; i < 10; i += 1) {
        r.record(wrongToken);
        vi.advanceTimersByTime(WINDOW / 10);
      }
    }
    // The first at once, then one count for each of the five windows; nothing is lost.
    expect(refusals().map(countOf)).toEqual([1, 9, 10, 10, 10, 10]);
    r.close();
    expect(refusals()).toHaveLength(6);
  });

  it('keeps remote address, status, principal and route apart', () => {
    const { audit, refusals } = world();
    const r = new RefusalAudit(audit, silentLogger);
    r.record(wrongToken);
    r.record({ ...wrongToken, remote: '10.0.0.8' });
    r.record({ ...wrongToken, status: 403, principal: 'viewer', route: '/approvals', reason: 'role readonly may not use /approvals' });
    r.record({ ...wrongToken, route: '/approvals/:id/approve' });
    r.record(wrongToken);
    expect(refusals().map((e) => [e.principal, e.target, JSON.parse(e.args).remote])).toEqual([
      [ANONYMOUS, '/mcp', '10.0.0.7'], [ANONYMOUS, '/mcp', '10.0.0.8'], ['viewer', '/approvals', '10.0.0.7'], [ANONYMOUS, '/approvals/:id/approve', '10.0.0.7'],
    ]);
  });

  it('tracks at most maxGroups kinds; the rest share one overflow group', () => {
    const { audit, refusals } = world();
    const r = new RefusalAudit(audit, silentLogger, { maxGroups: 3 });
    for (let i = 0; i < 10; i += 1) r.record({ ...wrongToken, remote: `10.0.1.${i}` });
    expect(r.size).toBe(4);
    const entries = refusals();
    expect(entries).toHaveLength(4);
    expect(entries[3]).toMatchObject({ principal: ANONYMOUS, target: '*', result: expect.stringMatching(/^more than 3 kinds of refusal within 60 s; .*10\.0\.1\.3/) });
    r.close();
    expect(refusals()).toHaveLength(5);
    expect(refusals()[4]!.result).toMatch(/^6 more refusals like this since /);
    expect(r.size).toBe(0);
  });

  it('writes the pending counts at close, and each refusal after it on its own', () => {
    const { audit, refusals } = world();
    const r = new RefusalAudit(audit, silentLogger);
    for (let i = 0; i < 3; i += 1) r.record(wrongToken);
    r.close();
    expect(refusals().map((e) => e.result)).toEqual(['unknown token', `2 more refusals like this since ${T0.toISOString()}; the last: unknown token`]);
    r.record(wrongToken);
    expect(refusals()).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts, rather than throws, while another process holds the write lock, and writes the count once it is free', () => {
    const { audit, db, dataDir, refusals } = world();
    const lines: string[] = [];
    const log = pino({ level: 'error' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    const r = new RefusalAudit(audit, log);
    const other = new Database(dbPath(dataDir));
    // The audit's own connection must not wait for the lock here, or the test would only measure the wait.
    db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    expect(() => { for (let i = 0; i < 5; i += 1) r.record(wrongToken); }).not.toThrow();
    expect(lines.join('')).toMatch(/could not write a refused HTTP request/);
    vi.advanceTimersByTime(WINDOW);
    expect(r.size).toBe(1);
    other.exec('COMMIT');
    other.close();
    expect(refusals()).toEqual([]);
    vi.advanceTimersByTime(WINDOW);
    expect(refusals().map((e) => e.result)).toEqual([`unknown token; and 4 more refusals like this since ${T0.toISOString()}`]);
    expect(JSON.parse(refusals()[0]!.args)).toMatchObject({ count: 4 });
  });
});
