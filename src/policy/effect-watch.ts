// Whether a running call may have changed anything: the guard hands a tool its adapters and change
// journal through this watch, which counts every call of a method that is not a known read. Only a
// call that made none (or only ones that never reached their target: notRun) "failed before
// acting", and only then may its approval be given back. It never decides anything else.
import type { Adapters } from '../adapters/index.js';
import { ToolFailure } from '../errors.js';
import type { ChangeJournal } from '../store/changes.js';

/**
 * Methods that only read. Anything not named here counts as a possible write, so a method added
 * later is safe by default: at worst an approval is consumed that could have been given back.
 */
const READS = new Set([
  // DockerAdapter
  'listContainers', 'resolveContainer', 'containerState', 'inspectContainer', 'containerLogs', 'ping', 'blueprint',
  'imageId', 'resources', 'stoppedContainers', 'danglingImages', 'events', 'pastEvents',
  // MetricsProbe, HostFiles
  'collect', 'diskUsage', 'read',
  // ChangeJournal
  'get', 'load', 'lastVerified', 'laterOnTarget', 'abandoned',
  // Adapters
  'hosts',
]);
/** Methods that hand out another object whose methods are watched in turn. */
const FACTORIES = new Set(['docker', 'commands', 'metrics', 'files', 'containerFiles']);

const neverReached = (err: unknown): boolean => err instanceof ToolFailure && err.details.notRun === true;

export class EffectWatch {
  /** Possible writes begun and not known to have failed before reaching their target. */
  private writes = 0;
  private sealed = false;

  adapters(adapters: Adapters): Adapters {
    return this.wrap(adapters);
  }

  changes(changes: ChangeJournal): ChangeJournal {
    return this.wrap(changes);
  }

  /**
   * True when nothing may have been changed; the watch is then sealed: a handler still running (its
   * deadline passed during a read) has any later write refused, so a given-back approval can never
   * meet a write of the call that gave it back. False, and nothing sealed, otherwise.
   */
  sealIfUntouched(): boolean {
    if (this.writes > 0) return false;
    this.sealed = true;
    return true;
  }

  private wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        const fn = value as (...args: unknown[]) => unknown;
        if (READS.has(prop)) return fn.bind(obj);
        if (FACTORIES.has(prop)) return (...args: unknown[]) => this.wrapResult(fn.apply(obj, args));
        return (...args: unknown[]) => this.write(prop, () => fn.apply(obj, args));
      },
    });
  }

  private wrapResult(made: unknown): unknown {
    return made !== null && typeof made === 'object' ? this.wrap(made) : made;
  }

  private write(method: string, run: () => unknown): unknown {
    if (this.sealed) throw new ToolFailure('unavailable', `not run: the call had already ended when its ${method} was about to start`, { notRun: true });
    this.writes += 1;
    let result: unknown;
    try {
      result = run();
    } catch (err) {
      if (neverReached(err)) this.writes -= 1;
      throw err;
    }
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        if (neverReached(err)) this.writes -= 1;
        throw err;
      });
    }
    return result;
  }
}
