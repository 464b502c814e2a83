// Puts a host's Docker endpoint behind its circuit breaker: every call passes the breaker, and
// while it is open a call fails at once as `unavailable`, naming the breaker, instead of waiting on
// an endpoint that is down. Only failures that say the endpoint cannot be reached are counted.
import { openAsFailure, type Breaker, type BreakerBoard } from './breakers.js';
import type { DockerAdapter } from './docker-types.js';
import { dockerUnreachable } from './docker.js';

/** Methods that return at once without talking to Docker. */
const LOCAL_METHODS = new Set<PropertyKey>(['containerFiles']);

export const dockerBreaker = (board: BreakerBoard, host: string): Breaker => board.get(`docker:${host}`, 'docker', dockerUnreachable);

export function dockerBehindBreaker<T extends DockerAdapter>(adapter: T, breaker: Breaker): T {
  return new Proxy(adapter, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || LOCAL_METHODS.has(prop)) return value;
      return (...args: unknown[]) => breaker.run(() => Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)))
        .catch((err: unknown) => { throw openAsFailure(err, `Docker on host ${adapter.host}`); });
    },
  });
}
