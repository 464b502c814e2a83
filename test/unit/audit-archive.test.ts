// Audit retention by archiving: entries leave the live table only into signed gzip segments whose
// chain continues into it, never the head nor an active incident's, and verify walks them all.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditLog, type AuditInput } from '../../src/store/audit.js';
import {
  ARCHIVE_DIR, archiveAudit, checkArchives, signSegment, type ArchiveOptions,
} from '../../src/store/audit-archive.js';
import { DatabaseBusy } from '../../src/store/busy.js';
import { canonicalJson } from '../../src/store/canonical.js';
import { openDb, type Db } from '../../src/store/db.js';
import { tempDir } from '../support/processes.js';

const DAY = 86_400_000;
const NOW = new Date();

afterEach(() => { vi.useRealTimers(); });

const entry = (i: number, extra: Partial<AuditInput> = {}): AuditInput => ({
  callId: `c${i}`, principal: 'local', transport: 'stdio', tool: 'restart_container', target: `local/web-${i}`,
  args: { container: `web-${i}` }, argsHash: 'h', risk: 'low', decision: 'notify', rule: 'default:low', phase: 'requested', ...extra,
});

/** `old` entries written three days ago, then `recent` ones now. */
function world(old: number, recent = 0, tag: (i: number) => Partial<AuditInput> = () => ({})): { db: Db; audit: AuditLog; dir: string; key: KeyObject } {
  const dir = tempDir('audit-archive');
  const db = openDb(dir);
  const audit = new AuditLog(db, join(dir, 'warden.db.head'));
  vi.useFakeTimers({ toFake: ['Date'], now: NOW.getTime() - 3 * DAY });
  for (let i = 1; i <= old; i += 1) audit.append(entry(i, tag(i)));
  vi.useRealTimers();
  for (let i = old + 1; i <= old + recent; i += 1) audit.append(entry(i, tag(i)));
  return { db, audit, dir, key: generateKeyPairSync('ed25519').privateKey };
}

const opts = (extra: Partial<ArchiveOptions> = {}): ArchiveOptions => ({ before: new Date(NOW.getTime() - 2 * DAY), by: 'alice', transport: 'cli', ...extra });

function verify(w: { db: Db; audit: AuditLog; dir: string }, key: KeyObject | undefined) {
  return w.audit.verify({ archive: checkArchives(w.db, w.dir, key) });
}

/** What an intruder does to a segment file: rewrite its lines, then gzip them again. */
function rewriteSegment(dir: string, file: string, edit: (rows: Array<Record<string, unknown>>) => void): void {
  const path = join(dir, ARCHIVE_DIR, file);
  const rows = gunzipSync(readFileSync(path)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  edit(rows);
  writeFileSync(path, gzipSync(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`));
}

describe('archiving the audit', () => {
  it('moves the old entries into one signed 0600 segment whose chain continues into the live table', async () => {
    const w = world(10, 2);
    const r = await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(r).toMatchObject({ entries: 10, segments: [{ firstSeq: 1, lastSeq: 10, entries: 10, signature: expect.stringMatching(/^[0-9a-f]{16}:[0-9a-f]{128}$/) }] });
    expect(r.stoppedAt).toMatch(/^entry 11 was written at .*, not before /);
    const file = join(w.dir, ARCHIVE_DIR, r.segments[0]!.file);
    expect(statSync(join(w.dir, ARCHIVE_DIR)).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(w.dir, ARCHIVE_DIR))).toEqual([r.segments[0]!.file]);
    const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(10);
    expect(Object.keys(lines[0]!)).toEqual(expect.arrayContaining(['seq', 'call_id', 'args_hash', 'prev_hash', 'hash', 'target_id', 'dry_run']));
    expect(w.audit.list().map((e) => e.seq)).toEqual([11, 12, 13]);
    expect(verify(w, w.key)).toMatchObject({ ok: true, entries: 13, archived: { entries: 10, segments: 1 }, warnings: [] });
  });

  it('records the act itself in the chain as audit.archive', async () => {
    const w = world(4, 1);
    const r = await archiveAudit(w.db, w.audit, w.dir, w.key, opts({ by: 'alice', transport: 'internal' }));
    const act = w.audit.list().at(-1)!;
    expect(act).toMatchObject({
      seq: 6, tool: 'audit.archive', principal: 'alice', transport: 'internal', target: 'audit', phase: 'completed',
      args: canonicalJson({ before: opts().before.toISOString(), firstSeq: 1, lastSeq: 4, file: r.segments[0]!.file }),
    });
    expect(act.result).toMatch(/^entries 1\.\.4 \(4\) archived into audit-archive\/audit-000000000001-000000000004-[0-9a-f]{8}\.jsonl\.gz$/);
  });

  it('never archives the newest entry, so appends and the anchor still have a head', async () => {
    const w = world(5);
    const r = await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(r).toMatchObject({ entries: 4, segments: [{ firstSeq: 1, lastSeq: 4 }], stoppedAt: 'entry 5 is the newest, which the live table keeps' });
    expect(w.audit.list().map((e) => e.seq)).toEqual([5, 6]);
    // A later run: entry 5 is old and no longer the newest; the first run's own entry now is.
    const again = await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(again).toMatchObject({ entries: 1, segments: [{ firstSeq: 5, lastSeq: 5 }], stoppedAt: 'entry 6 is the newest, which the live table keeps' });
    expect(w.audit.list().map((e) => e.seq)).toEqual([6, 7]);
    expect(w.audit.verify({ requireAnchor: true, archive: checkArchives(w.db, w.dir, w.key) })).toMatchObject({ ok: true, entries: 7, archived: { entries: 5, segments: 2 } });
  });

  it('stops before the first entry of an incident still active, and takes those of a closed one', async () => {
    const w = world(8, 1, (i) => (i === 3 ? { incidentId: 'inc-closed' } : i === 6 ? { incidentId: 'inc-active' } : {}));
    const incident = w.db.prepare(`INSERT INTO incidents (id, fingerprint, opened_at, updated_at, status, source, title) VALUES (?, ?, ?, ?, ?, 'test', 't')`);
    incident.run('inc-closed', 'f1', NOW.toISOString(), NOW.toISOString(), 'resolved');
    incident.run('inc-active', 'f2', NOW.toISOString(), NOW.toISOString(), 'waiting_approval');
    const r = await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(r).toMatchObject({ entries: 5, segments: [{ firstSeq: 1, lastSeq: 5 }], stoppedAt: 'entry 6 is of incident inc-active, still waiting_approval' });
    expect(w.audit.forIncident('inc-active').map((e) => e.seq)).toEqual([6]);
  });

  it('splits a long run into segments of at most maxSegmentEntries, each verified in turn', async () => {
    const w = world(10, 1);
    const r = await archiveAudit(w.db, w.audit, w.dir, w.key, opts({ maxSegmentEntries: 4 }));
    expect(r.segments.map((s) => [s.firstSeq, s.lastSeq])).toEqual([[1, 4], [5, 8], [9, 10]]);
    expect(w.audit.list().filter((e) => e.tool === 'audit.archive')).toHaveLength(3);
    expect(verify(w, w.key)).toMatchObject({ ok: true, entries: 14, archived: { entries: 10, segments: 3 } });
  });

  it('refuses a before less than 24 hours ago, or within the longest limit window given', async () => {
    const w = world(3);
    await expect(archiveAudit(w.db, w.audit, w.dir, w.key, opts({ before: new Date(NOW.getTime() - 3_600_000) }))).rejects.toThrow(/^before: .* is less than 24 h ago/);
    await expect(archiveAudit(w.db, w.audit, w.dir, w.key, opts({ minAgeMs: 3 * DAY }))).rejects.toThrow(/less than 72 h ago/);
    expect(existsSync(join(w.dir, ARCHIVE_DIR))).toBe(false);
  });

  it('is nothing to do, not an error, when no entry is old enough', async () => {
    const w = world(0, 3);
    expect(await archiveAudit(w.db, w.audit, w.dir, w.key, opts())).toMatchObject({ entries: 0, segments: [], stoppedAt: expect.stringMatching(/^entry 1 was written at/) });
  });

  it('waits for another process holding the write lock, then commits', async () => {
    const w = world(4, 1);
    const db = openDb(w.dir, { busyTimeoutMs: 0 });
    const audit = new AuditLog(db, join(w.dir, 'warden.db.head'));
    w.db.exec('BEGIN IMMEDIATE');
    setTimeout(() => w.db.exec('COMMIT'), 150);
    const r = await archiveAudit(db, audit, w.dir, w.key, opts({ busyWaitMs: 5_000 }));
    expect(r.entries).toBe(4);
    expect(verify(w, w.key)).toMatchObject({ ok: true, entries: 6 });
  });

  it('leaves no file behind when the lock stays taken for the whole wait', async () => {
    const w = world(4, 1);
    const db = openDb(w.dir, { busyTimeoutMs: 0 });
    w.db.exec('BEGIN IMMEDIATE');
    try {
      await expect(archiveAudit(db, new AuditLog(db, null), w.dir, w.key, opts({ busyWaitMs: 100 }))).rejects.toThrow(DatabaseBusy);
    } finally {
      w.db.exec('COMMIT');
    }
    expect(readdirSync(join(w.dir, ARCHIVE_DIR))).toEqual([]);
    expect(w.audit.list()).toHaveLength(5);
  });

  it('writes a long segment in several gzip members that read back as one, and names the entry a damaged byte garbled', async () => {
    const w = world(0);
    vi.useFakeTimers({ toFake: ['Date'], now: NOW.getTime() - 3 * DAY });
    w.audit.atomically(() => { for (let i = 1; i <= 1_200; i += 1) w.audit.append(entry(i)); });
    vi.useRealTimers();
    w.audit.append(entry(1_201));
    const r = await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(r.segments.map((s) => [s.firstSeq, s.lastSeq])).toEqual([[1, 1_200]]);
    expect(verify(w, w.key)).toMatchObject({ ok: true, entries: 1_202, archived: { entries: 1_200, segments: 1 } });
    const path = join(w.dir, ARCHIVE_DIR, r.segments[0]!.file);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(path, bytes);
    const result = verify(w, w.key);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining(`segment ${ARCHIVE_DIR}/${r.segments[0]!.file}: `) });
    // Not the segment's first entry: what precedes the damage is read and checked.
    expect(result.ok === false && result.brokenAt).toBeGreaterThan(100);
  });

  // 10: the second finds the range gone at its commit; 1,200: while it reads (a batch at a time).
  it.each([10, 1_200])('two archives of %i entries at once on two connections: one commits the segment, the other leaves no file', async (n) => {
    const w = world(0);
    vi.useFakeTimers({ toFake: ['Date'], now: NOW.getTime() - 3 * DAY });
    w.audit.atomically(() => { for (let i = 1; i <= n; i += 1) w.audit.append(entry(i)); });
    vi.useRealTimers();
    w.audit.append(entry(n + 1));
    const other = openDb(w.dir);
    const results = await Promise.all([
      archiveAudit(w.db, w.audit, w.dir, w.key, opts()),
      archiveAudit(other, new AuditLog(other, join(w.dir, 'warden.db.head')), w.dir, w.key, opts({ by: 'bob' })),
    ]);
    expect(results.flatMap((r) => r.segments).map((s) => [s.firstSeq, s.lastSeq])).toEqual([[1, n]]);
    expect(readdirSync(join(w.dir, ARCHIVE_DIR))).toEqual(results.flatMap((r) => r.segments).map((s) => s.file));
    expect(verify(w, w.key)).toMatchObject({ ok: true, entries: n + 2, warnings: [] });
  });

  it('refuses to archive a chain that is already broken', async () => {
    const w = world(5, 1);
    w.db.exec(`DROP TRIGGER audit_no_update; UPDATE audit SET target = 'x' WHERE seq = 3`);
    await expect(archiveAudit(w.db, w.audit, w.dir, w.key, opts())).rejects.toThrow(/chain is broken at entry 3: nothing was archived/);
    expect(readdirSync(join(w.dir, ARCHIVE_DIR))).toEqual([]);
  });
});

describe('the append-only triggers with archives', () => {
  it('refuse deleting an entry no segment holds, and any change to a segment record', async () => {
    const w = world(5, 1);
    expect(() => w.db.exec('DELETE FROM audit WHERE seq = 2')).toThrow(/only entries held by an archive segment may leave/);
    await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(() => w.db.exec('DELETE FROM audit WHERE seq = 6')).toThrow(/append-only/);
    expect(() => w.db.exec(`UPDATE audit_archives SET sha256 = 'x'`)).toThrow(/audit archives are append-only/);
    expect(() => w.db.exec('DELETE FROM audit_archives')).toThrow(/audit archives are append-only/);
  });
});

describe('verifying the archives', () => {
  async function archived() {
    const w = world(6, 1);
    const r = await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    return { ...w, file: r.segments[0]!.file, path: join(w.dir, ARCHIVE_DIR, r.segments[0]!.file) };
  }

  it('catches an entry edited inside the segment, naming the file and the entry', async () => {
    const w = await archived();
    rewriteSegment(w.dir, w.file, (rows) => { rows[3]!.principal = 'mallory'; });
    expect(verify(w, w.key)).toMatchObject({ ok: false, brokenAt: 4, reason: `segment ${ARCHIVE_DIR}/${w.file}: entry 4 was altered (hash mismatch)` });
  });

  it('catches a cut file at the first entry it lost', async () => {
    const w = await archived();
    const bytes = readFileSync(w.path);
    writeFileSync(w.path, bytes.subarray(0, bytes.length - 12));
    const r = verify(w, w.key);
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining(`segment ${ARCHIVE_DIR}/${w.file}: `) });
    expect(r.ok === false && r.brokenAt).toBeLessThanOrEqual(6);
  });

  it('catches a file that is not gzip at all', async () => {
    const w = await archived();
    writeFileSync(w.path, 'not gzip');
    expect(verify(w, w.key)).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringMatching(/: the file is not readable gzip/) });
  });

  it('catches a missing file', async () => {
    const w = await archived();
    rmSync(w.path);
    expect(verify(w, w.key)).toMatchObject({ ok: false, brokenAt: 1, reason: `segment ${ARCHIVE_DIR}/${w.file}: the file is missing (entries 1..6)` });
  });

  it('catches a record rewritten to match an edited file: its signature no longer verifies', async () => {
    const w = await archived();
    rewriteSegment(w.dir, w.file, (rows) => { rows[0]!.result = 'nothing happened'; });
    const sum = createHash('sha256').update(readFileSync(w.path)).digest('hex');
    w.db.exec(`DROP TRIGGER audit_archives_no_update; UPDATE audit_archives SET sha256 = '${sum}'`);
    expect(verify(w, w.key)).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringMatching(/its signature does not verify with key [0-9a-f]{16}: the segment record was altered or forged$/) });
  });

  it('catches a record that names a path outside the archive dir, without reading it', async () => {
    const w = await archived();
    w.db.exec(`DROP TRIGGER audit_archives_no_update; UPDATE audit_archives SET file = '../../warden.db'`);
    expect(verify(w, undefined)).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringMatching(/the record names "\.\.\/\.\.\/warden\.db", not a file of the archive dir/) });
  });

  it('catches a file recompressed or padded whose entries still chain, by its SHA-256', async () => {
    const w = await archived();
    writeFileSync(w.path, Buffer.concat([readFileSync(w.path), gzipSync('')]));
    expect(verify(w, w.key)).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringMatching(/SHA-256 mismatch/) });
  });

  it('catches a segment checked with a key that did not sign it', async () => {
    const w = await archived();
    expect(verify(w, generateKeyPairSync('ed25519').privateKey)).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringMatching(/it was signed by key [0-9a-f]{16}, not by key/) });
  });

  it('catches a whole segment removed with its record and entries', async () => {
    const w = world(8, 1);
    await archiveAudit(w.db, w.audit, w.dir, w.key, opts({ maxSegmentEntries: 4 }));
    w.db.exec(`DROP TRIGGER audit_archives_no_delete; DELETE FROM audit_archives WHERE first_seq = 5`);
    expect(verify(w, w.key)).toMatchObject({ ok: false, brokenAt: 5, reason: expect.stringMatching(/entry 5 is missing/) });
  });

  it('warns of an unsigned segment and of a missing key, and still walks the chain', async () => {
    const w = world(4, 1);
    const r = await archiveAudit(w.db, w.audit, w.dir, undefined, opts());
    expect(r.segments[0]!.signature).toBeNull();
    const result = verify(w, undefined);
    expect(result).toMatchObject({ ok: true, entries: 6 });
    expect(result.warnings).toEqual([
      "no audit key to check the archive segments' signatures with: pass --pubkey FILE, the public key you kept",
      expect.stringMatching(/^segment audit-archive\/.* \(entries 1\.\.4\) is not signed/),
    ]);
  });

  it('warns of, and ignores, a file no record names (an archive that crashed before its commit)', async () => {
    const w = await archived();
    writeFileSync(join(w.dir, ARCHIVE_DIR, 'audit-000000000008-000000000009-deadbeef.jsonl.gz'), gzipSync('{}\n'));
    const r = verify(w, w.key);
    expect(r).toMatchObject({ ok: true, warnings: [expect.stringMatching(/audit-000000000008-000000000009-deadbeef\.jsonl\.gz is in no archive record/)] });
  });

  it('holds an archived entry to a kept checkpoint that names it', async () => {
    const w = world(6, 1);
    const third = w.audit.list().find((e) => e.seq === 3)!;
    await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(w.audit.verify({ kept: [{ seq: 3, hash: third.hash }], archive: checkArchives(w.db, w.dir, w.key) })).toMatchObject({ ok: true });
    expect(w.audit.verify({ kept: [{ seq: 3, hash: 'f'.repeat(64) }], archive: checkArchives(w.db, w.dir, w.key) }))
      .toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/^segment .*: entry 3 differs from the signed checkpoint/) });
  });

  it('without the archive check, AuditLog.verify continues from the newest record and says what it skipped', async () => {
    const w = world(6, 1);
    await archiveAudit(w.db, w.audit, w.dir, w.key, opts());
    expect(w.audit.verify()).toMatchObject({ ok: true, entries: 8, archived: { entries: 6, segments: 1 }, warnings: ['6 archived entries in 1 segments were not checked (warden audit verify checks them)'] });
  });

  it('signs a statement of the whole record: the same segment with another range signs differently', () => {
    const key = generateKeyPairSync('ed25519').privateKey;
    const seg = { file: 'f', firstSeq: 1, lastSeq: 2, entries: 2, firstPrevHash: '0'.repeat(64), lastHash: 'a'.repeat(64), sha256: 'b'.repeat(64) };
    expect(signSegment(key, seg)).not.toBe(signSegment(key, { ...seg, lastSeq: 3 }));
  });
});
