// The thread query_inventory's statements run in, so a statement that runs too long (an unbounded
// recursive CTE, a huge join) can be stopped by ending the thread: better-sqlite3 runs a statement
// to completion on whichever thread called it, and nothing else could interrupt it.
import { parentPort } from 'node:worker_threads';
import { ToolFailure, errorMessage } from '../errors.js';
import { ReadOnlyQuery, type QueryCaps } from './inventory-query.js';

export interface QueryRequest {
  id: number;
  path: string;
  sql: string;
  params: (string | number | null)[];
  caps: QueryCaps;
}

const engines = new Map<string, ReadOnlyQuery>();

parentPort?.on('message', (req: QueryRequest) => {
  let engine = engines.get(req.path);
  if (!engine) engines.set(req.path, (engine = new ReadOnlyQuery(req.path)));
  try {
    parentPort!.postMessage({ id: req.id, ok: true, result: engine.run(req.sql, req.params, req.caps) });
  } catch (err) {
    const f = err instanceof ToolFailure ? err : new ToolFailure('internal', `query failed: ${errorMessage(err)}`);
    parentPort!.postMessage({ id: req.id, ok: false, kind: f.kind, message: f.message });
  }
});
