// The approvals claimed by the calls under way, and giving one back when its call failed before
// acting, so a retry with the same arguments can use it. Only the guard uses it, and it writes no
// audit entry of its own: the release is audited in the call's failed entry, which the guard hands
// over together with the function that appends it, so both commit in one transaction.
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditInput } from '../store/audit.js';
import { whenFree } from '../store/busy.js';
import { ADMIT_WAIT_MS } from './call-audit.js';
import type { CallOutcome, PreparedCall } from './call.js';
import { EffectWatch } from './effect-watch.js';

export interface ApprovalClaimsDeps {
  /** Gives a claimed approval back; false when it cannot be used again anyway (expired, its incident closed). */
  release: (approvalId: string) => boolean;
  /** One transaction on the audit's database: the release and the entry that audits it commit together or not at all. */
  atomically: <T>(fn: () => T) => T;
  log: Logger;
}

type Failure = Extract<CallOutcome, { message: string }>;

export class ApprovalClaims {
  /** The caller's approval each admitted call claimed, until the call ends. */
  private readonly claims = new WeakMap<PreparedCall, string>();

  constructor(private readonly deps: ApprovalClaimsDeps) {}

  /** `call` runs on `approvalId`, claimed in its admission's transaction. */
  claim(call: PreparedCall, approvalId: string): void {
    this.claims.set(call, approvalId);
  }

  claimed(call: PreparedCall): boolean {
    return this.claims.has(call);
  }

  /**
   * What the call's handler reaches its adapters and change journal through, or undefined for a
   * read on no approval. A write's watch also keeps a failure's notRun true to the call: a handler
   * that stopped a container and then found Docker gone must not report that nothing ran.
   */
  watch(call: PreparedCall): EffectWatch | undefined {
    return this.claims.has(call) || call.risk !== 'read' ? new EffectWatch() : undefined;
  }

  /**
   * A call that ran on a claimed approval and failed before acting (its watch saw no write that may
   * have reached anything) gives the approval back for a retry with the same arguments: released
   * and audited in the call's failed `entry`, written by `append`, in one transaction. Undefined when
   * there is no claim, it may have acted, or the release could not be made or written: the approval
   * then stays used, as the entry (still the caller's to write) says.
   */
  async giveBack(call: PreparedCall, watch: EffectWatch | undefined, entry: AuditInput, outcome: Failure, append: (entry: AuditInput) => void): Promise<CallOutcome | undefined> {
    const approvalId = this.claims.get(call);
    if (approvalId === undefined || !watch) return undefined;
    this.claims.delete(call);
    if (!watch.sealIfUntouched()) return undefined;
    const note = `approval ${approvalId} released: the call failed before acting, so it may be used again with the same arguments`;
    try {
      const released = await whenFree(() => this.deps.atomically(() => {
        if (!this.deps.release(approvalId)) return false;
        append({ ...entry, result: `${entry.result ?? ''} [${note}]` });
        return true;
      }), { waitMs: ADMIT_WAIT_MS });
      if (!released) return undefined;
    } catch (err) {
      this.deps.log.warn({ callId: call.callId, approvalId, err: errorMessage(err) }, 'a claimed approval could not be given back; it stays used');
      return undefined;
    }
    return {
      ...outcome,
      message: `${outcome.message} Nothing was changed: approval ${approvalId} is still valid; call ${call.spec.name} again with the same arguments and approvalId "${approvalId}".`,
      details: { ...outcome.details, approvalId },
    };
  }
}
