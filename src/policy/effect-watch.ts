// Whether a running call may have changed anything: the guard hands a tool its adapters and change
// journal through this watch, which counts every call of a method that is not a known read. Only a
// call that made none (or only ones that never reached their target: notRun) "failed before
// acting": only then may its approval be given back, and only then may its failure keep saying
// notRun to the loop (a later step's notRun speaks for that step alone). It decides nothing else.
import type { Adapters } from '../adapters/index.js';
import { ToolFailure, type FailureDetails } from '../errors.js';
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
  /** Those of them made through the adapters: the ones that may have changed a target (not only the journal). */
  private targetWrites = 0;
  private sealed = false;

  adapters(adapters: Adapters): Adapters {
    return this.wrap(adapters, true);
  }

  changes(changes: ChangeJournal): ChangeJournal {
    return this.wrap(changes, false);
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

  /**
   * A failure's details as the call's own: `notRun` says nothing reached the target, so it is dropped
   * when an earlier write of the call may have, whatever the last failing step said of itself. A
   * journal entry alone leaves it: the loop must not count an open breaker as its own failed write.
   */
  honest(details: FailureDetails): FailureDetails {
    if (!details.notRun || this.targetWrites === 0) return details;
    const { notRun: _dropped, ...rest } = details;
    return rest;
  }

  private wrap<T extends object>(target: T, reachesTarget: boolean): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function') return value;
        const fn = value as (...args: unknown[]) => unknown;
        // A symbol-keyed method is named by no list, so it is a possible write like any other.
        if (typeof prop === 'string' && READS.has(prop)) return fn.bind(obj);
        if (typeof prop === 'string' && FACTORIES.has(prop)) return (...args: unknown[]) => this.wrapResult(fn.apply(obj, args), reachesTarget);
        return (...args: unknown[]) => this.write(String(prop), reachesTarget, () => fn.apply(obj, args));
      },
    });
  }

  private wrapResult(made: unknown, reachesTarget: boolean): unknown {
    return made !== null && typeof made === 'object' ? this.wrap(made, reachesTarget) : made;
  }

  private write(method: string, reachesTarget: boolean, run: () => unknown): unknown {
    if (this.sealed) throw new ToolFailure('unavailable', `not run: the call had already ended when its ${method} was about to start`, { notRun: true });
    const count = (by: number): void => {
      this.writes += by;
      if (reachesTarget) this.targetWrites += by;
    };
    count(1);
    let result: unknown;
    try {
      result = run();
    } catch (err) {
      if (neverReached(err)) count(-1);
      throw err;
    }
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        if (neverReached(err)) count(-1);
        throw err;
      });
    }
    return result;
  }
}
