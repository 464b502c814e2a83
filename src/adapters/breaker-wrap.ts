// Puts a host's Docker endpoint behind its circuit breaker: every call passes the breaker, and
// while it is open a call fails at once as `unavailable`, naming the breaker, instead of waiting on
// an endpoint that is down. Only failures that say the endpoint cannot be reached are counted.
import { openAsFailure, type Breaker, type BreakerBoard } from './breakers.js';
import type { DockerAdapter } from './docker-types.js';
import { dockerUnreachable } from './docker.js';

/** Methods that return at once without talking to Docker (close must work while the breaker is open). */
const LOCAL_METHODS = new Set<PropertyKey>(['containerFiles', 'close']);

/**
 * Failures of calls their caller had already abandoned (a client's cancel, a deadline): Node tears
 * the connection down and it reads as ECONNRESET, which says nothing of Docker. Never counted, so no
 * client can open a healthy host's breaker by cancelling its own reads.
 */
const abandoned = new WeakSet<object>();

export const dockerBreaker = (board: BreakerBoard, host: string): Breaker =>
  board.get(`docker:${host}`, 'docker', (err) => !(typeof err === 'object' && err !== null && abandoned.has(err)) && dockerUnreachable(err));

/** The AbortSignal a call carries, as an argument or an options field. */
function signalOf(args: readonly unknown[]): AbortSignal | undefined {
  for (const a of args) {
    if (a instanceof AbortSignal) return a;
    const s = (a as { signal?: unknown } | null | undefined)?.signal;
    if (s instanceof AbortSignal) return s;
  }
  return undefined;
}

export function dockerBehindBreaker<T extends DockerAdapter>(adapter: T, breaker: Breaker): T {
  return new Proxy(adapter, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || LOCAL_METHODS.has(prop)) return value;
      return (...args: unknown[]) => {
        const signal = signalOf(args);
        const call = (): Promise<unknown> => Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)).catch((err: unknown) => {
          if (signal?.aborted && typeof err === 'object' && err !== null) abandoned.add(err);
          throw err;
        });
        return breaker.run(call, { inconclusive: (err) => typeof err === 'object' && err !== null && abandoned.has(err) })
          .catch((err: unknown) => { throw openAsFailure(err, `Docker on host ${adapter.host}`); });
      };
    },
  });
}
