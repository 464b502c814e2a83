// Waiting for SQLite's write lock without blocking the event loop. The server's connection has a
// short busy timeout (SQLite waits inside the call, freezing every request meanwhile); past it,
// a write is tried again from a timer, so /healthz and other sessions are answered while it waits.
import pRetry, { AbortError } from 'p-retry';

/** The busy timeout of a long-running server's connection: what one write may block, at most. */
export const SERVER_BUSY_TIMEOUT_MS = 25;

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The write lock stayed with another process for the whole wait. */
export class DatabaseBusy extends Error {
  constructor(waitedMs: number, options?: ErrorOptions) {
    super(`the database is locked by another process (waited ${waitedMs} ms)`, options);
    this.name = 'DatabaseBusy';
  }
}

/**
 * Runs `write` now and returns its result; while it fails only because another process holds the
 * write lock, runs it again from a timer until `waitMs` has passed, then throws DatabaseBusy.
 * `write` must be all-or-nothing (one statement or one transaction): it may run more than once.
 * The first attempt is synchronous, so callers that count on nothing awaiting between a decision
 * and its write keep that whenever the database is free.
 */
export async function whenFree<T>(write: () => T, opts: { waitMs: number; signal?: AbortSignal }): Promise<T> {
  try {
    return write();
  } catch (err) {
    if (!isBusy(err)) throw err;
  }
  const started = Date.now();
  try {
    return await pRetry(
      () => {
        try {
          return write();
        } catch (err) {
          // p-retry retries only Errors it may retry: anything but busy ends the wait at once.
          throw isBusy(err) ? err : new AbortError(err as Error);
        }
      },
      {
        // Enough tries to fill the wait; maxRetryTime ends it.
        retries: Math.ceil(opts.waitMs / 10) + 1, minTimeout: 10, maxTimeout: 250, factor: 1.5, randomize: true,
        maxRetryTime: opts.waitMs, ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
  } catch (err) {
    if (isBusy(err)) throw new DatabaseBusy(Date.now() - started, { cause: err });
    throw err;
  }
}
