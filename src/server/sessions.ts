// MCP sessions of 2025-11-25 clients over HTTP: one transport and one server per session, bound
// to the caller that opened it (a warden token, or an OAuth user with one role). Idle sessions are closed; each keeps a replay buffer, within a byte
// budget all sessions share, so a client whose SSE stream broke can resume with Last-Event-ID.
import { randomUUID } from 'node:crypto';
import {
  WebStandardStreamableHTTPServerTransport,
  type EventId,
  type EventStore,
  type JSONRPCMessage,
  type Server,
  type StreamId,
} from '@modelcontextprotocol/server';

/**
 * The bytes all sessions' replay buffers may hold together (a message counts the length of its
 * JSON, which is what a buffer keeps). Sessions that clients abandon without a DELETE (the v2
 * SDK's close() sends none) linger until they are idle for sessionIdleMinutes, so without a shared
 * bound their buffers would grow with every new client. Over the budget, the oldest events of the
 * least recently used sessions go first. Eviction is always oldest-first within a session, so a
 * replay never skips an event: resuming from an evicted event fails (the SDK answers 400),
 * resuming from a kept one sends everything after it.
 */
export class ReplayBudget {
  private used = 0;
  /** Buffers holding events, least recently used first (insertion order; `touch` moves one to the end). */
  private readonly holders = new Set<BoundedEventStore>();

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** `store` belongs to a session a client just used: its events go last. */
  touch(store: BoundedEventStore): void {
    if (this.holders.delete(store)) this.holders.add(store);
  }

  /** Called by a store that took `bytes` more; evicts until the total is within the budget again. */
  grew(store: BoundedEventStore, bytes: number): void {
    this.used += bytes;
    if (!this.holders.has(store)) this.holders.add(store);
    for (const holder of this.holders) {
      if (this.used <= this.maxBytes) return;
      holder.dropOldest(() => this.used <= this.maxBytes);
    }
  }

  /** Called by a store that gave up `bytes`; an emptied store is no longer held. */
  shrank(store: BoundedEventStore, bytes: number, empty: boolean): void {
    this.used -= bytes;
    if (empty) this.holders.delete(store);
  }
}

interface StoredEvent {
  streamId: StreamId;
  /** The message as JSON: its size is known, and it holds none of the objects the SDK built. */
  json: string;
}

/**
 * Replay buffer of one session: the newest `capacity` messages over all its streams, within the
 * budget shared with every other session. A message is kept as its JSON, whose length is its size.
 */
export class BoundedEventStore implements EventStore {
  private readonly events = new Map<EventId, StoredEvent>();
  private next = 0;
  private bytes = 0;

  constructor(private readonly capacity = 500, private readonly budget = new ReplayBudget(Number.POSITIVE_INFINITY)) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.next += 1;
    const id = `${streamId}.${this.next}`;
    const json = JSON.stringify(message);
    if (json.length > this.budget.maxBytes) {
      // Too large to keep; a replay from an older event would skip it, so the older events go too.
      this.clear();
      return id;
    }
    this.events.set(id, { streamId, json });
    this.bytes += json.length;
    // Map keeps insertion order, so the first key is the oldest event.
    if (this.events.size > this.capacity) this.dropOldest(() => this.events.size <= this.capacity);
    this.budget.grew(this, json.length);
    return id;
  }

  /** Drops the oldest events until `enough` says so or none is left. */
  dropOldest(enough: () => boolean): void {
    for (const [id, e] of this.events) {
      if (enough()) break;
      this.events.delete(id);
      this.bytes -= e.json.length;
      // The budget's total is what `enough` reads: it is kept current event by event.
      this.budget.shrank(this, e.json.length, this.events.size === 0);
    }
  }

  /** Forgets every event (the session closed). */
  clear(): void {
    const bytes = this.bytes;
    this.events.clear();
    this.bytes = 0;
    this.budget.shrank(this, bytes, true);
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (id: EventId, m: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const streamId = this.events.get(lastEventId)?.streamId;
    if (streamId === undefined) return '';
    let after = false;
    for (const [id, e] of [...this.events]) {
      if (id === lastEventId) after = true;
      else if (after && e.streamId === streamId) await send(id, JSON.parse(e.json) as JSONRPCMessage);
    }
    return streamId;
  }
}

/** Per session, beside the shared byte budget. */
const MAX_EVENTS_PER_SESSION = 500;

export interface Session {
  id: string;
  /** Principal.bindKey of the caller that opened it; a request on this session from another is refused. */
  bindKey: string;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  events: BoundedEventStore;
  lastSeenMs: number;
}

export interface SessionOptions {
  idleMs: number;
  maxSessions: number;
  /**
   * Sessions one caller (one bindKey: a warden token, or an OAuth user with one role) may hold;
   * opening one more closes its least recently used. Clients that never DELETE their sessions (the
   * v2 SDK's close() does not) then cannot fill the registry.
   */
  maxPerToken: number;
  /** Bytes (JSON length) the replay buffers of all sessions hold together. */
  replayBytes: number;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly budget: ReplayBudget;

  constructor(private readonly opts: SessionOptions) {
    this.budget = new ReplayBudget(opts.replayBytes);
    this.sweeper = setInterval(() => void this.closeIdle(), Math.min(60_000, Math.max(1_000, opts.idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** What the replay buffers hold now, within SessionOptions.replayBytes. */
  get replayBytesUsed(): number {
    return this.budget.usedBytes;
  }

  get full(): boolean {
    return this.sessions.size >= this.opts.maxSessions;
  }

  /** The session `id` if it exists and was opened by this caller (Principal.bindKey); undefined otherwise. */
  find(id: string, bindKey: string): Session | undefined {
    const s = this.sessions.get(id);
    if (!s || s.bindKey !== bindKey) return undefined;
    s.lastSeenMs = Date.now();
    this.budget.touch(s.events);
    return s;
  }

  /**
   * A transport for a new session; it joins the registry once the SDK has initialised it (the
   * initialize request succeeded) and leaves it when the client deletes it or it is closed;
   * `onJoined` runs then, and only then: whatever it starts, the session's close must end.
   */
  async open(bindKey: string, server: Server, onJoined?: () => void): Promise<WebStandardStreamableHTTPServerTransport> {
    const events = new BoundedEventStore(MAX_EVENTS_PER_SESSION, this.budget);
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: events,
      onsessioninitialized: async (id) => {
        // Only a session that exists displaces one: a refused initialize must not close a live session of its caller.
        const own = [...this.sessions.values()].filter((s) => s.bindKey === bindKey);
        const oldest = own.length >= this.opts.maxPerToken ? own.reduce((a, b) => (a.lastSeenMs <= b.lastSeenMs ? a : b)) : undefined;
        this.sessions.set(id, { id, bindKey, transport, server, events, lastSeenMs: Date.now() });
        onJoined?.();
        // A close that fails has still forgotten the session; it must not fail this initialize.
        if (oldest) await this.close(oldest).catch(() => undefined);
      },
      onsessionclosed: (id) => this.forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.forget(transport.sessionId);
      // Also when it never joined the registry (its initialize failed). One that is merely dropped
      // keeps what it stored only until the budget needs the room: nothing touches it again.
      events.clear();
    };
    await server.connect(transport);
    return transport;
  }

  async closeIdle(now = Date.now()): Promise<number> {
    const idle = [...this.sessions.values()].filter((s) => now - s.lastSeenMs >= this.opts.idleMs);
    await Promise.allSettled(idle.map((s) => this.close(s)));
    return idle.length;
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.sessions.values()].map((s) => this.close(s)));
  }

  private forget(id: string): void {
    this.sessions.get(id)?.events.clear();
    this.sessions.delete(id);
  }

  private async close(s: Session): Promise<void> {
    this.forget(s.id);
    await s.server.close();
  }
}
