// The process query_inventory's statements run in (adapters/isolated-child.ts forks it): a statement
// that runs too long (an unbounded recursive CTE, a huge join) is stopped by killing this process,
// the one thing that reaches a statement stuck inside SQLite.
import Database from 'better-sqlite3';
import { ToolFailure, errorMessage } from '../errors.js';
import { ReadOnlyQuery, type QueryCaps } from './inventory-query.js';

export interface QueryRequest {
  path: string;
  sql: string;
  params: (string | number | null)[];
  caps: QueryCaps;
}

export type QueryReply = { ok: true; result: import('./readers.js').QueryResult } | { ok: false; kind: ToolFailure['kind']; message: string };

/** SQLite's own memory in this process: a statement that builds a huge temp table fails instead of swelling it. */
const SQLITE_HEAP_BYTES = 256 * 1024 * 1024;

// Process-wide, so any connection sets it for all.
new Database(':memory:').pragma(`hard_heap_limit = ${SQLITE_HEAP_BYTES}`);

const engines = new Map<string, ReadOnlyQuery>();

process.on('message', (req: QueryRequest & { id: number }) => {
  let engine = engines.get(req.path);
  if (!engine) engines.set(req.path, (engine = new ReadOnlyQuery(req.path)));
  let reply: QueryReply;
  try {
    reply = { ok: true, result: engine.run(req.sql, req.params, req.caps) };
  } catch (err) {
    const f = err instanceof ToolFailure ? err : new ToolFailure('internal', `query failed: ${errorMessage(err)}`);
    reply = { ok: false, kind: f.kind, message: f.message };
  }
  process.send!({ id: req.id, ...reply });
});
// The parent gone: nothing left to answer.
process.on('disconnect', () => process.exit(0));
