// "Verify now" on the Audit page: the whole chain walked in a child process (audit-verify-process.ts)
// under a deadline, one verification at a time whoever asks, and the last result kept for the page.
// Nothing records verifications in the database, so "last verify" is this process's, since it started.
import { forkIsolated, type ForkIsolated } from '../../adapters/isolated-child.js';
import type { AuditLog, VerifyResult } from '../../store/audit.js';
import type { VerifyReply, VerifyRequest } from './audit-verify-process.js';

/** A walk still going after this is stopped (SIGKILL) and reported as unfinished. */
export const VERIFY_DEADLINE_MS = 120_000;
/**
 * A new verification may start this long after the last one ended at the earliest, or as long as that
 * one took if longer: however fast anyone clicks (a readonly viewer may), a long chain's walk keeps a
 * core busy at most about half the time.
 */
export const VERIFY_COOLDOWN_MS = 15_000;

export interface VerifyRecord {
  /** When it ended, and who asked for it. */
  at: string;
  by: string;
  ms: number;
  outcome: { kind: 'result'; result: VerifyResult } | { kind: 'unfinished'; reason: string };
}

export interface VerifyState {
  running?: { since: string; by: string };
  last?: VerifyRecord;
}

const ENTRY = new URL(`./audit-verify-process.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

export class ChainVerifier {
  private running: { since: string; by: string; done: Promise<VerifyRecord> } | undefined;
  private last: VerifyRecord | undefined;
  private child: ReturnType<ForkIsolated> | undefined;
  private closed = false;

  constructor(
    private readonly audit: Pick<AuditLog, 'readCheckpoint'>,
    private readonly dataDir: string,
    private readonly fork: ForkIsolated = forkIsolated,
    private readonly deadlineMs = VERIFY_DEADLINE_MS,
  ) {}

  state(): VerifyState {
    return { ...(this.running ? { running: { since: this.running.since, by: this.running.by } } : {}), ...(this.last ? { last: this.last } : {}) };
  }

  /** Milliseconds until another verification may start (0: now). */
  waitMs(now = Date.now()): number {
    return this.last && !this.running ? Math.max(0, Date.parse(this.last.at) + Math.max(VERIFY_COOLDOWN_MS, this.last.ms) - now) : 0;
  }

  /**
   * Starts a verification for `by`, or joins the one running; undefined while the cooldown after
   * the last one lasts (the page shows that one).
   */
  start(by: string): Promise<VerifyRecord> | undefined {
    if (this.running) return this.running.done;
    if (this.waitMs() > 0) return undefined;
    const since = new Date();
    // Settles whatever happens (a fork refused for want of memory included): a verification that
    // never ended would keep every later one from starting.
    const walked = this.walk().catch((): VerifyRecord['outcome'] => ({ kind: 'unfinished', reason: 'the verifying process could not be started' }));
    const done = walked.then((outcome): VerifyRecord => {
      const record = { at: new Date().toISOString(), by, ms: Date.now() - since.getTime(), outcome };
      this.last = record;
      this.running = undefined;
      return record;
    });
    this.running = { since: since.toISOString(), by, done };
    return done;
  }

  private async walk(): Promise<VerifyRecord['outcome']> {
    // The anchor before the child's snapshot: entries appended meanwhile only add to what it names.
    let checkpoint;
    try {
      checkpoint = this.audit.readCheckpoint();
    } catch {
      return { kind: 'unfinished', reason: 'the anchor file could not be read: run warden audit verify' };
    }
    // A process per verification, ended after it: nothing idles beside warden between clicks.
    if (this.closed) return { kind: 'unfinished', reason: 'warden is shutting down' };
    const child = this.fork(ENTRY);
    this.child = child;
    try {
      const request: VerifyRequest = { dataDir: this.dataDir, checkpoint };
      const r = await child.request({ ...request }, this.deadlineMs);
      if (!r.ok) {
        return { kind: 'unfinished', reason: r.why === 'deadline' ? `stopped after ${Math.round(this.deadlineMs / 1000)} s: run warden audit verify for a chain this long` : `the verifying process ended early (${r.detail})` };
      }
      const reply = r.reply as VerifyReply;
      return reply.ok ? { kind: 'result', result: reply.result } : { kind: 'unfinished', reason: `could not read the audit: ${reply.error}` };
    } finally {
      this.child = undefined;
      await child.close();
    }
  }

  /** At shutdown: a walk under way is stopped (its child killed), none starts after. */
  async close(): Promise<void> {
    this.closed = true;
    await this.child?.close();
  }
}
