// Output capture shared by the local and SSH command runners: keeps the first maxBytes of each
// stream and drops the rest while the program runs on, so a chatty command keeps its real exit
// code instead of being killed for talking too much.
import { constants } from 'node:os';
import { ToolFailure } from '../errors.js';
import type { CommandResult, RunOptions } from './commands.js';

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

export class CappedOutput {
  private readonly chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  private readonly sizes = { stdout: 0, stderr: 0 };
  truncated = false;

  constructor(private readonly maxBytes: number = DEFAULT_MAX_OUTPUT_BYTES) {}

  push(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const room = this.maxBytes - this.sizes[stream];
    if (buf.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = buf.length > room ? buf.subarray(0, room) : buf;
    this.chunks[stream].push(kept);
    this.sizes[stream] += kept.length;
  }

  text(stream: 'stdout' | 'stderr'): string {
    return Buffer.concat(this.chunks[stream]).toString('utf8');
  }

  /** The finished command's result, from its exit code or signal. */
  result(code: number | null, signal?: string | null): CommandResult {
    return {
      exitCode: exitCodeFor(code, signal ?? undefined),
      ...(signal ? { signal } : {}),
      stdout: this.text('stdout'),
      stderr: this.text('stderr'),
      truncated: this.truncated,
    };
  }
}

/**
 * Bounds one running command by its deadline and the caller's abort signal, and settles its
 * promise exactly once. `kill` is how this runner ends the program (SIGKILL, closing a channel).
 */
export function boundRun(opts: RunOptions, what: { host: string; program: string }, kill: () => void, reject: (err: unknown) => void): { finish: (fn: () => void) => void } {
  let settled = false;
  const finish = (fn: () => void): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    fn();
  };
  const stop = (why: string): void => {
    kill();
    finish(() => reject(new ToolFailure('unavailable', `${what.program} on host ${what.host} ${why}; retry later`)));
  };
  const timer = setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
  const onAbort = (): void => stop('was cancelled');
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  return { finish };
}

/** A signal-ended process reports 128 + the signal number, as a POSIX shell does (137 = SIGKILL). */
export function exitCodeFor(code: number | null, signal: string | null | undefined): number {
  if (code !== null) return code;
  const n = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return n === undefined ? -1 : 128 + n;
}
