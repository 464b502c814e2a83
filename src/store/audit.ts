// The tamper-evident audit log: an append-only table (triggers refuse UPDATE, and DELETE of any
// row no archive segment holds: audit-archive.ts) whose rows are chained by SHA-256, with the
// chain head anchored in a checkpoint file beside the database so that cutting off the newest
// rows is detected too. Only the guard appends tool calls.
// Signed checkpoints sent off the machine (audit-key.ts, checkpoint-emitter.ts) hear of each commit
// through onAppend, and catch what the anchor cannot: a tail forged anew with the anchor rewritten.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Db } from './db.js';
import { isBusy } from './busy.js';
import { AppendQueue, type Outcome } from './audit-batch.js';
import { COLUMNS, chainedEntry, fromRow, type AuditEntry, type AuditInput, type AuditPhase, type Checkpoint, type Row } from './audit-entry.js';
import { decodeCheckpoint, encodeSlot, slotOffset, verifyChain, type VerifyOptions, type VerifyResult } from './audit-chain.js';
import { searchAudit, type AuditFilter, type AuditPage } from './audit-search.js';
export { AUDIT_SEARCH_MAX, AUDIT_SEARCH_WINDOW, type AuditFilter, type AuditPage } from './audit-search.js';

export {
  AUDIT_PHASES, GENESIS_HASH, STORED_COLUMNS, entryFromStored, entryHash,
  type AuditEntry, type AuditInput, type AuditPhase, type Checkpoint, type StoredAuditRow,
} from './audit-entry.js';
export {
  ChainWalk, decodeCheckpoint,
  type ArchiveCheck, type ArchiveCheckResult, type ArchivedCount, type ChainBreak, type VerifyResult,
} from './audit-chain.js';

/** Told of entries once they are committed: `head` the newest, `count` how many were added. Must not throw. */
export type AppendListener = (head: Checkpoint, count: number) => void;

/**
 * The chain head each connection last committed, and its PRAGMA data_version then: that number
 * changes only when another connection commits, so while it stands the head needs no query. Kept
 * per connection, not per AuditLog, because two AuditLogs on one connection do not move it.
 */
const committedHeads = new WeakMap<Db, { version: number; head: Checkpoint | null }>();

/** The transaction `atomically` runs: what it appended so far, and whether its head may be cached. */
interface OpenTx {
  /** undefined until the first append looks it up; null: the table is empty. */
  head: Checkpoint | null | undefined;
  count: number;
  /** Only a transaction of our own, not one nested in another's, commits when it ends. */
  outermost: boolean;
  version: number | undefined;
}

/** Appends made inside another store's transaction: told to the anchor and the listeners once it committed. */
interface Nested {
  head: Checkpoint;
  /** The seq before the first of them. */
  base: number;
}

/** A queued entry that took the whole transaction down with it (SQLite rolls back more than the statement on some errors). */
class EntryLost extends Error {
  constructor(readonly index: number, readonly error: unknown) {
    super('an audit entry rolled back its transaction', { cause: error });
  }
}

/** How long close() lets another process's lock hold the last queued entries up (the serving connection waits 25 ms). */
const CLOSE_BUSY_TIMEOUT_MS = 5_000;

export class AuditLog {
  private readonly insert;
  private readonly head;
  private readonly dataVersion;
  private readonly hashAt;
  private readonly executedCount;
  private checkpointFd: number | undefined;
  private tx: OpenTx | undefined;
  /** The last write that failed for a reason other than another process's lock, until a write succeeds: /healthz reports it. */
  private failedWrite: { at: string; error: string } | undefined;
  private readonly appendListeners = new Set<AppendListener>();
  private readonly queue = new AppendQueue<AuditInput, AuditEntry>(() => this.atomically(() => undefined));
  /** One queued entry in a savepoint of the open transaction: a statement that fails undoes that entry alone. */
  private readonly isolated;
  private nested: Nested | undefined;

  constructor(private readonly db: Db, private readonly checkpointPath: string | null) {
    this.insert = db.prepare(`INSERT INTO audit (seq, time, call_id, principal, transport, tool, target, target_id, args, args_hash,
      risk, decision, rule, approval_id, phase, dry_run, result, error_kind, duration_ms, incident_id, traceparent, prev_hash, hash)
      VALUES (@seq, @time, @callId, @principal, @transport, @tool, @target, @targetId, @args, @argsHash, @risk, @decision, @rule,
      @approvalId, @phase, @dryRun, @result, @errorKind, @durationMs, @incidentId, @traceparent, @prevHash, @hash)`);
    this.head = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.hashAt = db.prepare('SELECT hash FROM audit WHERE seq = ?').pluck();
    this.isolated = db.transaction((input: AuditInput) => this.appendInTx(input));
    // Three shapes so each uses its partial indexes (migrations 11 and 19) instead of a scan. A call
    // counts from its 'requested' entry, so calls still running count too: eight restarts sent at
    // once cannot all slip under a limit of two. A plain read (guard.ts) writes no 'requested'
    // entry, only one after it ran, which counts instead: a limit a policy reload adds on a read
    // tool counts the reads made before it in its window.
    const inWindow = `dry_run = 0 AND time >= @since AND tool IN (SELECT value FROM json_each(@tools))`;
    const started = `phase = 'requested' AND ${inWindow}`;
    const readOnce = `risk = 'read' AND phase IN ('completed', 'failed') AND decision IN ('allow', 'notify') AND ${inWindow}
      AND NOT EXISTS (SELECT 1 FROM audit r WHERE r.call_id = o.call_id AND r.phase = 'requested')`;
    // A limit only needs to know whether its max was reached: stop counting there.
    const count = (key: string): string => `SELECT count(*) AS n FROM (SELECT 1 FROM audit o WHERE ${key} ${started}
      UNION ALL SELECT 1 FROM audit o WHERE ${key} ${readOnce} LIMIT @cap)`;
    this.executedCount = {
      target: db.prepare(count('target = @target AND')),
      principal: db.prepare(count('principal = @principal AND')),
      overall: db.prepare(count('')),
    };
  }

  /**
   * Appends one entry and commits it before returning, with whatever appendBatched has queued
   * (written first). BEGIN IMMEDIATE serialises writers across processes (the stdio server, the
   * daemon and the CLI share one database), so the chain never forks.
   */
  append(input: AuditInput): AuditEntry {
    return this.atomically(() => this.appendInTx(input));
  }

  /**
   * Appends one entry with the others queued in this tick, in one transaction and one checkpoint
   * write; settles once it is committed. Rejects with DatabaseBusy when another process held the
   * lock for `waitMs`, or with the write's error: the entry is then not in the chain.
   */
  appendBatched(input: AuditInput, waitMs: number): Promise<AuditEntry> {
    return this.queue.add(input, waitMs);
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction: it takes the write lock first, so it either fails
   * before anything was written (the lock is busy: retry it whole) or commits every append in it.
   * Entries queued by appendBatched go in first, each in a savepoint: one that cannot be written
   * (too big for a full disk) is rejected alone. Queued entries are queued again if `fn` fails.
   */
  atomically<T>(fn: () => T): T {
    if (this.tx) return fn();
    const outermost = !this.db.inTransaction;
    // Nested in a transaction of another store, a commit here is only a savepoint: queued entries
    // must not ride on it (it may still roll back), nor may the head it ends with be cached.
    if (outermost) this.settleNested();
    const taken = outermost && this.queue.size > 0 ? this.queue.take() : undefined;
    const tx: OpenTx = { head: undefined, count: 0, outermost, version: undefined };
    this.tx = tx;
    const outcomes: Array<Outcome<AuditEntry>> = [];
    const ran = { fn: false };
    let result: T;
    try {
      result = this.watched(() => this.db.transaction(() => {
        taken?.inputs.forEach((input, i) => outcomes.push(this.appendQueued(input, i)));
        ran.fn = true;
        return fn();
      }).immediate());
    } catch (err) {
      const own = new Map(outcomes.flatMap((o, i): Array<[number, unknown]> => ('error' in o ? [[i, o.error]] : [])));
      if (err instanceof EntryLost) own.set(err.index, err.error);
      // A failure of `fn`, or of one queued entry, is not the other queued entries' fault.
      taken?.failed(err instanceof EntryLost ? err.error : err, ran.fn || err instanceof EntryLost, own);
      throw err instanceof EntryLost ? err.error : err;
    } finally {
      this.tx = undefined;
    }
    for (const o of outcomes) if ('error' in o) this.noteFailure(o.error);
    if (tx.head && !outermost) {
      committedHeads.delete(this.db);
      this.deferNested(tx.head, tx.count);
    } else if (tx.head) {
      if (tx.version !== undefined) committedHeads.set(this.db, { version: tx.version, head: tx.head });
      try {
        this.committed(tx.head, tx.count);
      } catch (err) {
        // Committed, but the anchor could not follow: that is an audit write failing, for these entries too.
        taken?.done(outcomes.map((o) => ('entry' in o ? { error: err } : o)));
        throw err;
      }
    }
    taken?.done(outcomes);
    return result;
  }

  /**
   * A queued entry, in a savepoint: a statement failure other than another process's lock undoes
   * this entry alone, and the head stays where it was. Thrown on when SQLite undid the whole transaction.
   */
  private appendQueued(input: AuditInput, index: number): Outcome<AuditEntry> {
    const tx = this.tx!;
    const before = { head: tx.head, count: tx.count };
    try {
      return { entry: this.isolated(input) };
    } catch (err) {
      Object.assign(tx, before);
      if (isBusy(err)) throw err;
      if (!this.db.inTransaction) throw new EntryLost(index, err);
      return { error: err };
    }
  }

  /** Inside `atomically`: chains `input` onto the head, looked up at most once per transaction. */
  private appendInTx(input: AuditInput): AuditEntry {
    const tx = this.tx;
    if (!tx) throw new Error('appendInTx outside atomically');
    if (tx.head === undefined) tx.head = this.headNow(tx);
    const entry = chainedEntry(input, tx.head, new Date().toISOString());
    this.insert.run({ ...entry, targetId: entry.targetId ?? null, traceparent: entry.traceparent ?? null, dryRun: entry.dryRun ? 1 : 0 });
    tx.head = { seq: entry.seq, hash: entry.hash };
    tx.count += 1;
    return entry;
  }

  /**
   * The chain head, under the write lock. The head this connection committed last is still the
   * head unless another connection has committed since, which data_version tells without a query
   * on the audit table. The lock is held from BEGIN IMMEDIATE on, so no commit can slip in between.
   */
  private headNow(tx: OpenTx): Checkpoint | null {
    if (tx.outermost) {
      tx.version = this.dataVersion.get() as number;
      const cached = committedHeads.get(this.db);
      if (cached && cached.version === tx.version) return cached.head;
    }
    return (this.head.get() as Checkpoint | undefined) ?? null;
  }

  /** Why the audit cannot be written now (database or disk full, read-only, I/O error), or undefined. */
  writeProblem(): { at: string; error: string } | undefined {
    return this.failedWrite;
  }

  /** A committed write to this database just worked (a health probe): the last failure is history. */
  writeRecovered(): void {
    this.failedWrite = undefined;
  }

  private watched<T>(write: () => T): T {
    try {
      const result = write();
      this.failedWrite = undefined;
      return result;
    } catch (err) {
      this.noteFailure(err instanceof EntryLost ? err.error : err);
      throw err;
    }
  }

  /** Another process's lock is waited out elsewhere; any other SQLite error means the audit cannot be written. */
  private noteFailure(err: unknown): void {
    const code = (err as { code?: unknown } | null)?.code;
    if (!isBusy(err) && typeof code === 'string' && code.startsWith('SQLITE_')) this.failedWrite = { at: new Date().toISOString(), error: err instanceof Error ? err.message : String(err) };
  }

  /** `listener` hears of every commit that added entries (the signed checkpoints count them); returns its removal. */
  onAppend(listener: AppendListener): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** Once per transaction, naming its last entry: a batch of entries costs one slot write. */
  private committed(head: Checkpoint, count: number): void {
    this.writeCheckpoint(head);
    for (const listener of this.appendListeners) listener(head, count);
  }

  /**
   * Appended inside another store's transaction, which may still roll back: neither the anchor nor
   * a signed checkpoint may name these entries before it commits (seq would be reused with another
   * hash). Settled once that transaction ended, which is synchronous: a microtask runs after it.
   */
  private deferNested(head: Checkpoint, count: number): void {
    const first = !this.nested;
    this.nested = { head, base: this.nested?.base ?? head.seq - count };
    if (first) queueMicrotask(() => this.settleNested());
  }

  /** The outer transaction ended: tells the anchor and the listeners of what it committed, if anything. */
  private settleNested(): void {
    const pending = this.nested;
    if (!pending || !this.db.open) return;
    if (this.db.inTransaction) {
      // A transaction held across an await: look again later.
      setTimeout(() => this.settleNested(), 10).unref();
      return;
    }
    this.nested = undefined;
    if (this.hashAt.get(pending.head.seq) !== pending.head.hash) return;
    try {
      this.committed(pending.head, pending.head.seq - pending.base);
    } catch (err) {
      this.noteFailure(err);
    }
  }

  private writeCheckpoint(cp: Checkpoint): void {
    if (!this.checkpointPath) return;
    // 0600 from its first write: the anchor says how far the audit goes, for no one else to read.
    this.checkpointFd ??= openSync(this.checkpointPath, existsSync(this.checkpointPath) ? 'r+' : 'w+', 0o600);
    // Written in place, no create-and-rename per commit (that cost more than the SQLite commit).
    writeSync(this.checkpointFd, encodeSlot(cp), slotOffset(cp), 'utf8');
  }

  readCheckpoint(): Checkpoint | null {
    if (!this.checkpointPath || !existsSync(this.checkpointPath)) return null;
    return decodeCheckpoint(readFileSync(this.checkpointPath, 'utf8'));
  }

  /**
   * Writes what appendBatched holds now, synchronously, waiting up to CLOSE_BUSY_TIMEOUT_MS for
   * another process's lock (a shutdown: the last signed checkpoint must cover these entries).
   * Entries still refused by the lock stay queued.
   */
  flush(): void {
    this.patiently(() => this.queue.flush());
  }

  /**
   * Writes what appendBatched still holds (what cannot be written is rejected), then lets the anchor
   * file go. The last entries wait up to CLOSE_BUSY_TIMEOUT_MS for another process's lock: no timer
   * retries them after this.
   */
  close(): void {
    this.patiently(() => this.queue.close());
    if (this.checkpointFd !== undefined) closeSync(this.checkpointFd);
    this.checkpointFd = undefined;
  }

  /** `write` with SQLite waiting out another process's lock for longer than a serving connection would. */
  private patiently(write: () => void): void {
    if (!this.db.open) return write();
    this.settleNested();
    const was = this.db.pragma('busy_timeout', { simple: true }) as number;
    const raise = this.queue.size > 0 && was < CLOSE_BUSY_TIMEOUT_MS;
    if (raise) this.db.pragma(`busy_timeout = ${CLOSE_BUSY_TIMEOUT_MS}`);
    try {
      write();
    } finally {
      if (raise && this.db.open) this.db.pragma(`busy_timeout = ${was}`);
    }
  }

  list(opts: { limit?: number; afterSeq?: number; callId?: string } = {}): AuditEntry[] {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM audit WHERE seq > @after AND (@callId IS NULL OR call_id = @callId)
        ORDER BY seq DESC LIMIT @limit`)
      .all({ after: opts.afterSeq ?? 0, callId: opts.callId ?? null, limit: opts.limit ?? -1 }) as Row[];
    return rows.map(fromRow).reverse();
  }

  /**
   * Every entry tagged with this incident, oldest first: the loop reads what it already did from
   * here. With `limit`, only the newest that many (the console's timeline).
   */
  forIncident(incidentId: string, limit = -1): AuditEntry[] {
    const rows = this.db.prepare(`SELECT * FROM (SELECT ${COLUMNS} FROM audit WHERE incident_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`)
      .all(incidentId, limit) as Row[];
    return rows.map(fromRow);
  }

  /**
   * Calls of these tools on `target` that started at or after `since`, newest first: who did what
   * to it (a stop, a start), when each began and, once it ended, how. Reads the 'requested'
   * entries through their partial index, then each call's outcome.
   */
  callsOn(target: string, tools: readonly string[], since: string): Array<{ tool: string; principal: string; time: string; outcome: AuditPhase | null; endedAt: string | null }> {
    return this.db.prepare(`SELECT r.tool, r.principal, r.time,
        (SELECT c.phase FROM audit c WHERE c.call_id = r.call_id AND c.phase IN ('completed', 'failed') LIMIT 1) AS outcome,
        (SELECT c.time FROM audit c WHERE c.call_id = r.call_id AND c.phase IN ('completed', 'failed') LIMIT 1) AS endedAt
      FROM audit r
      WHERE r.phase = 'requested' AND r.dry_run = 0 AND r.target = @target AND r.time >= @since AND r.tool IN (SELECT value FROM json_each(@tools))
      ORDER BY r.seq DESC LIMIT 50`).all({ target, since, tools: JSON.stringify(tools) }) as Array<{ tool: string; principal: string; time: string; outcome: AuditPhase | null; endedAt: string | null }>;
  }

  /** Entries matching `filter`, newest first, in bounded work (audit-search.ts): the console's audit page. */
  search(filter: AuditFilter, limit = 50): AuditPage {
    return searchAudit(this.db, filter, limit);
  }

  /** A person's stop of this target that no start through warden followed (migration 18's triggers keep it, archive or not). */
  stopIntent(target: string): { principal: string; time: string } | undefined {
    return this.db.prepare('SELECT principal, time FROM stop_intents WHERE target = ?').get(target) as { principal: string; time: string } | undefined;
  }

  /** Calls of these tools that started (ran or are running) since `since`, for one target, one principal, or all; at most `cap`. */
  countExecuted(tools: readonly string[], since: Date, key: { target?: string; principal?: string } = {}, cap = -1): number {
    const stmt = key.target !== undefined ? this.executedCount.target : key.principal !== undefined ? this.executedCount.principal : this.executedCount.overall;
    const row = stmt.get({ tools: JSON.stringify(tools), since: since.toISOString(), cap, ...key }) as { n: number };
    return row.n;
  }

  /**
   * `requireAnchor`: a log with entries and no anchor file fails (a cut-off tail would pass
   * unseen); without it the missing anchor is a warning, for an operator who knows why it is gone.
   * `kept`: signed checkpoints received elsewhere (their signatures already checked), held to
   * like the anchor: the entry each names must exist and have its hash. They catch what the anchor
   * cannot, a tail cut and forged anew together with a rewritten anchor file.
   * `archive`: walks the archived entries (audit-archive.ts) before the live table. Without it the
   * live table is taken to continue from the newest segment row unchecked, and a warning says so.
   */
  verify(opts: VerifyOptions = {}): VerifyResult {
    // Given when the caller read the anchor before taking its copy of a live database.
    const checkpoint = opts.checkpoint !== undefined ? opts.checkpoint : this.readCheckpoint();
    return verifyChain(this.db, this.checkpointPath, checkpoint, opts);
  }
}
