// query_inventory with a deadline that covers CPU, not only rows: statements run one at a time in a
// child process (store/query-process.ts), and one still running at its deadline is stopped by
// killing that process. The event loop never waits on a statement, so /healthz and other calls go on.
import type { ForkIsolated, IsolatedChild } from '../adapters/isolated-child.js';
import { ToolFailure } from '../errors.js';
import type { QueryCaps } from './inventory-query.js';
import type { QueryReply, QueryRequest } from './query-process.js';
import type { QueryResult } from './readers.js';

/** Beyond the row loop's own time cap: a single step that never yields a row is stopped here. */
const GRACE_MS = 500;

/** The child's module: the compiled .js, or the .ts itself when warden runs from source. */
const ENTRY = new URL(`./query-process.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

export class BoundedQuery {
  private child: IsolatedChild | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** `fork`: undefined where no statement may run (a store opened by a command that never queries). */
  constructor(private readonly path: string, private readonly fork: ForkIsolated | undefined) {}

  /** One statement at a time: the queue keeps a stopped statement from taking others with it. */
  run(sql: string, params: readonly (string | number | null)[], caps: QueryCaps): Promise<QueryResult> {
    // The deadline counts from now, queue included: a burst of slow statements from one caller
    // cannot hold others' past their deadline, and work nobody waits for any more never starts.
    const deadline = Date.now() + caps.timeoutMs;
    const next = this.queue.then(() => {
      const left = deadline - Date.now();
      if (left <= 0) throw new ToolFailure('unavailable', `query_inventory is busy: other statements took the ${caps.timeoutMs} ms this one had; retry later`);
      return this.runNow(sql, [...params], caps, left);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(sql: string, params: (string | number | null)[], caps: QueryCaps, budgetMs: number): Promise<QueryResult> {
    if (!this.fork) throw new ToolFailure('internal', 'query_inventory has no query process in this runtime');
    const child = (this.child ??= this.fork(ENTRY));
    const req: QueryRequest = { path: this.path, sql, params, caps: { ...caps, timeoutMs: budgetMs } };
    const r = await child.request({ ...req }, budgetMs + GRACE_MS);
    if (!r.ok && r.why === 'deadline') {
      throw new ToolFailure('invalid_input', `query stopped at its deadline of ${caps.timeoutMs} ms: it ran too long (an unbounded recursive CTE or a large join?); add a LIMIT or narrow it`);
    }
    if (!r.ok) throw new ToolFailure('internal', `the query process failed: ${r.detail}`);
    const reply = r.reply as QueryReply;
    if (reply.ok) return reply.result;
    throw new ToolFailure(reply.kind, reply.message);
  }

  async close(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    await c?.close();
  }
}
