// MCP sessions of 2025-11-25 clients over HTTP: one transport and one server per session, bound
// to the token that opened it. Idle sessions are closed; each keeps a bounded replay buffer so a
// client whose SSE stream broke can resume with Last-Event-ID.
import { randomUUID } from 'node:crypto';
import {
  WebStandardStreamableHTTPServerTransport,
  type EventId,
  type EventStore,
  type JSONRPCMessage,
  type Server,
  type StreamId,
} from '@modelcontextprotocol/server';

/** Replay buffer of one session: the newest `capacity` messages over all its streams. */
export class BoundedEventStore implements EventStore {
  private readonly events = new Map<EventId, { streamId: StreamId; message: JSONRPCMessage }>();
  private next = 0;

  constructor(private readonly capacity = 500) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.next += 1;
    const id = `${streamId}.${this.next}`;
    this.events.set(id, { streamId, message });
    // Map keeps insertion order, so the first key is the oldest event.
    if (this.events.size > this.capacity) this.events.delete(this.events.keys().next().value!);
    return id;
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
      else if (after && e.streamId === streamId) await send(id, e.message);
    }
    return streamId;
  }
}

export interface Session {
  id: string;
  /** The token that opened it; a request on this session with another token is refused. */
  tokenId: number;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  lastSeenMs: number;
}

export interface SessionOptions {
  idleMs: number;
  maxSessions: number;
  /**
   * Sessions one token may hold; opening one more closes its least recently used. Clients that
   * never DELETE their sessions (the v2 SDK's close() does not) then cannot fill the registry.
   */
  maxPerToken: number;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly opts: SessionOptions) {
    this.sweeper = setInterval(() => void this.closeIdle(), Math.min(60_000, Math.max(1_000, opts.idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  get full(): boolean {
    return this.sessions.size >= this.opts.maxSessions;
  }

  /** The session `id` if it exists and was opened by this token; undefined otherwise. */
  find(id: string, tokenId: number): Session | undefined {
    const s = this.sessions.get(id);
    if (!s || s.tokenId !== tokenId) return undefined;
    s.lastSeenMs = Date.now();
    return s;
  }

  /**
   * A transport for a new session; it joins the registry once the SDK has initialised it (the
   * initialize request succeeded) and leaves it when the client deletes it or it is closed.
   */
  async open(tokenId: number, server: Server): Promise<WebStandardStreamableHTTPServerTransport> {
    const own = [...this.sessions.values()].filter((s) => s.tokenId === tokenId);
    if (own.length >= this.opts.maxPerToken) {
      await this.close(own.reduce((a, b) => (a.lastSeenMs <= b.lastSeenMs ? a : b)));
    }
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new BoundedEventStore(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { id, tokenId, transport, server, lastSeenMs: Date.now() });
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
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

  private async close(s: Session): Promise<void> {
    this.sessions.delete(s.id);
    await s.server.close();
  }
}
