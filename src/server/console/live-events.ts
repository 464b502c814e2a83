// Live updates for console pages over Server-Sent Events: one poller for all open pages reads a
// cheap version of the database (the newest audit entry, incident event and approval) once a second
// while anyone listens, and tells every page `changed` when it moved; pages then re-fetch their live
// fragments (htmx `hx-trigger="sse:changed"`). Polling the database rather than listening in-process
// sees changes made by every process: the CLI approving, the loop in another warden.
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Db } from '../../store/db.js';

const POLL_MS = 1_000;
const HEARTBEAT_MS = 25_000;
/** Open streams at once, and per session; past either a page gets 503 and htmx-ext-sse retries later. */
const MAX_STREAMS = 64;
const MAX_PER_SESSION = 6;

export class LiveEvents {
  /** Each open stream and the check that its session still holds. */
  private readonly streams = new Map<SSEStreamingApi, () => boolean>();
  private readonly perSession = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private version = '';
  private closed = false;
  private readonly read;

  constructor(db: Db) {
    this.read = db.prepare(`SELECT (SELECT max(rowid) FROM audit) AS a, (SELECT max(rowid) FROM incident_events) AS e,
      (SELECT max(rowid) FROM approvals) AS p`);
  }

  current(): string {
    const row = this.read.get() as { a: number | null; e: number | null; p: number | null };
    return `${row.a ?? 0}.${row.e ?? 0}.${row.p ?? 0}`;
  }

  /**
   * `session`: whose stream this is, so one viewer cannot hold every stream; `alive` is asked at each
   * look: a stream whose session ended (signed out, its token revoked or expired) is closed.
   */
  handle(c: Context, session: string, alive: () => boolean): Response {
    const mine = this.perSession.get(session) ?? 0;
    if (this.closed || this.streams.size >= MAX_STREAMS || mine >= MAX_PER_SESSION) return c.text('too many live pages open; retrying later', 503, { 'retry-after': '10' });
    this.perSession.set(session, mine + 1);
    return streamSSE(c, async (stream) => {
      this.streams.set(stream, alive);
      this.start();
      let beat: NodeJS.Timeout | undefined;
      try {
        await stream.writeSSE({ event: 'hello', data: this.version || this.current(), retry: 3_000 });
        beat = setInterval(() => { void stream.write(': keep-alive\n\n').catch(() => stream.abort()); }, HEARTBEAT_MS);
        await new Promise<void>((resolve) => { stream.onAbort(resolve); if (this.closed) resolve(); });
      } finally {
        clearInterval(beat);
        this.streams.delete(stream);
        const left = (this.perSession.get(session) ?? 1) - 1;
        if (left > 0) this.perSession.set(session, left);
        else this.perSession.delete(session);
        if (this.streams.size === 0) this.stop();
      }
    });
  }

  /** Ends every stream (shutdown): a browser reconnects to whichever warden answers next. */
  close(): void {
    this.closed = true;
    this.stop();
    for (const s of this.streams.keys()) s.abort();
    this.streams.clear();
  }

  private start(): void {
    if (this.timer) return;
    this.version = this.current();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    let now: string;
    try {
      for (const [s, alive] of this.streams) if (!alive()) s.abort();
      now = this.current();
    } catch {
      return; // a locked or closing database: the next tick looks again
    }
    if (now === this.version) return;
    this.version = now;
    for (const s of this.streams.keys()) if (!s.aborted) void s.writeSSE({ event: 'changed', data: now }).catch(() => s.abort());
  }
}
