// One host's memory of what Docker's container list lacks (restart count and policy, exit code,
// health), kept current by Docker's event stream, so a steady-state list is one list request.
// Only listContainers may read it: every other read, and every write decision, inspects afresh.
//
// It is trusted only while the stream is connected: when the stream drops, everything is forgotten
// and lists inspect every container until a new stream is up. It never fails a list: a stream that
// cannot connect only means the list inspects everything, as it would without a cache.
//
// A connected stream can still lose events: dockerd drops them, without a word, for a subscriber
// whose buffer (1024 events) is full. So an entry is also checked against the age the row's Status
// shows: a run younger than the entry's is a restart the stream did not report.
import { parseExitCode, parseHealth, statusAge } from './docker-status.js';
import type { DockerEvent } from './docker-types.js';

/** What a list row needs from inspect. */
export interface InspectExtras {
  /** State.Status, to tell a stale entry from the list row it is paired with. */
  state: string;
  running: boolean;
  exitCode: number;
  /** State.Health.Status; undefined when the container has no health check. */
  health: string | undefined;
  restartCount: number;
  restartPolicy: string;
}

/** The fields of a list row the cache checks its entry against. */
export interface ListedRow {
  /** The full container id. */
  id: string;
  state: string;
  status: string;
}

export interface ExtrasSource {
  /** Docker's container events from `sinceUnixSeconds` on; rejects when the stream cannot be opened. */
  events(signal: AbortSignal, sinceUnixSeconds: number): Promise<AsyncIterable<DockerEvent>>;
  /** Rejects for a container that is gone, or when Docker cannot be reached. */
  inspect(id: string): Promise<InspectExtras>;
}

export interface CacheTimings {
  /** How long a list waits for the stream to open before it inspects everything anyway. */
  connectWaitMs: number;
  /** Reconnect back-off after a failed or dropped stream, doubling from initialMs up to maxMs. */
  backoff: { initialMs: number; maxMs: number };
  /**
   * An entry older than this is inspected again: Docker's stream has no heartbeat, so a connection
   * cut without a reset (a NAT dropping it) would otherwise look connected and silent for ever.
   */
  entryTtlMs: number;
  /** A stream whose response head has not come by then is given up, as a drop (a relay that took the request and hung). */
  connectTimeoutMs: number;
}

const DEFAULT_TIMINGS: CacheTimings = {
  connectWaitMs: 500, backoff: { initialMs: 500, maxMs: 30_000 }, entryTtlMs: 5 * 60_000, connectTimeoutMs: 10_000,
};
/** As many inspects at once as before the cache. */
const INSPECT_CONCURRENCY = 8;
/** More entries than this are forgotten all at once; a host with more containers just inspects more. */
const MAX_ENTRIES = 10_000;
/**
 * Events that change none of the cached fields. Health checks run as execs, so a host of checked
 * containers sends exec_* events every few seconds; an action not named here (one a later Docker
 * adds) drops the entry, which is only a wasted inspect.
 */
const NEUTRAL = /^(exec_(create|start|die|detach)\b|attach$|detach$|resize$|top$|export$|copy$|archive-path$|extract-to-dir$)/;
/**
 * Room for Docker's clock running at another rate than ours over an entry's life (NTP slews at most
 * 0.05 %: 0.15 s in 5 min). A clock stepped back by more makes entries look restarted: an inspect more.
 */
const AGE_SLACK_MS = 1_000;

/**
 * When the run (or the exit) an entry describes began, on our monotonic clock: no later than `by`.
 * Docker's Status gives ages by Docker's clock, which may be set apart from ours; their differences
 * and ours match, so only those are compared, and no wall clock of either side is read.
 */
type Dated = { since: 'start' | 'finish'; by: number } | { since: 'none' };

interface Entry {
  extras: InspectExtras;
  storedAt: number;
  /** undefined when the row the inspect was made for showed another state: nothing to compare with. */
  dated: Dated | undefined;
}

/** When a list was asked for and answered: Docker wrote its Status texts in between. */
interface ListTimes {
  askedAt: number;
  seenAt: number;
}

/**
 * Whether an entry still agrees with the list row it would complete. Events arrive a moment after
 * the change they report, so a list can already show a change whose event is still on its way;
 * the row's state, exit code and health catch most such entries, and its age a restart whose
 * events were lost. A Status text we cannot read is never trusted.
 */
function agrees(entry: Entry, row: ListedRow, at: ListTimes): boolean {
  const e = entry.extras;
  if (e.state !== row.state || !fitsAge(entry, row, at)) return false;
  if (!e.running) {
    const code = parseExitCode(row.status);
    return code === null || code === e.exitCode;
  }
  return row.state !== 'running' || parseHealth(row.status) === (e.health ?? null);
}

/**
 * The row's run began after `at.askedAt - underMs` (Docker wrote the text after we asked); the
 * entry's began no later than `by`. A row's run that began after `by` is a later run. A row that
 * fits narrows `by` for the lists after it.
 */
function fitsAge(entry: Entry, row: ListedRow, at: ListTimes): boolean {
  const age = statusAge(row.status);
  const d = entry.dated;
  if (!age || !d || age.since !== d.since) return false;
  if (age.since === 'none' || d.since === 'none') return true;
  if (at.askedAt - age.underMs >= d.by + AGE_SLACK_MS) return false;
  d.by = Math.min(d.by, at.seenAt - age.atLeastMs);
  return true;
}

/** What the row an inspect was made for says of its run: kept only when the inspect found it in the same state. */
function datedBy(row: ListedRow, extras: InspectExtras, seenAt: number): Dated | undefined {
  const age = statusAge(row.status);
  if (!age || row.state !== extras.state) return undefined;
  // Docker wrote the row before we saw it, when the run was at least atLeastMs old.
  return age.since === 'none' ? age : { since: age.since, by: seenAt - age.atLeastMs };
}

type Status = 'idle' | 'connecting' | 'live' | 'down' | 'closed';

export class ContainerListCache {
  private status: Status = 'idle';
  private readonly entries = new Map<string, Entry>();
  /** Inspects started while live and since the container's last event: the only ones whose answer may be kept. */
  private readonly inflight = new Map<string, Promise<InspectExtras | undefined>>();
  private controller: AbortController | undefined;
  private connecting: Promise<void> | undefined;
  private retryAt = 0;
  private delayMs: number;
  private liveSince = 0;
  private readonly timings: CacheTimings;

  constructor(private readonly source: ExtrasSource, timings: Partial<CacheTimings> = {}) {
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
    this.delayMs = this.timings.backoff.initialMs;
  }

  /** Whether entries may be used now (for tests and logs). */
  get trusted(): boolean {
    return this.status === 'live';
  }

  /**
   * The extras of each row, in order; undefined where inspect failed (the container went away).
   * `listAskedAt`: performance.now() just before the list was asked for (now when not given).
   */
  async extras(rows: readonly ListedRow[], complete: boolean, listAskedAt?: number): Promise<Array<InspectExtras | undefined>> {
    const seenAt = performance.now();
    const at: ListTimes = { askedAt: Math.min(listAskedAt ?? seenAt, seenAt), seenAt };
    await this.ensureStream();
    const now = Date.now();
    const out = await mapLimit(rows, INSPECT_CONCURRENCY, (row) => {
      const hit = this.status === 'live' ? this.entries.get(row.id) : undefined;
      if (!hit) return this.fetch(row, seenAt, false);
      if (now - hit.storedAt <= this.timings.entryTtlMs && agrees(hit, row, at)) return Promise.resolve(hit.extras);
      this.entries.delete(row.id);
      return this.fetch(row, seenAt, true);
    });
    if (complete && this.status === 'live') this.forgetAllBut(new Set(rows.map((r) => r.id)));
    return out;
  }

  /** Ends the stream; later lists inspect everything and never reconnect. */
  close(): void {
    this.status = 'closed';
    this.controller?.abort();
    this.forgetAll();
  }

  private onEvent(ev: DockerEvent): void {
    if (ev.type !== 'container' || NEUTRAL.test(ev.action)) return;
    // A container event without an id (a prune) may concern any entry.
    if (ev.id === '') return this.forgetAll();
    this.entries.delete(ev.id);
    // An inspect already on its way may have read the state before this event: its answer still
    // serves the list that asked, but is not kept, and later lists do not wait on it.
    this.inflight.delete(ev.id);
  }

  /** `stale`: the entry disagreed with the list, so an inspect already on its way may be as old: not joined. */
  private fetch(row: ListedRow, seenAt: number, stale: boolean): Promise<InspectExtras | undefined> {
    const id = row.id;
    if (this.status !== 'live') return this.source.inspect(id).catch(() => undefined);
    const shared = stale ? undefined : this.inflight.get(id);
    if (shared) return shared;
    const p: Promise<InspectExtras | undefined> = this.source.inspect(id).then(
      (extras) => {
        // Kept only if no event for it, and no drop of the stream, came while it was on its way.
        if (this.inflight.get(id) === p) {
          if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
          this.entries.set(id, { extras, storedAt: Date.now(), dated: datedBy(row, extras, seenAt) });
        }
        return extras;
      },
      () => undefined,
    ).finally(() => {
      if (this.inflight.get(id) === p) this.inflight.delete(id);
    });
    this.inflight.set(id, p);
    return p;
  }

  private forgetAllBut(keep: Set<string>): void {
    for (const id of this.entries.keys()) if (!keep.has(id)) this.entries.delete(id);
  }

  private forgetAll(): void {
    this.entries.clear();
    this.inflight.clear();
  }

  /** Opens the stream on first use and after a drop (once its back-off has passed); waits a little for it. */
  private async ensureStream(): Promise<void> {
    if ((this.status === 'idle' || this.status === 'down') && Date.now() >= this.retryAt) this.connect();
    if (this.status !== 'connecting' || !this.connecting) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.timings.connectWaitMs); });
    await Promise.race([this.connecting, waited]);
    clearTimeout(timer);
  }

  private connect(): void {
    const controller = new AbortController();
    this.controller = controller;
    this.status = 'connecting';
    // Docker sends the response head before it subscribes this stream to new events: asking from
    // a second back replays what happened in between. Replayed events only drop entries.
    const since = Math.floor(Date.now() / 1000) - 1;
    // A request whose answer never comes would hold the cache in 'connecting' for ever: given up as
    // a drop, which aborts it and retries after the back-off.
    const deadline = setTimeout(() => this.dropped(controller), this.timings.connectTimeoutMs);
    deadline.unref();
    this.connecting = this.source.events(controller.signal, since).then(
      (stream) => {
        clearTimeout(deadline);
        if (this.controller !== controller || controller.signal.aborted || this.status === 'closed') return;
        this.forgetAll();
        this.status = 'live';
        this.liveSince = Date.now();
        void this.consume(stream, controller);
      },
      () => {
        clearTimeout(deadline);
        this.dropped(controller);
      },
    );
  }

  private async consume(stream: AsyncIterable<DockerEvent>, controller: AbortController): Promise<void> {
    try {
      for await (const ev of stream) {
        if (this.controller !== controller) return;
        this.onEvent(ev);
      }
    } catch {
      // A reset or an abort: the same as an end.
    }
    this.dropped(controller);
  }

  /** The stream failed or ended: whatever it did not report may have happened, so nothing is kept. */
  private dropped(controller: AbortController): void {
    // An aborted controller was dropped already (or closed): its late rejection is not a second drop.
    if (this.controller !== controller || controller.signal.aborted || this.status === 'closed') return;
    controller.abort();
    this.forgetAll();
    // A stream that stayed up a while was healthy: the next drop starts the back-off afresh.
    if (this.status === 'live' && Date.now() - this.liveSince >= this.timings.backoff.maxMs) this.delayMs = this.timings.backoff.initialMs;
    this.status = 'down';
    this.retryAt = Date.now() + this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.timings.backoff.maxMs);
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
