// On start: changes that a crashed or killed warden left between apply and verify (or mid-rollback)
// are finished through the gate, as principal `warden`, with rollback_change: a change caught while
// verifying is checked and kept when it works, anything else is rolled back. Never left half-done.
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Guard } from '../policy/guard.js';
import type { Notifier } from '../shared/notifier.js';
import type { ChangeStore } from '../store/changes.js';
import { SYSTEM_PRINCIPAL } from '../shared/roles.js';

export interface RecoveryResult {
  changeId: string;
  ok: boolean;
  message: string;
}

export async function recoverChanges(deps: { guard: Guard; changes: ChangeStore; notifier: Notifier; log: Logger }): Promise<RecoveryResult[]> {
  const results: RecoveryResult[] = [];
  for (const c of deps.changes.orphans()) {
    deps.log.warn({ change: c.id, status: c.status, target: c.target }, 'finishing a change its process left unfinished');
    let r: RecoveryResult;
    try {
      const out = await deps.guard.call({ principal: SYSTEM_PRINCIPAL, role: 'admin', transport: 'internal' }, 'rollback_change', {
        changeId: c.id, onlyIfBroken: true, reason: `recovery: the warden process that made it (${c.owner}) ended while the change was ${c.status.replace('_', ' ')}`,
      });
      r = { changeId: c.id, ok: out.ok, message: out.ok ? out.text : 'message' in out ? out.message : 'held for approval' };
    } catch (err) {
      r = { changeId: c.id, ok: false, message: errorMessage(err) };
    }
    if (!r.ok) {
      deps.log.error({ change: c.id, message: r.message }, 'an unfinished change could not be finished');
      deps.notifier.send({
        event: 'escalation',
        title: `URGENT warden: change ${c.id} on ${c.target} was left unfinished by a crash and could not be finished: ${r.message}`.slice(0, 500),
        fields: { priority: 'critical', change: c.id, target: c.target, status: c.status },
      });
    }
    results.push(r);
  }
  return results;
}

/** Starts recovery without holding up the start; what it did goes to the log (and the audit, through the gate). */
export function recoverInBackground(deps: Parameters<typeof recoverChanges>[0]): Promise<void> {
  return recoverChanges(deps).then(
    (done) => { if (done.length) deps.log.info({ changes: done }, 'unfinished changes finished'); },
    (err: unknown) => { deps.log.error({ err: errorMessage(err) }, 'recovery of unfinished changes failed'); },
  );
}
