// AuditLog.search, the console's audit page: exact or prefix filters, newest first, bounded work
// however rare the match. Kept apart from audit.ts, which holds the chain and its writes.
import type { Db } from './db.js';
import { COLUMNS, fromRow, type AuditEntry, type Row } from './audit-entry.js';

/**
 * What AuditLog.search narrows by, every field optional. Values match exactly, case and all; a
 * `*Prefix` matches the start of the value, literally: nothing in a value is a wildcard.
 */
export interface AuditFilter {
  tool?: string;
  toolPrefix?: string;
  principal?: string;
  target?: string;
  targetPrefix?: string;
  incident?: string;
  /** ISO times (toISOString's form), inclusive. */
  since?: string;
  until?: string;
  /** Only entries older than this seq: the next older page. */
  before?: number;
}

/** One page of a search, newest first. */
export interface AuditPage {
  entries: AuditEntry[];
  /** The oldest seq this page examined: entries from here to `before` were all looked at. */
  scannedFrom: number;
  /** The `before` of the next older page; null when no older entry is left in the live table. */
  older: number | null;
}

/** Most entries one search returns, and most entries it examines when no index narrows it. */
export const AUDIT_SEARCH_MAX = 100;
export const AUDIT_SEARCH_WINDOW = 20_000;

/**
 * Entries matching `filter`, newest first, at most `limit` (capped at AUDIT_SEARCH_MAX). Bounded
 * work however rare the match: without an incident (whose index narrows it) one search examines
 * at most AUDIT_SEARCH_WINDOW entries down from `before`, and `older` says where to go on. Prefixes
 * compare with substr, never LIKE or GLOB, so % _ * [ in a value are plain characters.
 */
export function searchAudit(db: Db, filter: AuditFilter, limit = 50): AuditPage {
  // Two subqueries: min and max in one SELECT would walk the whole table instead of the key's two ends.
  const bounds = db.prepare('SELECT (SELECT min(seq) FROM audit) AS lo, (SELECT max(seq) FROM audit) AS hi').get() as { lo: number | null; hi: number | null };
  if (bounds.lo === null || bounds.hi === null) return { entries: [], scannedFrom: 0, older: null };
  const take = Math.max(1, Math.min(AUDIT_SEARCH_MAX, Math.floor(limit)));
  const hi = Math.min(filter.before ?? Number.MAX_SAFE_INTEGER, bounds.hi + 1);
  const windowed = filter.incident === undefined;
  const lo = windowed ? Math.max(bounds.lo, hi - AUDIT_SEARCH_WINDOW) : bounds.lo;
  const match = (column: string, key: string, prefix?: string): string =>
    `(@${key} IS NULL OR ${column} = @${key})${prefix ? ` AND (@${prefix} IS NULL OR substr(${column}, 1, length(@${prefix})) = @${prefix})` : ''}`;
  // The incident's own statement reads its partial index (migration 7), the rest the primary key's range.
  const rows = db.prepare(`SELECT ${COLUMNS} FROM audit WHERE seq < @hi AND seq >= @lo
    AND ${windowed ? '@incident IS NULL' : 'incident_id = @incident'}
    AND ${match('tool', 'tool', 'toolPrefix')} AND ${match('principal', 'principal')} AND ${match('target', 'target', 'targetPrefix')}
    AND (@since IS NULL OR time >= @since) AND (@until IS NULL OR time <= @until)
    ORDER BY seq DESC LIMIT @take`).all({
    hi, lo, take, incident: filter.incident ?? null, tool: filter.tool ?? null, toolPrefix: filter.toolPrefix ?? null,
    principal: filter.principal ?? null, target: filter.target ?? null, targetPrefix: filter.targetPrefix ?? null,
    since: filter.since ?? null, until: filter.until ?? null,
  }) as Row[];
  const entries = rows.map(fromRow);
  // A full page stops at its oldest entry; a short one looked at the whole range down to lo.
  const scannedFrom = entries.length === take ? entries[entries.length - 1]!.seq : lo;
  return { entries, scannedFrom, older: scannedFrom > bounds.lo ? scannedFrom : null };
}
