// Changes that a crashed or killed warden left between apply and verify (or mid-rollback) are
// finished through the gate, as principal `warden`, with rollback_change: a change caught while
// verifying is checked and kept when it works, anything else is rolled back. Never left half-done.
// It runs at start and then every minute, so a kill switch turned off, an approval granted or a
// dry run ended later still lets it finish; a change it cannot finish is escalated once.
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Guard } from '../policy/guard.js';
import type { Notifier } from '../shared/notifier.js';
import type { ApprovalStore } from '../store/approvals.js';
import type { ChangeRecord, ChangeStore } from '../store/changes.js';
import { SYSTEM_PRINCIPAL } from '../shared/roles.js';

export const RECOVERY_EVERY_MS = 60_000;

export interface RecoveryDeps {
  guard: Guard;
  changes: ChangeStore;
  approvals: Pick<ApprovalStore, 'get'>;
  notifier: Notifier;
  log: Logger;
}

export interface RecoveryResult {
  changeId: string;
  /** finished: verified or rolled back; waiting: held (approval, kill switch, dry run) for a later pass; taken: another process has it; failed. */
  outcome: 'finished' | 'waiting' | 'taken' | 'failed';
  message: string;
}

const CALLER = { principal: SYSTEM_PRINCIPAL, role: 'admin' as const, transport: 'internal' as const };

/**
 * One pass over the orphaned changes. The approval recovery waits on is kept on the change row,
 * so every process that recovers (each stdio start) waits on the same one instead of filing its own.
 */
export async function recoverChanges(deps: RecoveryDeps): Promise<RecoveryResult[]> {
  const results: RecoveryResult[] = [];
  for (const c of deps.changes.orphans()) {
    deps.log.warn({ change: c.id, status: c.status, target: c.target }, 'finishing a change its process left unfinished');
    const approvals = new Map(c.recovery.approvalId ? [[c.id, c.recovery.approvalId]] : []);
    const r = await finishOne(deps, c, approvals);
    const next = approvals.get(c.id);
    if (next !== c.recovery.approvalId) await deps.changes.noteRecovery(c.id, { approvalId: next ?? '' });
    results.push(r);
  }
  return results;
}

async function finishOne(deps: RecoveryDeps, c: ChangeRecord, approvals: Map<string, string>): Promise<RecoveryResult> {
  // A dry run would only report, and announce, the rollback each minute: wait for it to end.
  if (deps.guard.policy().dryRun) return { changeId: c.id, outcome: 'waiting', message: 'dry run is on: the change stays open until it is off' };
  let held = approvals.get(c.id) || undefined;
  const request = held ? deps.approvals.get(held) : undefined;
  if (request?.status === 'pending') return { changeId: c.id, outcome: 'waiting', message: `approval ${held} is pending` };
  // Expired, denied or used: ask afresh rather than re-sending a request that can never run.
  if (held && request?.status !== 'approved') {
    approvals.delete(c.id);
    held = undefined;
  }
  const args = {
    changeId: c.id, onlyIfBroken: true, reason: `recovery: the warden process that made it (${c.owner}) ended while the change was ${c.status.replace('_', ' ')}`,
    ...(held ? { approvalId: held } : {}),
  };
  try {
    const out = await deps.guard.call(CALLER, 'rollback_change', args);
    if (out.ok && !out.dryRun) {
      approvals.delete(c.id);
      return { changeId: c.id, outcome: 'finished', message: out.text };
    }
    if (out.ok) return { changeId: c.id, outcome: 'waiting', message: 'dry run is on: the change stays open until it is off' };
    if (out.kind === 'approval_required' && out.details.approvalId) approvals.set(c.id, out.details.approvalId);
    if (out.kind === 'approval_required' || out.kind === 'denied' || out.kind === 'ask_human') {
      return { changeId: c.id, outcome: 'waiting', message: 'message' in out ? out.message : 'held for a human' };
    }
    return settledElsewhere(deps, c) ?? { changeId: c.id, outcome: 'failed', message: out.message };
  } catch (err) {
    return settledElsewhere(deps, c) ?? { changeId: c.id, outcome: 'failed', message: errorMessage(err) };
  }
}

/** Another process claimed the change first (two starts at once): not a failure. */
function settledElsewhere(deps: RecoveryDeps, c: ChangeRecord): RecoveryResult | undefined {
  const now = deps.changes.get(c.id);
  if (!now || now.version === c.version || deps.changes.abandoned(now)) return undefined;
  return { changeId: c.id, outcome: 'taken', message: `now ${now.status}, owned by ${now.owner}` };
}

/** Recovery at start and every `everyMs`; each change that cannot be finished is escalated once, by whichever process sees it first. */
export function startRecovery(deps: RecoveryDeps, everyMs = RECOVERY_EVERY_MS): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const pass = (): void => {
    running = running.then(async () => {
      for (const r of await recoverChanges(deps)) await report(deps, r);
    }).catch((err: unknown) => deps.log.error({ err: errorMessage(err) }, 'recovery of unfinished changes failed'));
  };
  pass();
  const timer = setInterval(pass, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

async function report(deps: RecoveryDeps, r: RecoveryResult): Promise<void> {
  if (r.outcome === 'finished' || r.outcome === 'taken') {
    deps.log.info({ change: r.changeId, outcome: r.outcome, message: r.message }, 'unfinished change finished');
    return;
  }
  deps.log.error({ change: r.changeId, outcome: r.outcome, message: r.message }, 'an unfinished change could not be finished yet');
  if (deps.changes.get(r.changeId)?.recovery.escalatedAt) return;
  await deps.changes.noteRecovery(r.changeId, { escalatedAt: new Date().toISOString() });
  deps.notifier.send({
    event: 'escalation',
    title: `URGENT warden: change ${r.changeId} was left unfinished by a crash and is not finished: ${r.message}. warden retries every minute; warden changes show ${r.changeId}`.slice(0, 600),
    fields: { priority: 'critical', change: r.changeId, outcome: r.outcome },
  });
}
