// Group commit of audit entries, and the chain head kept in memory between commits: the chain,
// the anchor and verify stay as strong as with one commit per entry and a head query per commit;
// one entry that cannot be written fails alone; the anchor names only what committed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditInput, type Checkpoint } from '../../src/store/audit.js';
import { DatabaseBusy, SERVER_BUSY_TIMEOUT_MS } from '../../src/store/busy.js';
import { DB_FILE, openDb, type Db } from '../../src/store/db.js';
import { KillSwitchStore } from '../../src/store/kill-switch.js';

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warden-batch-'));
  dirs.push(d);
  return d;
}

/** One process's view of the audit: its own connection and AuditLog, the anchor shared. */
function open(d: string, busyTimeoutMs?: number): { db: Db; audit: AuditLog; commits: Array<[number, number]> } {
  const db = openDb(d, busyTimeoutMs === undefined ? {} : { busyTimeoutMs });
  dbs.push(db);
  const audit = new AuditLog(db, join(d, 'warden.db.head'));
  const commits: Array<[number, number]> = [];
  audit.onAppend((head, count) => commits.push([head.seq, count]));
  return { db, audit, commits };
}

const entry = (callId: string, phase: AuditInput['phase'] = 'completed'): AuditInput => ({
  callId, principal: 'local', transport: 'memory', tool: 'list_containers', target: 'local/*', args: {}, argsHash: 'h', risk: 'read', decision: 'allow', rule: 'default:read', phase,
});

/** What an attacker does from a process of their own: drop the triggers, then edit. */
function tamper(d: string, sql: string): void {
  const other = openDb(d);
  try {
    other.exec(`DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; ${sql}`);
  } finally {
    other.close();
  }
}

describe('batched appends', () => {
  it('commits the entries queued in one tick in one transaction, and the anchor names the last of them', async () => {
    const d = dir();
    const { audit, commits } = open(d);
    const entries = await Promise.all(Array.from({ length: 20 }, (_, i) => audit.appendBatched(entry(`c${i}`), 1_000)));
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(commits).toEqual([[20, 20]]);
    expect(audit.readCheckpoint()).toEqual({ seq: 20, hash: entries[19]!.hash });
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 20 });
  });

  it('takes what is queued into the next synchronous commit, ahead of its own entry', async () => {
    const { audit, commits } = open(dir());
    const queued = [audit.appendBatched(entry('read-1'), 1_000), audit.appendBatched(entry('read-2'), 1_000)];
    const requested = audit.append(entry('write', 'requested'));
    expect(requested.seq).toBe(3);
    expect((await Promise.all(queued)).map((e) => e.seq)).toEqual([1, 2]);
    expect(commits).toEqual([[3, 3]]);
    expect(audit.verify({ requireAnchor: true }).ok).toBe(true);
  });

  it('queues them again when that commit rolls back, and they land in the next', async () => {
    const { audit, db } = open(dir());
    const queued = audit.appendBatched(entry('read-1'), 1_000);
    expect(() => audit.atomically(() => { audit.append(entry('doomed', 'requested')); throw new Error('rolled back'); })).toThrow('rolled back');
    expect(await queued).toMatchObject({ seq: 1, callId: 'read-1' });
    expect(audit.append(entry('after', 'requested')).seq).toBe(2);
    expect(db.prepare(`SELECT count(*) AS n FROM audit WHERE call_id = 'doomed'`).get()).toEqual({ n: 0 });
    expect(audit.verify({ requireAnchor: true }).ok).toBe(true);
  });

  it('rejects only the entry that cannot be written; the rest of its batch commits in the same one transaction, and the chain goes on', async () => {
    const d = dir();
    const { audit, db, commits } = open(d);
    audit.append(entry('first'));
    db.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON audit WHEN new.call_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END`);
    const batch = ['a', 'boom', 'b'].map((id) => audit.appendBatched(entry(id), 1_000));
    const settled = await Promise.allSettled(batch);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/boom refused/);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value.seq : null))).toEqual([2, null, 3]);
    expect(audit.writeProblem()).toMatchObject({ error: expect.stringMatching(/boom refused/) });
    expect(audit.list().map((e) => e.callId)).toEqual(['first', 'a', 'b']);
    expect(commits).toEqual([[1, 1], [3, 2]]);
    expect(audit.readCheckpoint()?.seq).toBe(3);
    expect((await audit.appendBatched(entry('later'), 1_000)).seq).toBe(4);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 4 });
  });

  it('a synchronous append commits with the queued entries it drained, though one of them cannot be written', async () => {
    const { audit, db } = open(dir());
    db.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON audit WHEN new.call_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END`);
    const queued = ['a', 'boom'].map((id) => audit.appendBatched(entry(id), 1_000));
    expect(audit.append(entry('write', 'requested')).seq).toBe(2);
    const settled = await Promise.allSettled(queued);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
    expect(audit.list().map((e) => e.callId)).toEqual(['a', 'write']);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 2 });
  });

  it("waits out another process's lock, and gives an entry up with DatabaseBusy once its own wait is over", async () => {
    const d = dir();
    const { audit } = open(d, 0);
    const other = openDb(d);
    dbs.push(other);
    other.prepare('BEGIN IMMEDIATE').run();
    const short = audit.appendBatched(entry('short'), 50);
    const long = audit.appendBatched(entry('long'), 30_000);
    await expect(short).rejects.toBeInstanceOf(DatabaseBusy);
    other.prepare('COMMIT').run();
    expect(await long).toMatchObject({ seq: 1, callId: 'long' });
    expect(audit.list().map((e) => e.callId)).toEqual(['long']);
  });

  it('still detects an entry altered inside a batch, and a batch cut off the tail', async () => {
    const d = dir();
    const { audit } = open(d);
    await Promise.all(['a', 'b', 'c'].map((id) => audit.appendBatched(entry(id), 1_000)));
    expect(audit.readCheckpoint()?.seq).toBe(3);
    await Promise.all(['d', 'e', 'f'].map((id) => audit.appendBatched(entry(id), 1_000)));
    expect(audit.readCheckpoint()?.seq).toBe(6);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 6 });
    tamper(d, `UPDATE audit SET result = 'nothing to see' WHERE seq = 5`);
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 5, reason: expect.stringMatching(/altered/) });

    const cut = dir();
    const copy = open(cut);
    await Promise.all(['a', 'b', 'c'].map((id) => copy.audit.appendBatched(entry(id), 1_000)));
    await Promise.all(['d', 'e', 'f'].map((id) => copy.audit.appendBatched(entry(id), 1_000)));
    tamper(cut, 'DELETE FROM audit WHERE seq >= 4');
    expect(copy.audit.verify()).toMatchObject({ ok: false, brokenAt: 4, reason: expect.stringMatching(/4\.\.6 are missing/) });
  });
});

describe('the chain head kept in memory', () => {
  it('two AuditLogs on one file, appending in turn, each batched and at once, build one valid chain', async () => {
    const d = dir();
    const one = open(d);
    const two = open(d);
    for (let i = 0; i < 25; i += 1) {
      const [a, b] = await Promise.all([one.audit.appendBatched(entry(`one-${i}`), 1_000), two.audit.appendBatched(entry(`two-${i}`), 1_000)]);
      expect(b!.seq).not.toBe(a!.seq);
      one.audit.append(entry(`one-now-${i}`, 'requested'));
      two.audit.append(entry(`two-now-${i}`, 'requested'));
    }
    expect(one.audit.list().map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(one.audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 100 });
    expect(two.audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 100 });
  });

  it('two AuditLogs on one connection share its head', () => {
    const d = dir();
    const { db, audit } = open(d);
    const second = new AuditLog(db, join(d, 'warden.db.head'));
    for (let i = 0; i < 5; i += 1) {
      audit.append(entry(`a${i}`));
      second.append(entry(`b${i}`));
    }
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 10 });
  });

  it('does not cache a head committed inside another store\'s transaction, which may still roll back', () => {
    const { db, audit } = open(dir());
    audit.append(entry('first'));
    expect(() => db.transaction(() => { audit.append(entry('nested')); throw new Error('outer rolled back'); })()).toThrow('outer rolled back');
    expect(audit.append(entry('next')).seq).toBe(2);
    expect(audit.verify().ok).toBe(true);
  });

  it('a process killed between batches, while another appends to the same file, leaves a valid chain', async () => {
    const d = dir();
    const { audit } = open(d);
    const script = `
      import { AuditLog } from ${JSON.stringify(new URL('../../src/store/audit.ts', import.meta.url).pathname)};
      import { openDb } from ${JSON.stringify(new URL('../../src/store/db.ts', import.meta.url).pathname)};
      const audit = new AuditLog(openDb(${JSON.stringify(d)}), ${JSON.stringify(join(d, 'warden.db.head'))});
      const e = (i) => ({ callId: 'child-' + i, principal: 'child', transport: 'cli', tool: 'list_containers', args: {}, argsHash: 'h', phase: 'completed' });
      for (let i = 0; ; i += 5) {
        await Promise.all([0, 1, 2, 3, 4].map((k) => audit.appendBatched(e(i + k), 60000)));
        if (i === 50) console.log('going');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('going')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the child did not start appending: ${out}`);
        await audit.appendBatched(entry('parent'), 60_000);
      }
      for (let i = 0; i < 20; i += 1) await audit.appendBatched(entry(`parent-${i}`), 60_000);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const result = audit.verify({ requireAnchor: true });
    expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
    const callIds = audit.list().map((e) => e.callId);
    expect(callIds.filter((c) => c.startsWith('child-')).length).toBeGreaterThanOrEqual(55);
    expect(callIds.filter((c) => c.startsWith('parent-'))).toHaveLength(20);
    // The chain goes on from where the killed process left it.
    await audit.appendBatched(entry('after'), 1_000);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: callIds.length + 1 });
  }, 60_000);
});

/** A process appending `rounds` times: batched entries, synchronous appends and appends nested in another store's transaction. */
function appender(d: string, name: string, rounds: number): Promise<string> {
  const src = (f: string): string => JSON.stringify(new URL(`../../src/store/${f}`, import.meta.url).pathname);
  // Each id is taken before its write is tried: a write retried while the lock is busy is still one entry.
  const script = `
    import { AuditLog } from ${src('audit.ts')};
    import { openDb } from ${src('db.ts')};
    import { whenFree } from ${src('busy.ts')};
    const db = openDb(${JSON.stringify(d)}, { busyTimeoutMs: 25 });
    const audit = new AuditLog(db, ${JSON.stringify(join(d, 'warden.db.head'))});
    const e = (id, phase = 'completed') => ({ callId: ${JSON.stringify(name)} + '-' + id, principal: ${JSON.stringify(name)}, transport: 'cli', tool: 't', args: { id }, argsHash: 'h', phase });
    let n = 0;
    for (let r = 0; r < ${rounds}; r += 1) {
      const batch = [0, 1, 2].map(() => audit.appendBatched(e(n++), 60000));
      const now = e(n++, 'requested');
      await whenFree(() => audit.append(now), { waitMs: 60000 });
      if (r % 5 === 0) {
        const nested = e(n++);
        await whenFree(() => db.transaction(() => { db.prepare('INSERT INTO side_${name} VALUES (1)').run(); audit.append(nested); }).immediate(), { waitMs: 60000 });
      }
      await Promise.all(batch);
    }
    audit.close();
    console.log('done ' + n);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  return new Promise<string>((resolve) => child.on('exit', () => resolve(out)));
}

describe('two processes appending at once, each with a serving connection', () => {
  it('build one gapless chain holding every entry, that verifies against the anchor', async () => {
    const d = dir();
    // Migrated, and each process's own table made, before both start.
    const setup = openDb(d);
    setup.exec('CREATE TABLE side_a (x); CREATE TABLE side_b (x)');
    setup.close();
    const outs = await Promise.all([appender(d, 'a', 150), appender(d, 'b', 150)]);
    for (const o of outs) expect(o).toMatch(/^done \d+$/m);
    const total = outs.reduce((n, o) => n + Number(/done (\d+)/.exec(o)![1]), 0);
    const { audit } = open(d);
    const r = audit.verify({ requireAnchor: true });
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true, entries: total });
    expect(new Set(audit.list().map((x) => x.callId)).size).toBe(total);
  }, 120_000);
});

describe('closing', () => {
  it('writes what is still queued', async () => {
    const { audit } = open(dir());
    const queued = audit.appendBatched(entry('last'), 1_000);
    audit.close();
    expect(await queued).toMatchObject({ seq: 1 });
    await expect(audit.appendBatched(entry('too late'), 1_000)).rejects.toThrow(/closed/);
  });

  it("waits out another process's lock held past a serving connection's busy timeout, and lands the queued entry", async () => {
    const d = dir();
    const { audit, db } = open(d, SERVER_BUSY_TIMEOUT_MS);
    audit.append(entry('restart', 'requested'));
    // Another warden process: a transaction of 300 ms (an inventory load, an archive).
    const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const script = `const D = require(${JSON.stringify(betterSqlite)}); const db = new D(${JSON.stringify(join(d, DB_FILE))});
      db.exec('BEGIN IMMEDIATE'); console.log('locked');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300); db.exec('COMMIT'); db.close();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    try {
      await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('locked')) resolve(); }));
      const outcome = audit.appendBatched(entry('restart'), 10 * 60_000);
      audit.close();
      expect(await outcome).toMatchObject({ seq: 2 });
      expect(db.pragma('busy_timeout', { simple: true }), 'the connection keeps its own timeout').toBe(SERVER_BUSY_TIMEOUT_MS);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }, 20_000);
});

describe("appends inside another store's transaction", () => {
  it('are named by the anchor and the listeners only once it commits', async () => {
    const { db, audit, commits } = open(dir());
    audit.append(entry('first'));
    db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS scratch (x)');
      audit.append(entry('engage'));
      audit.append(entry('again'));
      expect(audit.readCheckpoint()?.seq, 'not yet: the outer transaction may still roll back').toBe(1);
    }).immediate();
    await Promise.resolve();
    expect(audit.readCheckpoint()?.seq).toBe(3);
    expect(commits).toEqual([[1, 1], [3, 2]]);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 3 });
  });

  it('leave the anchor and the listeners naming only committed entries when it rolls back', async () => {
    const d = dir();
    const { db, audit, commits } = open(d);
    audit.append(entry('first'));
    // As the kill switch's transaction would, with its COMMIT failing (disk full, I/O error) after the record.
    expect(() => db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS scratch (x)');
      audit.append(entry('engage'));
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    }).immediate()).toThrow(/full/);
    await Promise.resolve();
    expect(audit.list().map((e) => e.callId)).toEqual(['first']);
    expect(audit.readCheckpoint()?.seq, 'the anchor would name an entry that was rolled back').toBe(1);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true });
    // A signed checkpoint of seq 2 would be sent, then seq 2 reused with another hash.
    expect(commits).toEqual([[1, 1]]);
    expect(audit.append(entry('next')).seq).toBe(2);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 2 });
  });

  it("are the audit's own transaction for the kill switch: the anchor names its entry when set returns", () => {
    const { db, audit } = open(dir());
    const heard: Checkpoint[] = [];
    audit.onAppend((head) => heard.push(head));
    new KillSwitchStore(db, audit).set(true, 'alice', 'maintenance', () => audit.append(entry('killswitch.on')));
    expect(audit.readCheckpoint()?.seq).toBe(1);
    expect(heard.map((h) => h.seq)).toEqual([1]);
    expect(() => new KillSwitchStore(db, audit).set(false, 'bob', null, () => { audit.append(entry('killswitch.off')); throw new Error('no'); })).toThrow('no');
    expect(new KillSwitchStore(db).state()).toMatchObject({ on: true, by: 'alice' });
    expect(audit.readCheckpoint()?.seq).toBe(1);
    expect(audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 1 });
  });
});
