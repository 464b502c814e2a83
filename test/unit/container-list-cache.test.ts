// The list cache's bookkeeping against a hand-written source whose events and inspects the test
// releases one by one: the orderings a real dockerd produces only by chance.
import { describe, expect, it } from 'vitest';
import { ContainerListCache, type ExtrasSource, type InspectExtras, type ListedRow } from '../../src/adapters/container-list-cache.js';
import type { DockerEvent } from '../../src/adapters/docker-types.js';

/** An event stream the test pushes into and ends. */
class Feed implements AsyncIterable<DockerEvent> {
  private queue: DockerEvent[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  push(action: string, id: string): void {
    this.queue.push({ type: 'container', action, id, name: '', attributes: {}, timeNano: 0 });
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<DockerEvent> {
    for (;;) {
      const next = this.queue.shift();
      if (next) { yield next; continue; }
      if (this.ended) return;
      await new Promise<void>((r) => { this.wake = r; });
    }
  }
}

const extras = (restartCount: number, state = 'running'): InspectExtras =>
  ({ state, running: state === 'running', exitCode: 0, health: undefined, restartCount, restartPolicy: 'always' });
const row = (id: string, state = 'running', status = state === 'running' ? 'Up 1 minute' : 'Exited (0) 1 minute ago'): ListedRow => ({ id, state, status });

class FakeSource implements ExtrasSource {
  feeds: Feed[] = [];
  inspected: string[] = [];
  refuse = false;
  /** events() takes the request and never answers it, until its signal aborts it. */
  hang = false;
  signals: AbortSignal[] = [];
  restarts = new Map<string, number>();
  /** The state inspect reports, where not running. */
  states = new Map<string, string>();
  /** When set, inspects wait for it: the test decides when their answers come back. */
  gate: Promise<void> | undefined;
  async events(signal: AbortSignal): Promise<AsyncIterable<DockerEvent>> {
    this.signals.push(signal);
    if (this.refuse) throw new Error('refused');
    if (this.hang) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const feed = new Feed();
    this.feeds.push(feed);
    return feed;
  }
  async inspect(id: string): Promise<InspectExtras> {
    this.inspected.push(id);
    const count = this.restarts.get(id) ?? 0;
    await this.gate;
    if (id.startsWith('gone')) throw new Error('no such container');
    return extras(count, this.states.get(id));
  }
  get feed(): Feed {
    return this.feeds[this.feeds.length - 1]!;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

async function warmed(ids: string[], rows = ids.map((id) => row(id))): Promise<{ source: FakeSource; cache: ContainerListCache }> {
  const source = new FakeSource();
  const cache = new ContainerListCache(source, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
  await cache.extras(rows, true);
  source.inspected = [];
  return { source, cache };
}

describe('ContainerListCache', () => {
  it('answers a second list from memory, inspecting nothing', async () => {
    const { source, cache } = await warmed(['a', 'b']);
    expect(cache.trusted).toBe(true);
    expect(await cache.extras([row('a'), row('b')], true)).toEqual([extras(0), extras(0)]);
    expect(source.inspected).toEqual([]);
  });

  it('inspects again the one container an event names', async () => {
    const { source, cache } = await warmed(['a', 'b']);
    source.restarts.set('a', 3);
    source.feed.push('start', 'a');
    await tick();
    expect((await cache.extras([row('a'), row('b')], true)).map((e) => e?.restartCount)).toEqual([3, 0]);
    expect(source.inspected).toEqual(['a']);
  });

  it('keeps entries through health-check exec events and events for containers it never saw', async () => {
    const { source, cache } = await warmed(['a']);
    source.feed.push('exec_create: /bin/sh -c true', 'a');
    source.feed.push('exec_die', 'a');
    source.feed.push('destroy', 'unknown');
    await tick();
    await cache.extras([row('a')], true);
    expect(source.inspected).toEqual([]);
  });

  it('does not keep an answer whose inspect was on its way when an event for it came', async () => {
    const { source, cache } = await warmed([]);
    let release!: () => void;
    source.gate = new Promise((r) => { release = r; });
    const first = cache.extras([row('a')], true);
    await tick();
    source.feed.push('die', 'a');
    await tick();
    release();
    expect((await first)[0]?.restartCount).toBe(0);
    source.gate = undefined;
    source.restarts.set('a', 1);
    expect((await cache.extras([row('a')], true))[0]?.restartCount).toBe(1);
    expect(source.inspected).toEqual(['a', 'a']);
  });

  it('forgets everything when the stream ends, and lists inspect every container until it is back', async () => {
    const { source, cache } = await warmed(['a', 'b']);
    source.feed.end();
    await tick();
    expect(cache.trusted).toBe(false);
    source.restarts.set('a', 5);
    await cache.extras([row('a'), row('b')], true);
    const again = await cache.extras([row('a'), row('b')], true);
    expect(again[0]?.restartCount).toBe(5);
    // The back-off (60 s here) has not passed: no new stream, so nothing was kept.
    expect(source.inspected).toEqual(['a', 'b', 'a', 'b']);
    expect(source.feeds).toHaveLength(1);
  });

  it('reconnects after its back-off and then answers from memory again', async () => {
    const source = new FakeSource();
    const cache = new ContainerListCache(source, { backoff: { initialMs: 20, maxMs: 20 } });
    await cache.extras([row('a')], true);
    source.feed.end();
    await tick();
    await new Promise((r) => setTimeout(r, 30));
    await cache.extras([row('a')], true);
    expect(cache.trusted).toBe(true);
    source.inspected = [];
    await cache.extras([row('a')], true);
    expect(source.inspected).toEqual([]);
    expect(source.feeds).toHaveLength(2);
  });

  it('still answers every list when the stream cannot be opened', async () => {
    const source = new FakeSource();
    source.refuse = true;
    const cache = new ContainerListCache(source, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    expect((await cache.extras([row('a')], true))[0]).toEqual(extras(0));
    expect((await cache.extras([row('a')], true))[0]).toEqual(extras(0));
    expect(source.inspected).toEqual(['a', 'a']);
    expect(cache.trusted).toBe(false);
  });

  it('inspects again an entry the list row contradicts (its event has not arrived yet)', async () => {
    const { source, cache } = await warmed(['a']);
    await cache.extras([row('a', 'exited')], true);
    expect(source.inspected).toEqual(['a']);
  });

  it('gives undefined for a container whose inspect fails, and keeps nothing for it', async () => {
    const { source, cache } = await warmed([]);
    expect(await cache.extras([row('gone-1')], true)).toEqual([undefined]);
    await cache.extras([row('gone-1')], true);
    expect(source.inspected).toEqual(['gone-1', 'gone-1']);
  });

  it('forgets every entry on a container event without an id', async () => {
    const { source, cache } = await warmed(['a', 'b']);
    source.feed.push('prune', '');
    await tick();
    await cache.extras([row('a'), row('b')], true);
    expect(source.inspected).toEqual(['a', 'b']);
  });

  it('shares one inspect between lists that ask at once', async () => {
    const { source, cache } = await warmed([]);
    await Promise.all([cache.extras([row('a')], true), cache.extras([row('a')], true)]);
    expect(source.inspected).toEqual(['a']);
  });

  it('after close, inspects every time and opens no stream', async () => {
    const { source, cache } = await warmed(['a']);
    cache.close();
    await cache.extras([row('a')], true);
    await new Promise((r) => setTimeout(r, 10));
    await cache.extras([row('a')], true);
    expect(source.inspected).toEqual(['a', 'a']);
    expect(source.feeds).toHaveLength(1);
  });
});

// Events dockerd dropped (a full subscriber buffer) leave an entry that the row's state still
// agrees with; the age in the row's Status is what shows the run is another.
describe('ContainerListCache against the age in the row', () => {
  it('inspects again a running entry whose row shows a younger run than the one inspected', async () => {
    const { source, cache } = await warmed(['a'], [row('a', 'running', 'Up 5 minutes')]);
    source.restarts.set('a', 1);
    expect((await cache.extras([row('a', 'running', 'Up 3 seconds')], true))[0]?.restartCount).toBe(1);
    expect(source.inspected).toEqual(['a']);
  });

  it('inspects again an exited entry whose row shows a later exit with the same code', async () => {
    const { source, cache } = await warmed([], []);
    source.states.set('a', 'exited');
    await cache.extras([row('a', 'exited', 'Exited (0) 10 minutes ago')], true);
    await cache.extras([row('a', 'exited', 'Exited (0) 10 minutes ago')], true);
    await cache.extras([row('a', 'exited', 'Exited (0) 2 seconds ago')], true);
    expect(source.inspected).toEqual(['a', 'a']);
  });

  it('keeps entries whose rows have aged along with them, or show no age', async () => {
    const { source, cache } = await warmed([], []);
    source.states.set('b', 'created');
    await cache.extras([row('a', 'running', 'Up 59 seconds'), row('b', 'created', 'Created')], true);
    source.inspected = [];
    await new Promise((r) => setTimeout(r, 1_100));
    await cache.extras([row('a', 'running', 'Up About a minute'), row('b', 'created', 'Created')], true);
    await cache.extras([row('a', 'running', 'Up About a minute'), row('b', 'created', 'Created')], true);
    expect(source.inspected).toEqual([]);
  });

  it('narrows what it knows of a run from each agreeing row', async () => {
    // "Up 2 hours" fits a run of 2 years (rounded) just before it; not after "Up 2 years" agreed.
    const { source, cache } = await warmed(['a'], [row('a', 'running', 'Up 2 hours')]);
    await cache.extras([row('a', 'running', 'Up 2 years')], true);
    await cache.extras([row('a', 'running', 'Up 2 hours')], true);
    expect(source.inspected).toEqual(['a']);
  });

  it('never trusts a Status it cannot read', async () => {
    const { source, cache } = await warmed(['a'], [row('a', 'running', 'Up for a while')]);
    await cache.extras([row('a', 'running', 'Up for a while')], true);
    await cache.extras([row('a', 'running', 'Up for a while')], true);
    expect(source.inspected).toEqual(['a', 'a']);
  });

  it('inspects again, once, an entry whose inspect found another state than its row', async () => {
    const { source, cache } = await warmed(['a'], [row('a', 'exited')]);
    await cache.extras([row('a')], true);
    await cache.extras([row('a')], true);
    expect(source.inspected).toEqual(['a']);
  });
});

describe('ContainerListCache connecting', () => {
  it('gives up a stream connect that never answers, aborts it, and tries again after the back-off', async () => {
    const source = new FakeSource();
    source.hang = true;
    const cache = new ContainerListCache(source, { connectWaitMs: 10, connectTimeoutMs: 30, backoff: { initialMs: 20, maxMs: 20 } });
    await cache.extras([row('a')], true);
    await new Promise((r) => setTimeout(r, 40));
    expect({ trusted: cache.trusted, aborted: source.signals.map((s) => s.aborted) }).toEqual({ trusted: false, aborted: [true] });
    source.hang = false;
    await new Promise((r) => setTimeout(r, 30));
    await cache.extras([row('a')], true);
    expect({ trusted: cache.trusted, attempts: source.signals.length }).toEqual({ trusted: true, attempts: 2 });
  });
});
