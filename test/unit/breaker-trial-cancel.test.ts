// A trial whose caller gave up (a cancel, its own deadline) says nothing of Docker: it re-opens the
// breaker instead of closing it on a host that never answered.
import { describe, expect, it } from 'vitest';
import { BreakerBoard } from '../../src/adapters/breakers.js';
import { dockerBreaker, dockerBehindBreaker } from '../../src/adapters/breaker-wrap.js';
import { ToolFailure } from '../../src/errors.js';

const down = (): ToolFailure => new ToolFailure('unavailable', 'down', {}, Object.assign(new Error('reset'), { code: 'ECONNRESET' }));

describe('an abandoned trial call', () => {
  it('does not close an open Docker breaker while Docker is still down', async () => {
    const board = new BreakerBoard({ failures: 1, halfOpenMs: 10, trialTimeoutMs: 1000 });
    const b = dockerBreaker(board, 'h');
    const adapter = {
      host: 'h',
      async pastEvents(_f: unknown, _s: number, _u: number, signal: AbortSignal) {
        await new Promise((r) => setTimeout(r, 5));
        void signal;
        throw down();
      },
    };
    const d = dockerBehindBreaker(adapter as never, b) as typeof adapter;
    await expect(d.pastEvents({}, 0, 0, new AbortController().signal)).rejects.toThrow();
    expect(b.view().state).toBe('open');
    await new Promise((r) => setTimeout(r, 20));
    // The trial: its caller gives up, the call fails with ECONNRESET (Docker still down).
    const ac = new AbortController();
    ac.abort();
    await expect(d.pastEvents({}, 0, 0, ac.signal)).rejects.toThrow();
    expect(b.view().state).not.toBe('closed');
  });
});
