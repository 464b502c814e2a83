import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, type AuditInput } from '../../src/store/audit.js';
import { openDb, type Db } from '../../src/store/db.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function fresh(n = 5): { db: Db; audit: AuditLog; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-audit-'));
  dirs.push(dir);
  const db = openDb(dir);
  const audit = new AuditLog(db, join(dir, 'warden.db.head'));
  for (let i = 0; i < n; i += 1) audit.append(entry(i));
  return { db, audit, dir };
}

const entry = (i: number): AuditInput => ({
  callId: `c${i}`, principal: 'local', transport: 'stdio', tool: 'restart_container', target: `local/web-${i}`,
  args: { container: `web-${i}` }, argsHash: 'h', risk: 'low', decision: 'notify', rule: 'default:low', phase: 'requested',
});

/**
 * What an attacker with write access to the file does, from a process of their own: the triggers
 * are in the way, so drop them.
 */
function tamper(dir: string, sql: string): void {
  const other = openDb(dir);
  try {
    other.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    other.exec(sql);
  } finally {
    other.close();
  }
}

describe('audit chain', () => {
  it('verifies an untouched chain', () => {
    const { audit } = fresh();
    expect(audit.verify()).toMatchObject({ ok: true, entries: 5, warnings: [] });
  });

  it('refuses UPDATE and DELETE through its triggers', () => {
    const { db } = fresh();
    expect(() => db.exec(`UPDATE audit SET principal = 'x' WHERE seq = 2`)).toThrow(/append-only/);
    expect(() => db.exec('DELETE FROM audit WHERE seq = 5')).toThrow(/append-only/);
  });

  it('detects a modified entry', () => {
    const { dir, audit } = fresh();
    tamper(dir, `UPDATE audit SET target = 'local/other' WHERE seq = 3`);
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/altered/) });
  });

  it('detects a deleted entry in the middle', () => {
    const { dir, audit } = fresh();
    tamper(dir, 'DELETE FROM audit WHERE seq = 2');
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/missing/) });
  });

  it('detects reordered entries', () => {
    const { dir, audit } = fresh();
    tamper(dir, `UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 100;`);
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('detects a re-hashed forgery that does not match the chain', () => {
    const { dir, audit } = fresh();
    tamper(dir, `UPDATE audit SET hash = '${'a'.repeat(64)}' WHERE seq = 4`);
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('detects the newest entries cut off, through the checkpoint', () => {
    const { dir, audit } = fresh();
    tamper(dir, 'DELETE FROM audit WHERE seq >= 4');
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 4, reason: expect.stringMatching(/4\.\.5 are missing/) });
  });

  it('uses the newer intact checkpoint slot when the other is torn', () => {
    const { dir, audit } = fresh();
    const path = join(dir, 'warden.db.head');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, 128) + 'garbage'.padEnd(127) + '\n');
    expect(audit.readCheckpoint()?.seq).toBe(4);
    writeFileSync(path, text);
    expect(audit.readCheckpoint()?.seq).toBe(5);
  });

  it('detects a cut-off tail replaced by new entries', () => {
    const { audit, dir } = fresh();
    const checkpoint = readFileSync(join(dir, 'warden.db.head'), 'utf8');
    tamper(dir, 'DELETE FROM audit WHERE seq >= 4');
    audit.append(entry(9));
    audit.append(entry(10));
    writeFileSync(join(dir, 'warden.db.head'), checkpoint);
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 5, reason: expect.stringMatching(/checkpoint/) });
  });

  it('warns when the triggers have been dropped even if the chain holds', () => {
    const { db, audit } = fresh();
    db.exec('DROP TRIGGER audit_no_update');
    expect(audit.verify()).toMatchObject({ ok: true, warnings: [expect.stringMatching(/triggers/)] });
  });

  it('counts calls that started (ran or are running), per target, within the window; not refusals or dry runs', () => {
    const { audit } = fresh(0);
    const since = new Date(Date.now() - 60_000);
    audit.append({ ...entry(1), phase: 'requested' });
    audit.append({ ...entry(1), phase: 'completed' });
    audit.append({ ...entry(1), phase: 'requested' }); // still running: it counts
    audit.append({ ...entry(1), phase: 'denied' });
    audit.append({ ...entry(1), phase: 'requested', dryRun: true });
    audit.append({ ...entry(2), phase: 'requested' });
    expect(audit.countExecuted(['restart_container'], since, { target: 'local/web-1' })).toBe(2);
    expect(audit.countExecuted(['restart_container'], since)).toBe(3);
    expect(audit.countExecuted(['restart_container'], new Date(Date.now() + 1000))).toBe(0);
    expect(audit.countExecuted(['restart_container', 'start_container'], since, { principal: 'local' })).toBe(3);
    expect(audit.countExecuted(['start_container'], since)).toBe(0);
    expect(audit.countExecuted(['restart_container'], since, {}, 2)).toBe(2);
  });
});
