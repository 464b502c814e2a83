// The change store and the change transaction over a real SQLite file, with a scripted change kind:
// every path a change can take (verified, rejected, apply failing half way, check failing, restore
// failing), one change at a time per target, orphans after a crash, and tampered saved states.
import Database from 'better-sqlite3';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { ChangeStore, type ChangeRecord, type NewChange } from '../../src/store/changes.js';
import { migrate } from '../../src/store/db.js';
import { Rejected, holdCheck, runChange, type ChangeKind, type Verification } from '../../src/tools/change-transaction.js';
import type { ToolContext } from '../../src/tools/spec.js';
import { failureOf } from '../support/failures.js';
import { tempDir } from '../support/processes.js';

const dbs: Database.Database[] = [];
afterEach(() => dbs.splice(0).forEach((d) => d.close()));

function store(onRollbackFailed?: (c: ChangeRecord) => void): { s: ChangeStore; dir: string } {
  const dir = tempDir('changes');
  const db = new Database(join(dir, 'warden.db'));
  dbs.push(db);
  migrate(db);
  return { s: new ChangeStore(db, dir, onRollbackFailed), dir };
}

const NEW: Omit<NewChange, 'beforeRef'> = { callId: 'call-1', principal: 'alice', incidentId: null, target: 'local/nginx', service: 'site', kind: 'scripted', summary: 'a -> b', plan: { x: 1 } };

/** A target holding one value, and a kind that restores and checks it as scripted. */
class Scripted implements ChangeKind {
  kind = 'scripted';
  value = 'a';
  checks: Verification[] = [];
  restoreFails = false;

  async restore(change: ChangeRecord, ctx: ToolContext): Promise<string> {
    if (this.restoreFails) throw new ToolFailure('unavailable', 'the host went away');
    this.value = ctx.changes.load(change.beforeRef).toString();
    return `set back to ${this.value}`;
  }

  async check(_c: ChangeRecord, _ctx: ToolContext, expect: 'after' | 'before'): Promise<Verification> {
    return this.checks.shift() ?? { ok: true, detail: `${expect} ok (${this.value})` };
  }
}

function ctx(s: ChangeStore): ToolContext {
  return { changes: s, call: { id: 'call-1', principal: 'alice', incidentId: null }, signal: new AbortController().signal, log: silentLogger } as unknown as ToolContext;
}

function change(kind: Scripted, s: ChangeStore, apply?: () => Promise<{ after: Buffer; validation: string }>): Promise<unknown> {
  return runChange(ctx(s), {
    kind, target: 'local/nginx', service: 'site', summary: 'a -> b', plan: {}, before: Buffer.from(kind.value),
    apply: apply ?? (async () => {
      kind.value = 'b';
      return { after: Buffer.from('b'), validation: 'test ok' };
    }),
  });
}

describe('a change transaction', () => {
  it('ends verified when the check holds, with both states saved and the validation kept', async () => {
    const { s } = store();
    const kind = new Scripted();
    expect(await change(kind, s)).toMatchObject({ status: 'verified', validation: 'test ok', verification: 'after ok (b)', rollback: null });
    const [c] = s.list({ limit: 5 });
    expect(c).toMatchObject({ status: 'verified', principal: 'alice', callId: 'call-1' });
    expect(s.load(c!.beforeRef).toString()).toBe('a');
    expect(s.load(c!.afterRef!).toString()).toBe('b');
  });

  it('rolls back and checks the rollback when the check fails, and fails the call saying so', async () => {
    const { s } = store();
    const kind = new Scripted();
    kind.checks = [{ ok: false, detail: 'answered 502' }];
    const f = await failureOf(change(kind, s));
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(/failed its check: answered 502\. It was ROLLED BACK automatically/);
    expect(kind.value).toBe('a');
    expect(s.list({ limit: 1 })[0]).toMatchObject({ status: 'rolled_back', verification: 'answered 502', rollback: 'set back to a; before ok (a)' });
  });

  it('records a rejected change when the target refuses it, and rolls nothing back', async () => {
    const { s } = store();
    const kind = new Scripted();
    const f = await failureOf(change(kind, s, async () => { throw new Rejected('emerg: unknown directive', new ToolFailure('target_failed', 'nginx -t refused it')); }));
    expect(f.message).toMatch(/nginx -t refused it \(change chg_[0-9a-f]{16}, rejected: nothing was changed\)/);
    expect(s.list({ limit: 1 })[0]).toMatchObject({ status: 'rejected', validation: 'emerg: unknown directive', rollback: null });
  });

  it('undoes an apply that failed half way (the file written, the reload refused)', async () => {
    const { s } = store();
    const kind = new Scripted();
    const f = await failureOf(change(kind, s, async () => {
      kind.value = 'b';
      throw new ToolFailure('target_failed', 'nginx -s reload failed');
    }));
    expect(f.message).toMatch(/apply failed: nginx -s reload failed.*ROLLED BACK/);
    expect(kind.value).toBe('a');
  });

  it('ends rollback_failed when the restore fails, and alarms once', async () => {
    const alarms: ChangeRecord[] = [];
    const { s } = store((c) => alarms.push(c));
    const kind = new Scripted();
    kind.checks = [{ ok: false, detail: 'answered 502' }];
    kind.restoreFails = true;
    const f = await failureOf(change(kind, s));
    expect(f.message).toMatch(/automatic ROLLBACK FAILED: restore failed: the host went away/);
    expect(alarms.map((c) => c.status)).toEqual(['rollback_failed']);
  });

  it('ends rollback_failed when the restored target does not serve as before', async () => {
    const { s } = store();
    const kind = new Scripted();
    kind.checks = [{ ok: false, detail: 'answered 502' }, { ok: false, detail: 'answers 500 now, 200 before' }];
    await failureOf(change(kind, s));
    expect(s.list({ limit: 1 })[0]).toMatchObject({ status: 'rollback_failed', rollback: 'set back to a; answers 500 now, 200 before' });
  });
});

describe('the change store', () => {
  it('allows one open change per target: a second is refused while the first is under way', async () => {
    const { s } = store();
    const first = await s.begin({ ...NEW, beforeRef: s.save(Buffer.from('a')) });
    const f = await failureOf(s.begin({ ...NEW, beforeRef: s.save(Buffer.from('a')) }));
    expect(f.message).toMatch(new RegExp(`change ${first.id} on local/nginx is still applying: one change at a time per target`));
    await s.begin({ ...NEW, target: 'local/web', beforeRef: s.save(Buffer.from('a')) });
    await s.update(first.id, { status: 'verified' });
    await s.begin({ ...NEW, beforeRef: s.save(Buffer.from('a')) });
  });

  it('saves a state once under its hash, readable by the owner only', () => {
    const { s, dir } = store();
    const ref = s.save(Buffer.from('server 127.0.0.1:1;'));
    expect(s.save(Buffer.from('server 127.0.0.1:1;'))).toBe(ref);
    expect(readdirSync(join(dir, 'changes'))).toEqual([ref]);
  });

  it('refuses to restore a saved state that was altered on disk', () => {
    const { s, dir } = store();
    const ref = s.save(Buffer.from('good'));
    chmodSync(join(dir, 'changes', ref), 0o600);
    writeFileSync(join(dir, 'changes', ref), 'evil');
    expect(() => s.load(ref)).toThrow(/was altered; it cannot be restored/);
    expect(() => s.load('../../etc/passwd')).toThrow(/not a state reference/);
    // Saving the same state again writes it whole over the altered file.
    expect(s.save(Buffer.from('good'))).toBe(ref);
    expect(s.load(ref).toString()).toBe('good');
  });

  it('counts an open change as orphaned when its process is gone, and never one this process holds', async () => {
    const { s } = store();
    const c = await s.begin({ ...NEW, beforeRef: s.save(Buffer.from('a')) });
    expect(s.orphans()).toEqual([]);
    const owner = (o: string): void => { (s as unknown as { db: Database.Database }).db.prepare('UPDATE changes SET owner = ? WHERE id = ?').run(o, c.id); };
    // Another process on this machine, as a crashed warden left its row.
    owner(`${hostname()}:999999999:abc`);
    expect(s.orphans(() => false).map((o) => o.id)).toEqual([c.id]);
    expect(s.orphans(() => true)).toEqual([]);
    expect(s.orphans(() => true, Date.now() + 31 * 60_000).map((o) => o.id)).toEqual([c.id]);
    // An earlier start of a process with this very pid (pid 1 in a restarted container).
    owner(`${hostname()}:${process.pid}:earlier`);
    expect(s.orphans(() => true).map((o) => o.id)).toEqual([c.id]);
    // A process of an earlier boot of this machine, whose pid something else now holds.
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 16);
    owner(`${hostname()}:999999999:abc:${boot}`);
    expect(s.orphans(() => true)).toEqual([]);
    owner(`${hostname()}:999999999:abc:0123456789abcdef`);
    expect(s.orphans(() => true).map((o) => o.id)).toEqual([c.id]);
    // Another machine's pid 1 (a second container on the same data volume): only silence counts.
    owner(`other-box:${process.pid}:x`);
    expect(s.orphans(() => false)).toEqual([]);
    expect(s.orphans(() => false, Date.now() + 31 * 60_000).map((o) => o.id)).toEqual([c.id]);
  });

  it('keeps recovery notes merged on the row, without bumping the version a claim compares', async () => {
    const { s } = store();
    const c = await s.begin({ ...NEW, beforeRef: s.save(Buffer.from('a')) });
    await s.noteRecovery(c.id, { approvalId: 'apr_x' });
    await s.noteRecovery(c.id, { escalatedAt: '2026-11-29T20:00:00Z' });
    expect(s.get(c.id)).toMatchObject({ version: c.version, recovery: { approvalId: 'apr_x', escalatedAt: '2026-11-29T20:00:00Z' } });
  });

  it('lets only one of two claims at the same version through, and no other process write without a claim', async () => {
    const { s } = store();
    const c = await s.begin({ ...NEW, beforeRef: s.save(Buffer.from('a')) });
    await s.update(c.id, { status: 'verified' });
    const seen = s.get(c.id)!;
    await s.update(c.id, { status: 'rolling_back', ifVersion: seen.version });
    const f = await failureOf(s.update(c.id, { status: 'rolling_back', ifVersion: seen.version }));
    expect(f.message).toMatch(/taken over by another warden process/);
    (s as unknown as { db: Database.Database }).db.prepare("UPDATE changes SET owner = 'other-box:1:x' WHERE id = ?").run(c.id);
    expect((await failureOf(s.update(c.id, { status: 'rolled_back' }))).message).toMatch(/taken over by another warden process \(other-box:1:x\)/);
  });
});

describe('holdCheck', () => {
  it('passes only when every probe in the window passes, and stops at the first failure', async () => {
    const signal = new AbortController().signal;
    let n = 0;
    expect(await holdCheck(async () => ({ ok: true, detail: `probe ${++n}` }), 1, signal, 200)).toMatchObject({ ok: true, detail: expect.stringMatching(/held for 1 s/) });
    n = 0;
    const failing = await holdCheck(async () => ({ ok: ++n < 3, detail: `probe ${n}` }), 5, signal, 10);
    expect(failing).toEqual({ ok: false, detail: 'probe 3 (after 2 passing checks)' });
  });

  it('reports a cancel that cuts a probe short as the cancel, not as the target failing its check', async () => {
    const cancel = new AbortController();
    let n = 0;
    const r = await holdCheck(async () => {
      n += 1;
      if (n < 3) return { ok: true, detail: 'serves' };
      cancel.abort();
      return { ok: false, detail: 'read /etc/nginx/nginx.conf on host local was cancelled; retry later' };
    }, 60, cancel.signal, 10);
    expect(r).toEqual({ ok: false, detail: 'cancelled after 2 passing checks' });
  });
});
