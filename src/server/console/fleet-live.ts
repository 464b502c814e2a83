// What each host's Docker says now, for the Fleet page: its container list, read through the
// adapter as /healthz pings it (a read by warden itself, not a tool call: nothing is audited, and the
// live stream that follows audit entries cannot make the page feed itself). One read per host at a
// time whoever asks, kept a few seconds, and never waited on longer than READ_WAIT_MS: a host that
// does not answer shows "unreachable" and the page is not held up by it.
import type { Adapters } from '../../adapters/index.js';
import type { ContainerSummary } from '../../adapters/docker-types.js';
import { ToolFailure } from '../../errors.js';

export const READ_WAIT_MS = 2_000;
/** Many viewers, or a page refreshing often, cost Docker one list per host this often at most. */
const FRESH_MS = 5_000;
/** A read still unanswered after this is left behind and the next asks again. */
const ABANDON_MS = 60_000;

export type HostLive =
  | { kind: 'ok'; at: string; containers: ContainerSummary[] }
  | { kind: 'unreachable'; at: string; reason: string }
  /** warden has no Docker for this host: none in the inventory, or the host is newer than this process. */
  | { kind: 'none'; reason: string };

interface Read {
  startedMs: number;
  done: Promise<HostLive>;
  settled?: { atMs: number; live: HostLive };
}

/** A failure in words a viewer may read: our own failures' messages, never a library's. */
function reasonOf(err: unknown): string {
  return err instanceof ToolFailure ? err.message : 'Docker did not answer';
}

export class FleetLive {
  private readonly reads = new Map<string, Read>();

  constructor(private readonly adapters: Pick<Adapters, 'docker'>, private readonly waitMs = READ_WAIT_MS) {}

  /** Every host's state, asked at once; resolves within waitMs whatever the hosts do. */
  async hosts(names: readonly string[]): Promise<Map<string, HostLive>> {
    const states = await Promise.all(names.map((h) => this.host(h)));
    return new Map(names.map((h, i) => [h, states[i]!]));
  }

  async host(name: string, now = Date.now()): Promise<HostLive> {
    let read = this.reads.get(name);
    const stale = read && (read.settled ? now - read.settled.atMs > FRESH_MS : now - read.startedMs > ABANDON_MS);
    if (!read || stale) {
      const started = this.start(name, now);
      if ('kind' in started) return started;
      read = started;
    }
    if (read.settled) return read.settled.live;
    const left = read.startedMs + this.waitMs - now;
    if (left <= 0) return { kind: 'unreachable', at: new Date(now).toISOString(), reason: `no answer for ${Math.round((now - read.startedMs) / 1000)} s` };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<HostLive>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'unreachable', at: new Date().toISOString(), reason: `no answer within ${this.waitMs / 1000} s` }), left);
    });
    try {
      return await Promise.race([read.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private start(name: string, now: number): Read | HostLive {
    let docker;
    try {
      docker = this.adapters.docker(name);
    } catch (err) {
      return { kind: 'none', reason: reasonOf(err) };
    }
    const read: Read = { startedMs: now, done: Promise.resolve(undefined as unknown as HostLive) };
    read.done = docker.listContainers({ all: true }).then(
      (containers): HostLive => ({ kind: 'ok', at: new Date().toISOString(), containers }),
      (err: unknown): HostLive => ({ kind: 'unreachable', at: new Date().toISOString(), reason: reasonOf(err) }),
    ).then((live) => {
      read.settled = { atMs: Date.now(), live };
      return live;
    });
    this.reads.set(name, read);
    return read;
  }
}
