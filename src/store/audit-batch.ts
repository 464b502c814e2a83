// Group commit for audit entries: entries queued while the event loop is busy (overlapping tool
// calls) are written together, in one transaction with one checkpoint write, once per tick. Each
// caller awaits its own entry; one entry that cannot be written fails alone (the others commit).
// It never holds an entry back from a transaction that takes it (AuditLog.atomically drains it first).
import { DatabaseBusy, isBusy } from './busy.js';

interface Waiting<I, E> {
  input: I;
  queuedAt: number;
  /** Past it, a write still refused by another process's lock gives this entry up: DatabaseBusy. */
  deadline: number;
  resolve: (entry: E) => void;
  reject: (err: unknown) => void;
}

/** What became of one queued entry in a transaction that committed: its entry, or why it alone was left out. */
export type Outcome<E> = { entry: E } | { error: unknown };

/** Queued entries taken into a transaction: settle them once it committed or failed. */
export interface Taken<I, E> {
  inputs: readonly I[];
  /** Committed: `outcomes[i]` is what became of `inputs[i]`. */
  done(outcomes: readonly Outcome<E>[]): void;
  /**
   * Rolled back, `err` why. Entries in `own` fail with their own error. The others wait for the
   * next write when `err` is another process's lock (until their deadline) or when `blameless`
   * (the transaction failed for something not theirs); else they fail with `err`.
   */
  failed(err: unknown, blameless: boolean, own?: ReadonlyMap<number, unknown>): void;
}

const FIRST_RETRY_MS = 10;
const LAST_RETRY_MS = 250;

export class AppendQueue<I, E> {
  private waiting: Array<Waiting<I, E>> = [];
  private immediate: NodeJS.Immediate | undefined;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;

  /** `write` runs a transaction that take()s the queue and settles what it took; what it throws is ignored. */
  constructor(private readonly write: () => void) {}

  /** Settles with the committed entry, or rejects: DatabaseBusy after `waitMs` of another process's lock, or the write's error. */
  add(input: I, waitMs: number): Promise<E> {
    if (this.closed) return Promise.reject(new Error('the audit log is closed'));
    return new Promise<E>((resolve, reject) => {
      const now = Date.now();
      this.waiting.push({ input, queuedAt: now, deadline: now + waitMs, resolve, reject });
      // A retry already set waits out the lock for everything queued; no need to hammer it sooner.
      if (!this.immediate && !this.retry) this.immediate = setImmediate(() => this.flush());
    });
  }

  get size(): number {
    return this.waiting.length;
  }

  /** Everything queued, for a transaction about to run: its entries go in first, oldest first. */
  take(): Taken<I, E> {
    const taken = this.waiting.splice(0);
    return {
      inputs: taken.map((w) => w.input),
      done: (outcomes) => {
        this.retryMs = FIRST_RETRY_MS;
        taken.forEach((w, i) => {
          const o = outcomes[i]!;
          if ('entry' in o) w.resolve(o.entry);
          else w.reject(o.error);
        });
      },
      failed: (err, blameless, own) => {
        const rest: Array<Waiting<I, E>> = [];
        taken.forEach((w, i) => {
          if (own?.has(i)) w.reject(own.get(i));
          else rest.push(w);
        });
        if (isBusy(err)) return this.busy(rest, err);
        if (!blameless || this.closed) return rest.forEach((w) => w.reject(err));
        this.waiting.unshift(...rest);
        if (rest.length > 0 && !this.immediate && !this.retry) this.immediate = setImmediate(() => this.flush());
      },
    };
  }

  /** Writes what is queued now; synchronous. */
  flush(): void {
    this.immediate = undefined;
    this.retry = undefined;
    if (this.waiting.length === 0) return;
    try {
      this.write();
    } catch {
      // Every entry the transaction took was settled or queued again by it.
    }
    // Not taken: a transaction of another store is open on this connection, and the queue must not ride on it.
    if (this.waiting.length > 0 && !this.immediate && !this.retry && !this.closed) this.retry = setTimeout(() => this.flush(), this.retryMs);
  }

  /** Another process holds the lock: entries past their wait give up, the rest are tried again from a timer. */
  private busy(batch: Array<Waiting<I, E>>, err: unknown): void {
    const now = Date.now();
    const keep: Array<Waiting<I, E>> = [];
    for (const w of batch) {
      if (now >= w.deadline || this.closed) w.reject(new DatabaseBusy(now - w.queuedAt, { cause: err }));
      else keep.push(w);
    }
    this.waiting.unshift(...keep);
    if (this.waiting.length === 0) return;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.retry) clearTimeout(this.retry);
    const delay = Math.min(this.retryMs, Math.max(1, Math.min(...this.waiting.map((w) => w.deadline)) - now));
    this.retryMs = Math.min(LAST_RETRY_MS, Math.ceil(this.retryMs * 1.5));
    this.retry = setTimeout(() => this.flush(), delay);
  }

  /** Writes what is queued one last time; whatever cannot be written is rejected. Later adds are refused. */
  close(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.retry) clearTimeout(this.retry);
    this.immediate = undefined;
    this.retry = undefined;
    this.closed = true;
    this.flush();
    const left = this.waiting.splice(0);
    left.forEach((w) => w.reject(new Error('the audit log closed before this entry could be written')));
  }
}
