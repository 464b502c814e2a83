// Audit retention that never deletes: the oldest entries move into gzip segment files under
// <data-dir>/audit-archive/, each recorded and signed in audit_archives by the same transaction that
// takes them out of the live table. It never moves the head, nor an entry of an active incident.
import { createHash, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import {
  closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { constants as zlib, gunzipSync, gzipSync } from 'node:zlib';
import { CommandError, InputError, errorMessage } from '../errors.js';
import { ACTIVE_STATUSES } from '../shared/incident-machine.js';
import {
  GENESIS_HASH, STORED_COLUMNS, entryFromStored, entryHash, type ArchiveCheck, type AuditLog, type ChainBreak, type ChainWalk,
  type StoredAuditRow,
} from './audit.js';
import { keyIdOf } from './audit-key.js';
import { whenFree } from './busy.js';
import { canonicalJson, sha256 } from './canonical.js';
import type { Db } from './db.js';

export const ARCHIVE_DIR = 'audit-archive';
/**
 * The youngest entries an archive may take: policy limits count calls in their windows from the
 * live table, and the loop's preconditions read its last day (a person's stop is kept apart, in
 * stop_intents, so archiving never loses it). A policy limit with a longer window
 * raises it (`minAgeMs`); policy-file.ts sets no upper bound on windows.
 */
export const MIN_ARCHIVE_AGE_MS = 24 * 3_600_000;
/**
 * One segment's entries leave the table in one transaction, which holds the write lock (and a
 * server's event loop) while it deletes them: about 0.3 s for this many on a slow disk, well within
 * the 2 s a tool call waits for the lock. A larger backlog simply takes several segments.
 */
export const MAX_SEGMENT_ENTRIES = 20_000;
/**
 * Rows read, checked and compressed at a time, each batch one gzip member (gunzip reads them as one
 * stream): memory stays bounded, and the event loop is given back between batches.
 */
const CHUNK_ROWS = 500;
/** Plans overtaken by another process's archive in a row before giving up. */
const MAX_STALE_PLANS = 5;

export interface ArchiveSegment {
  /** Relative to the archive dir. */
  file: string;
  firstSeq: number;
  lastSeq: number;
  entries: number;
  firstPrevHash: string;
  lastHash: string;
  /** Of the file's bytes, hex. */
  sha256: string;
  /** `keyId:hex` (Ed25519 over the segment statement), or null when there was no key. */
  signature: string | null;
}

export interface ArchiveOptions {
  /** Only entries written before this time move, and only from the oldest on without a gap. */
  before: Date;
  /** Who archives: the audit.archive entry's principal. */
  by: string;
  transport: 'cli' | 'internal';
  now?: Date;
  /** Raised to at least MIN_ARCHIVE_AGE_MS: pass the longest policy limit window when it is longer. */
  minAgeMs?: number;
  maxSegmentEntries?: number;
  /** How long each commit waits for another process's write lock (busy.ts); 10 s unless given. */
  busyWaitMs?: number;
  /** Shutdown: no further segment is begun once it aborts; a segment already committed stays. */
  signal?: AbortSignal;
}

export interface ArchiveResult {
  segments: ArchiveSegment[];
  entries: number;
  /** Why archiving stopped where it did (the head, a newer entry, an active incident), when it did. */
  stoppedAt: string | null;
}

export function archiveDir(dataDir: string): string {
  return join(dataDir, ARCHIVE_DIR);
}

/** Null when entries before `before` may be archived at `now`; else why not. */
export function beforeProblem(before: Date, now: Date, minAgeMs = MIN_ARCHIVE_AGE_MS): string | null {
  if (Number.isNaN(before.getTime())) return 'not a date';
  const ageMs = Math.max(MIN_ARCHIVE_AGE_MS, minAgeMs);
  if (before.getTime() > now.getTime() - ageMs) {
    return `${before.toISOString()} is less than ${Math.round(ageMs / 3_600_000)} h ago: policy limits and the loop read the recent audit from the live table`;
  }
  return null;
}

/** What a segment's signature covers; `kind` keeps it from ever reading as a signed checkpoint. */
function statement(seg: Omit<ArchiveSegment, 'signature'>): Buffer {
  return Buffer.from(canonicalJson({
    kind: 'warden.audit.segment', file: seg.file, sha256: seg.sha256, firstSeq: seg.firstSeq, lastSeq: seg.lastSeq,
    entries: seg.entries, firstPrevHash: seg.firstPrevHash, lastHash: seg.lastHash,
  }), 'utf8');
}

export function signSegment(privateKey: KeyObject, seg: Omit<ArchiveSegment, 'signature'>): string {
  return `${keyIdOf(privateKey)}:${sign(null, statement(seg), privateKey).toString('hex')}`;
}

/** Null when `key` signed the segment's record; else why not. */
export function segmentSignatureProblem(key: KeyObject, seg: ArchiveSegment): string | null {
  const [keyId, hex] = (seg.signature ?? '').split(':');
  const expected = keyIdOf(key);
  if (keyId !== expected) return `it was signed by key ${keyId ?? '?'}, not by key ${expected}`;
  const ok = /^[0-9a-f]{128}$/.test(hex ?? '') && verify(null, statement(seg), key, Buffer.from(hex!, 'hex'));
  return ok ? null : `its signature does not verify with key ${expected}: the segment record was altered or forged`;
}

/**
 * Moves the oldest entries written before `opts.before` into segment files, as many segments as it
 * takes. The file is written and synced first, then one IMMEDIATE transaction records it, removes
 * its entries and appends the `audit.archive` entry; a crash in between leaves a file nothing
 * refers to, which verify reports and ignores. Waits for another process's lock from a timer.
 */
export async function archiveAudit(db: Db, audit: AuditLog, dataDir: string, key: KeyObject | undefined, opts: ArchiveOptions): Promise<ArchiveResult> {
  const problem = beforeProblem(opts.before, opts.now ?? new Date(), opts.minAgeMs);
  if (problem) throw new InputError(`before: ${problem}`);
  const dir = archiveDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const segments: ArchiveSegment[] = [];
  // The head as the run starts: the run's own audit.archive entries must not make it archive that one too.
  const head = (db.prepare('SELECT max(seq) AS seq FROM audit').get() as { seq: number | null }).seq;
  if (head === null) return { segments, entries: 0, stoppedAt: 'the audit is empty' };
  let stale = 0;
  for (;;) {
    if (opts.signal?.aborted) return { segments, entries: segments.reduce((n, s) => n + s.entries, 0), stoppedAt: 'stopped: warden is shutting down' };
    const plan = planSegment(db, head, opts.before, opts.maxSegmentEntries ?? MAX_SEGMENT_ENTRIES);
    if (!plan.range) return { segments, entries: segments.reduce((n, s) => n + s.entries, 0), stoppedAt: plan.stoppedAt };
    const seg = await writeSegment(db, dir, plan.range, key);
    if (!seg) {
      stale += 1;
      if (stale >= MAX_STALE_PLANS) throw overtaken(stale);
      continue;
    }
    let committed: boolean;
    try {
      committed = await whenFree(() => commitSegment(db, audit, seg, opts), { waitMs: opts.busyWaitMs ?? 10_000, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      dropUnreferenced(db, dir, seg.file);
      throw err;
    }
    if (committed) {
      segments.push(seg);
      stale = 0;
      continue;
    }
    dropUnreferenced(db, dir, seg.file);
    stale += 1;
    if (stale >= MAX_STALE_PLANS) throw overtaken(stale);
  }
}

function overtaken(times: number): CommandError {
  return new CommandError(`the audit changed under the archive ${times} times in a row (another archive running?): try again`);
}

/** Our own file, once no row refers to it; left in place when that cannot be told (verify warns of it). */
function dropUnreferenced(db: Db, dir: string, file: string): void {
  try {
    if (!db.prepare('SELECT 1 FROM audit_archives WHERE file = ?').get(file)) rmSync(join(dir, file), { force: true });
  } catch {
    // An orphan file is harmless; a removed referenced one would not be.
  }
}

interface SegmentRange {
  /** The newest archived entry before this segment (seq 0 and GENESIS_HASH when none). */
  after: { seq: number; hash: string };
  lastSeq: number;
}

function planSegment(db: Db, head: number, before: Date, maxEntries: number): { range: SegmentRange | null; stoppedAt: string | null } {
  const archived = db.prepare('SELECT last_seq AS seq, last_hash AS hash FROM audit_archives ORDER BY last_seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const after = archived ?? { seq: 0, hash: GENESIS_HASH };
  const active = new Map((db.prepare(`SELECT id, status FROM incidents WHERE status IN (SELECT value FROM json_each(?))`)
    .all(JSON.stringify(ACTIVE_STATUSES)) as Array<{ id: string; status: string }>).map((i) => [i.id, i.status]));
  const beforeIso = before.toISOString();
  let lastSeq: number | null = null;
  let stoppedAt: string | null = null;
  const rows = db.prepare('SELECT seq, time, incident_id AS incidentId FROM audit WHERE seq > ? ORDER BY seq LIMIT ?')
    .iterate(after.seq, maxEntries) as Iterable<{ seq: number; time: string; incidentId: string | null }>;
  for (const row of rows) {
    // The head stays: appends chain onto it, and the anchor and the checkpoints name it.
    if (row.seq >= head) stoppedAt = `entry ${row.seq} is the newest, which the live table keeps`;
    else if (row.time >= beforeIso) stoppedAt = `entry ${row.seq} was written at ${row.time}, not before ${beforeIso}`;
    // The loop resumes an active incident from its audit entries (AuditLog.forIncident).
    else if (row.incidentId !== null && active.has(row.incidentId)) stoppedAt = `entry ${row.seq} is of incident ${row.incidentId}, still ${active.get(row.incidentId)}`;
    if (stoppedAt) break;
    lastSeq = row.seq;
  }
  return { range: lastSeq === null ? null : { after, lastSeq }, stoppedAt };
}

/**
 * Writes the range's entries as stored, checking their chain on the way; returns the signed
 * segment, or null when another process archived some of them meanwhile (nothing is left behind).
 */
async function writeSegment(db: Db, dir: string, range: SegmentRange, key: KeyObject | undefined): Promise<ArchiveSegment | null> {
  const pad = (n: number): string => String(n).padStart(12, '0');
  // The random part: a file left by a crashed archive of the same range is never overwritten.
  const file = `audit-${pad(range.after.seq + 1)}-${pad(range.lastSeq)}-${randomBytes(4).toString('hex')}.jsonl.gz`;
  const temp = join(dir, `.${file}.tmp`);
  const digest = createHash('sha256');
  let prevHash = range.after.hash;
  let nextSeq = range.after.seq + 1;
  let fd: number | undefined = openSync(temp, 'wx', 0o600);
  try {
    const chunk = db.prepare('SELECT * FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?');
    const archivedMeanwhile = db.prepare('SELECT 1 FROM audit_archives WHERE ? BETWEEN first_seq AND last_seq');
    const broken = (seq: number): CommandError => new CommandError(`the audit chain is broken at entry ${seq}: nothing was archived; run warden audit verify`);
    while (nextSeq <= range.lastSeq) {
      // Each batch is its own statement, and the event loop runs between them: rows may be gone.
      if (nextSeq > range.after.seq + 1) await new Promise((resolve) => setImmediate(resolve));
      const rows = chunk.all(nextSeq, range.lastSeq, CHUNK_ROWS) as StoredAuditRow[];
      if (rows[0]?.seq !== nextSeq && archivedMeanwhile.get(nextSeq)) return null;
      if (rows.length === 0) throw broken(nextSeq);
      const lines: string[] = [];
      for (const row of rows) {
        const { hash, ...body } = entryFromStored(row);
        if (row.seq !== nextSeq || row.prev_hash !== prevHash || entryHash(body) !== hash) throw broken(Math.min(row.seq, nextSeq));
        lines.push(JSON.stringify(row));
        prevHash = hash;
        nextSeq += 1;
      }
      const member = gzipSync(`${lines.join('\n')}\n`);
      digest.update(member);
      for (let off = 0; off < member.length;) off += writeSync(fd, member, off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    // A link, not a rename: it fails rather than replace a file of the same name.
    linkSync(temp, join(dir, file));
  } catch (err) {
    throw err instanceof CommandError ? err : new CommandError(`cannot write ${join(dir, file)}: ${errorMessage(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
  }
  syncDir(dir);
  const entries = range.lastSeq - range.after.seq;
  const seg = { file, firstSeq: range.after.seq + 1, lastSeq: range.lastSeq, entries, firstPrevHash: range.after.hash, lastHash: prevHash, sha256: digest.digest('hex') };
  return { ...seg, signature: key ? signSegment(key, seg) : null };
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Records the segment, removes its entries and audits the act, in one IMMEDIATE transaction.
 * False (nothing written) when the live table no longer starts with exactly what the file holds:
 * another process archived first, or an incident in the range became active.
 */
function commitSegment(db: Db, audit: AuditLog, seg: ArchiveSegment, opts: ArchiveOptions): boolean {
  return audit.atomically(() => {
    const first = db.prepare('SELECT seq, prev_hash AS prevHash FROM audit ORDER BY seq LIMIT 1').get() as { seq: number; prevHash: string } | undefined;
    const last = db.prepare('SELECT hash FROM audit WHERE seq = ?').get(seg.lastSeq) as { hash: string } | undefined;
    const span = db.prepare('SELECT count(*) AS n, (SELECT max(seq) FROM audit) AS head FROM audit WHERE seq BETWEEN ? AND ?').get(seg.firstSeq, seg.lastSeq) as { n: number; head: number };
    const activeInRange = db.prepare(`SELECT 1 FROM incidents i WHERE i.status IN (SELECT value FROM json_each(?))
      AND EXISTS (SELECT 1 FROM audit a WHERE a.incident_id = i.id AND a.seq BETWEEN ? AND ?) LIMIT 1`)
      .get(JSON.stringify(ACTIVE_STATUSES), seg.firstSeq, seg.lastSeq);
    if (first?.seq !== seg.firstSeq || first.prevHash !== seg.firstPrevHash || last?.hash !== seg.lastHash
      || span.n !== seg.entries || span.head <= seg.lastSeq || activeInRange) return false;
    db.prepare(`INSERT INTO audit_archives (created_at, file, first_seq, last_seq, entries, first_prev_hash, last_hash, sha256, signature)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(new Date().toISOString(), seg.file, seg.firstSeq, seg.lastSeq, seg.entries, seg.firstPrevHash, seg.lastHash, seg.sha256, seg.signature);
    db.prepare('DELETE FROM audit WHERE seq BETWEEN ? AND ?').run(seg.firstSeq, seg.lastSeq);
    const args = { before: opts.before.toISOString(), firstSeq: seg.firstSeq, lastSeq: seg.lastSeq, file: seg.file };
    audit.append({
      callId: `audit.archive:${randomUUID()}`, principal: opts.by, transport: opts.transport, tool: 'audit.archive', target: 'audit',
      args, argsHash: sha256(canonicalJson(args)), phase: 'completed',
      result: `entries ${seg.firstSeq}..${seg.lastSeq} (${seg.entries}) archived into ${ARCHIVE_DIR}/${seg.file}${seg.signature ? '' : ', unsigned (no audit key)'}`,
    });
    return true;
  });
}

/**
 * The archive check for AuditLog.verify: every segment in order, its record's signature (with
 * `key`, the data dir's or one kept elsewhere; a warning without one), then its file's entries
 * walked as part of the chain, then the file against its record. Reads only.
 */
export function checkArchives(db: Db, dataDir: string, key: KeyObject | undefined): ArchiveCheck {
  return (walk) => {
    const warnings: string[] = [];
    const rows = db.prepare(`SELECT file, first_seq AS firstSeq, last_seq AS lastSeq, entries, first_prev_hash AS firstPrevHash,
      last_hash AS lastHash, sha256, signature FROM audit_archives ORDER BY first_seq`).all() as ArchiveSegment[];
    const dir = archiveDir(dataDir);
    const referenced = new Set(rows.map((r) => r.file));
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (!referenced.has(name)) warnings.push(`${ARCHIVE_DIR}/${name} is in no archive record (left by an archive that did not finish?): ignored`);
    }
    if (rows.length > 0 && !key) warnings.push('no audit key to check the archive segments\' signatures with: pass --pubkey FILE, the public key you kept');
    let entries = 0;
    for (const [i, seg] of rows.entries()) {
      const broken = checkSegment(dir, seg, walk, key, warnings);
      if (broken) return { broken, entries, segments: i, warnings };
      entries += seg.entries;
    }
    return { broken: null, entries, segments: rows.length, warnings };
  };
}

function checkSegment(dir: string, seg: ArchiveSegment, walk: ChainWalk, key: KeyObject | undefined, warnings: string[]): ChainBreak | null {
  const name = `segment ${ARCHIVE_DIR}/${seg.file}`;
  const at = (seq: number, why: string): ChainBreak => ({ brokenAt: seq, reason: `${name}: ${why}` });
  if (seg.signature === null) warnings.push(`${name} (entries ${seg.firstSeq}..${seg.lastSeq}) is not signed: its record is vouched for by the chain alone`);
  else if (key) {
    const problem = segmentSignatureProblem(key, seg);
    if (problem) return at(seg.firstSeq, problem);
  }
  if (seg.firstSeq !== walk.nextSeq) return at(walk.nextSeq, `entry ${walk.nextSeq} is missing (the segment starts at entry ${seg.firstSeq})`);
  if (seg.firstPrevHash !== walk.prevHash) return at(seg.firstSeq, `entry ${seg.firstSeq} does not follow entry ${seg.firstSeq - 1} (first_prev_hash mismatch)`);
  // A record naming a path outside the archive dir is forged: the archive only ever writes plain names there.
  if (!/^[A-Za-z0-9._-]+$/.test(seg.file) || seg.file.startsWith('.')) return at(seg.firstSeq, `the record names "${seg.file.slice(0, 80)}", not a file of the archive dir`);
  const path = join(dir, seg.file);
  if (!existsSync(path)) return at(seg.firstSeq, `the file is missing (entries ${seg.firstSeq}..${seg.lastSeq})`);
  const bytes = readFileSync(path);
  const { text, error } = gunzipLenient(bytes);
  const lines = text.split('\n');
  // The last piece is what follows the final newline: empty in a whole file, a torn line in a cut one.
  const torn = lines.pop();
  for (const line of lines) {
    const row = storedRow(line);
    if (!row) return at(walk.nextSeq, `entry ${walk.nextSeq} is not a stored audit entry`);
    if (row.seq > seg.lastSeq) return at(row.seq, `holds entry ${row.seq}, past its last entry ${seg.lastSeq}`);
    const broken = walk.step(entryFromStored(row));
    if (broken) return at(broken.brokenAt, broken.reason);
  }
  if (error || torn) {
    const read = walk.nextSeq - seg.firstSeq;
    return at(Math.min(walk.nextSeq, seg.lastSeq), read === 0 ? `the file is not readable gzip (${error ?? 'no newline at its end'})` : `the file is cut or corrupt after entry ${walk.nextSeq - 1} (${error ?? 'no newline at its end'})`);
  }
  if (walk.nextSeq !== seg.lastSeq + 1) return at(walk.nextSeq, `entries ${walk.nextSeq}..${seg.lastSeq} are missing from the file`);
  if (walk.prevHash !== seg.lastHash) return at(seg.lastSeq, `entry ${seg.lastSeq} differs from the segment record (last_hash mismatch)`);
  if (seg.entries !== seg.lastSeq - seg.firstSeq + 1) return at(seg.firstSeq, `the record says ${seg.entries} entries for entries ${seg.firstSeq}..${seg.lastSeq}`);
  if (sha256Of(bytes) !== seg.sha256) return at(seg.firstSeq, 'the file differs from the segment record (SHA-256 mismatch), though its entries chain');
  return null;
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The whole text, or as much as a cut or corrupt file gives before the damage, and why it stopped.
 * The longest prefix that still inflates is found by bisection (a prefix holding the damage fails,
 * every shorter one does not): what it yields up to the damage is walked, so the first entry the
 * damage garbled fails its hash and is named.
 */
function gunzipLenient(bytes: Buffer): { text: string; error: string | null } {
  try {
    return { text: gunzipSync(bytes).toString('utf8'), error: null };
  } catch (err) {
    const partial = (length: number): Buffer | null => {
      try {
        return gunzipSync(bytes.subarray(0, length), { finishFlush: zlib.Z_SYNC_FLUSH });
      } catch {
        return null;
      }
    };
    let [good, bad] = [0, bytes.length];
    while (bad - good > 1) {
      const mid = Math.floor((good + bad) / 2);
      if (partial(mid)) good = mid;
      else bad = mid;
    }
    return { text: (partial(good) ?? Buffer.alloc(0)).toString('utf8'), error: errorMessage(err) };
  }
}

/** A line as the archive wrote it: exactly the table's columns (less those added after it was written), each of its type; else null. */
export function storedRow(line: string): StoredAuditRow | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const columns = Object.entries(STORED_COLUMNS);
  const older = columns.filter(([column, kind]) => kind.addedLater && !(column in record)).length;
  if (Object.keys(record).length + older !== columns.length) return null;
  for (const [column, kind] of columns) {
    if (kind.addedLater && !(column in record)) continue;
    const v = record[column];
    if (v === null ? !kind.nullable : kind.integer ? !Number.isSafeInteger(v) : typeof v !== 'string') return null;
  }
  return record as unknown as StoredAuditRow;
}
