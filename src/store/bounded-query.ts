// query_inventory with a deadline that covers CPU, not only rows: statements run one at a time in a
// worker thread (store/query-worker.ts), and one still running at its deadline is stopped by ending
// that thread. The event loop never waits on a statement, so /healthz and other calls go on.
import { Worker } from 'node:worker_threads';
import { ToolFailure, type FailureKind } from '../errors.js';
import type { QueryCaps } from './inventory-query.js';
import type { QueryRequest } from './query-worker.js';
import type { QueryResult } from './readers.js';

type Reply = { id: number; ok: true; result: QueryResult } | { id: number; ok: false; kind: FailureKind; message: string };

/** Beyond the row loop's own time cap: a single step that never yields a row is stopped here. */
const GRACE_MS = 500;

function spawn(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./query-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  // From source (tests, tsx) the worker is TypeScript too: tsx's API loads it in the thread.
  const worker = fromSource
    ? new Worker(`import('tsx/esm/api').then((t) => t.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}))`, { eval: true })
    : new Worker(entry);
  worker.unref();
  return worker;
}

export class BoundedQuery {
  private worker: Worker | undefined;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

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

  private runNow(sql: string, params: (string | number | null)[], caps: QueryCaps, budgetMs: number): Promise<QueryResult> {
    const worker = (this.worker ??= spawn());
    const req: QueryRequest = { id: this.nextId++, path: this.path, sql, params, caps: { ...caps, timeoutMs: budgetMs } };
    return new Promise<QueryResult>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      const onMessage = (reply: Reply): void => {
        if (reply.id !== req.id) return;
        done();
        if (reply.ok) resolve(reply.result);
        else reject(new ToolFailure(reply.kind, reply.message));
      };
      const onError = (err: Error): void => {
        done();
        this.worker = undefined;
        reject(new ToolFailure('internal', 'the query thread failed', {}, err));
      };
      const timer = setTimeout(() => {
        done();
        this.worker = undefined;
        void worker.terminate();
        reject(new ToolFailure('invalid_input', `query stopped at its deadline of ${caps.timeoutMs} ms: it ran too long (an unbounded recursive CTE or a large join?); add a LIMIT or narrow it`));
      }, budgetMs + GRACE_MS);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
