// Incidents: what went wrong, where, and how it ended. The loop writes them; search_incidents
// reads them through FTS5 so Claude can learn from how similar failures were resolved.
import type { Db } from './db.js';
import type { IncidentReader, IncidentSummary } from './readers.js';

const SUMMARY = `i.id, i.opened_at AS openedAt, i.closed_at AS closedAt, i.status, i.target, i.title, i.resolution`;

/** FTS5 query syntax is a language of its own; user text is matched as plain words, never parsed as it. */
export function ftsQuery(text: string): string {
  const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
  return words.slice(0, 12).map((w) => `"${w}"`).join(' OR ');
}

export class IncidentStore implements IncidentReader {
  constructor(private readonly db: Db) {}

  search(text: string, limit: number): IncidentSummary[] {
    const query = ftsQuery(text);
    if (query === '') {
      return this.db.prepare(`SELECT ${SUMMARY} FROM incidents i ORDER BY i.opened_at DESC LIMIT ?`).all(limit) as IncidentSummary[];
    }
    return this.db
      .prepare(`SELECT ${SUMMARY} FROM incidents_fts f JOIN incidents i ON i.rowid = f.rowid
        WHERE incidents_fts MATCH ? ORDER BY f.rank, i.opened_at DESC LIMIT ?`)
      .all(query, limit) as IncidentSummary[];
  }
}
