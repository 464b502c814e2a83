// Checking the audit chain: the anchor's two checksummed slots, and the walk over every entry,
// archived and live, that `warden audit verify` runs. Reads only; audit.ts is what appends.
import type { Db } from './db.js';
import { sha256 } from './canonical.js';
import { COLUMNS, GENESIS_HASH, entryHash, fromRow, type AuditEntry, type Checkpoint, type Row } from './audit-entry.js';

const SLOT_BYTES = 128;

/** `seq hash check`, padded to a fixed width; check covers seq and hash so a torn slot is ignored. */
export function encodeSlot(cp: Checkpoint): string {
  return `${cp.seq} ${cp.hash} ${sha256(`${cp.seq} ${cp.hash}`).slice(0, 16)}`.padEnd(SLOT_BYTES - 1) + '\n';
}

/** Where `cp` is written: two fixed slots by seq parity, so a torn write spoils one slot, never both. */
export function slotOffset(cp: Checkpoint): number {
  return (cp.seq % 2) * SLOT_BYTES;
}

/** The newest intact slot of a checkpoint file. */
export function decodeCheckpoint(text: string): Checkpoint | null {
  let best: Checkpoint | null = null;
  // A slot never written yet reads as NULs: they separate slots like newlines do.
  for (const line of text.split(/[\n\0]+/)) {
    const [seqText, hash, check] = line.trim().split(' ');
    const seq = Number(seqText);
    if (!Number.isInteger(seq) || !hash || check !== sha256(`${seq} ${hash}`).slice(0, 16)) continue;
    if (!best || seq > best.seq) best = { seq, hash };
  }
  return best;
}

/** `entries` counts every entry walked, archived ones included; `archived` those read from segments. */
export type VerifyResult =
  | { ok: true; entries: number; archived: ArchivedCount; warnings: string[] }
  | { ok: false; entries: number; archived: ArchivedCount; brokenAt: number; reason: string; warnings: string[] };

export interface ArchivedCount {
  entries: number;
  segments: number;
}

export interface ChainBreak {
  brokenAt: number;
  reason: string;
}

/** What walking the archive segments found: `broken` stops the verification there. */
export interface ArchiveCheckResult {
  broken: ChainBreak | null;
  entries: number;
  segments: number;
  warnings: string[];
}

/** Walks every archived entry through `walk`, oldest first, leaving it at the newest archived entry. */
export type ArchiveCheck = (walk: ChainWalk) => ArchiveCheckResult;

export interface VerifyOptions {
  requireAnchor?: boolean;
  checkpoint?: Checkpoint | null;
  kept?: Checkpoint[];
  archive?: ArchiveCheck;
}

/** The triggers that keep the audit append-only, and its archive rows with it. */
const APPEND_ONLY_TRIGGERS = ['audit_no_update', 'audit_no_delete', 'audit_archives_no_update', 'audit_archives_no_delete'];

/** AuditLog.verify's walk: `checkpoint` is the anchor read (null: none), `anchorPath` where it would be. */
export function verifyChain(db: Db, anchorPath: string | null, checkpoint: Checkpoint | null, opts: VerifyOptions): VerifyResult {
  const warnings: string[] = [];
  const triggers = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN (${APPEND_ONLY_TRIGGERS.map((t) => `'${t}'`).join(', ')})`)
    .all() as Array<{ name: string }>;
  if (triggers.length !== APPEND_ONLY_TRIGGERS.length) warnings.push('the append-only triggers on the audit table are missing');

  const walk = new ChainWalk(checkpoint, opts.kept ?? []);
  const archived = { entries: 0, segments: 0 };
  const broken = (b: ChainBreak): VerifyResult => ({ ok: false, entries: walk.entries, archived, ...b, warnings });
  if (opts.archive) {
    const r = opts.archive(walk);
    warnings.push(...r.warnings);
    Object.assign(archived, { entries: r.entries, segments: r.segments });
    if (r.broken) return broken(r.broken);
  } else {
    const newest = db.prepare('SELECT count(*) AS segments, sum(entries) AS entries, max(last_seq) AS seq FROM audit_archives').get() as
      { segments: number; entries: number | null; seq: number | null };
    if (newest.seq !== null) {
      const row = db.prepare('SELECT last_hash AS hash FROM audit_archives WHERE last_seq = ?').get(newest.seq) as { hash: string };
      walk.skipTo({ seq: newest.seq, hash: row.hash });
      Object.assign(archived, { entries: newest.entries ?? 0, segments: newest.segments });
      warnings.push(`${newest.entries ?? 0} archived entries in ${newest.segments} segments were not checked (warden audit verify checks them)`);
    }
  }
  for (const row of db.prepare(`SELECT ${COLUMNS} FROM audit ORDER BY seq`).iterate() as Iterable<Row>) {
    const b = walk.step(fromRow(row));
    if (b) return broken(b);
  }
  const end = walk.end();
  if (end) return broken(end);
  if (!checkpoint && walk.entries > 0 && anchorPath) {
    const why = `no anchor file (${anchorPath}): a cut-off tail cannot be detected`;
    if (opts.requireAnchor) return broken({ brokenAt: walk.entries + 1, reason: `${why}; pass --no-anchor if you know why it is missing` });
    warnings.push(why);
  }
  return { ok: true, entries: walk.entries, archived, warnings };
}

/**
 * The chain as it is walked, entry by entry and from the first, across archive segments and
 * then the live table: each entry must follow the one before, hash to its hash, and agree with the
 * anchor and with every kept checkpoint that names it.
 */
export class ChainWalk {
  prevHash = GENESIS_HASH;
  nextSeq = 1;
  private readonly kept = new Map<number, string>();

  constructor(private readonly checkpoint: Checkpoint | null, kept: readonly Checkpoint[]) {
    for (const cp of kept) this.kept.set(cp.seq, cp.hash);
  }

  /** How many entries were walked (seq runs from 1 without gaps). */
  get entries(): number {
    return this.nextSeq - 1;
  }

  /** Null when `entry` continues the chain; else where and why it breaks. */
  step(entry: AuditEntry): ChainBreak | null {
    const at = (reason: string): ChainBreak => ({ brokenAt: entry.seq, reason });
    if (entry.seq !== this.nextSeq) return { brokenAt: this.nextSeq, reason: `entry ${this.nextSeq} is missing (next is ${entry.seq})` };
    if (entry.prevHash !== this.prevHash) return at(`entry ${entry.seq} does not follow entry ${entry.seq - 1} (prev_hash mismatch)`);
    const { hash, ...body } = entry;
    if (entryHash(body) !== hash) return at(`entry ${entry.seq} was altered (hash mismatch)`);
    if (this.checkpoint && entry.seq === this.checkpoint.seq && hash !== this.checkpoint.hash) return at(`entry ${entry.seq} differs from the checkpoint`);
    const keptHash = this.kept.get(entry.seq);
    if (keptHash !== undefined && hash !== keptHash) {
      return at(`entry ${entry.seq} differs from the signed checkpoint (hash ${hash.slice(0, 12)}..., the checkpoint says ${keptHash.slice(0, 12)}...): rewritten after the checkpoint was sent`);
    }
    this.prevHash = hash;
    this.nextSeq += 1;
    return null;
  }

  /** Takes `head` as walked, unchecked: entries archived that this verification does not read. */
  skipTo(head: Checkpoint): void {
    this.prevHash = head.hash;
    this.nextSeq = head.seq + 1;
  }

  /** After the newest entry: what the anchor or a kept checkpoint names beyond it is missing. */
  end(): ChainBreak | null {
    const last = this.entries;
    if (this.checkpoint && this.checkpoint.seq > last) {
      return { brokenAt: last + 1, reason: `entries ${last + 1}..${this.checkpoint.seq} are missing: the checkpoint names entry ${this.checkpoint.seq}` };
    }
    const newestKept = Math.max(0, ...this.kept.keys());
    if (newestKept > last) {
      return { brokenAt: last + 1, reason: `entries ${last + 1}..${newestKept} are missing: the signed checkpoint names entry ${newestKept}` };
    }
    return null;
  }
}
