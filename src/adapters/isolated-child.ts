// A child process for work that may never come back from native code: an SQLite statement that
// recurses without end runs inside sqlite3_step, where neither a time check between rows nor
// Worker.terminate() reaches it (a terminated worker thread keeps spinning a core until the process
// exits). A process is stopped for sure: SIGKILL at the deadline, and a fresh one for the next request.
import { fork, type ChildProcess } from 'node:child_process';

export type IsolatedReply = { ok: true; reply: unknown } | { ok: false; why: 'deadline' | 'exited'; detail: string };

export interface IsolatedChild {
  /** Sends `message` with an `id` added; the child answers with the same `id`. Killed at `budgetMs`. */
  request(message: Record<string, unknown>, budgetMs: number): Promise<IsolatedReply>;
  close(): Promise<void>;
}

/** How the store asks for one: the entry module the child runs. */
export type ForkIsolated = (entry: URL) => IsolatedChild;

/** V8's heap in the child; native memory (SQLite's) is bounded by the child itself. */
const CHILD_HEAP_MB = 256;

export const forkIsolated: ForkIsolated = (entry) => {
  let child: { process: ChildProcess; pending: Map<number, (r: IsolatedReply) => void> } | undefined;
  let nextId = 1;

  const start = (): NonNullable<typeof child> => {
    const pending = new Map<number, (r: IsolatedReply) => void>();
    // From source (tests, tsx) the entry is TypeScript: the child loads it through tsx as well.
    const execArgv = [`--max-old-space-size=${CHILD_HEAP_MB}`, ...(entry.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [])];
    const c = fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    c.on('message', (m: { id?: unknown }) => {
      const settle = typeof m?.id === 'number' ? pending.get(m.id) : undefined;
      if (!settle) return;
      pending.delete(m.id as number);
      settle({ ok: true, reply: m });
    });
    c.once('exit', (code, signal) => {
      if (child?.process === c) child = undefined;
      // Only this child's requests: one killed at a deadline must not fail its successor's.
      for (const [id, settle] of pending) {
        pending.delete(id);
        settle({ ok: false, why: 'exited', detail: `the child exited (${signal ?? `code ${code}`})` });
      }
    });
    // An idle child never keeps warden running; a request in flight holds its own timer.
    c.unref();
    c.channel?.unref();
    return { process: c, pending };
  };

  return {
    request(message, budgetMs) {
      const current = (child ??= start());
      const { process: c, pending } = current;
      const id = nextId++;
      return new Promise<IsolatedReply>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          if (child === current) child = undefined;
          c.kill('SIGKILL');
          resolve({ ok: false, why: 'deadline', detail: `stopped after ${budgetMs} ms` });
        }, budgetMs);
        pending.set(id, (r) => { clearTimeout(timer); resolve(r); });
        c.send({ ...message, id });
      });
    },
    async close() {
      const c = child?.process;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      await exited;
    },
  };
};
