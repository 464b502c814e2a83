// A tool's handler run for the guard, and nothing else: under the call's deadline combined with
// the client's signal, with the adapters (watched, for a call that must know whether it acted) and
// the output checked against the spec's schema. Only the guard calls it; the audit stays the guard's.
import type { Adapters } from '../adapters/index.js';
import { ToolFailure } from '../errors.js';
import type { Logger } from '../log.js';
import type { ChangeJournal } from '../store/changes.js';
import type { IncidentReader, InventoryReader } from '../store/readers.js';
import { describeIssues } from '../validation.js';
import type { PreparedCall } from './call.js';
import type { EffectWatch } from './effect-watch.js';

/** How long after an abort the guard still waits for a tool that rolls itself back (its rollback has 120 s). */
export const ABORT_GRACE_MS = 150_000;

/** What a handler is given to reach the world with. */
export interface HandlerDeps {
  adapters: Adapters;
  inventory: InventoryReader;
  incidents: IncidentReader;
  changes: ChangeJournal;
  log: Logger;
}

/** The handler's output, checked; throws what it threw, or ToolFailure on the deadline or the client's abort. `watch`: what the handler reaches goes through it. */
export async function runHandler(deps: HandlerDeps, call: PreparedCall, clientSignal?: AbortSignal, watch?: EffectWatch): Promise<unknown> {
  // One timer per call, cleared when the call ends: AbortSignal.timeout would keep every call's
  // signal alive for the whole timeout.
  const deadline = new AbortController();
  const signal = clientSignal ? AbortSignal.any([clientSignal, deadline.signal]) : deadline.signal;
  let timer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (): void => reject(deadline.signal.aborted
      ? new ToolFailure('unavailable', `${call.spec.name} on ${call.target} timed out after ${call.deadlineMs} ms; retry later`)
      : new ToolFailure('unavailable', `${call.spec.name} on ${call.target} was cancelled by the client`));
    timer = setTimeout(() => deadline.abort(), call.deadlineMs);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const log = deps.log.child({ callId: call.callId, tool: call.spec.name });
  const ctx = {
    adapters: watch ? watch.adapters(deps.adapters) : deps.adapters, inventory: deps.inventory, incidents: deps.incidents,
    changes: watch ? watch.changes(deps.changes) : deps.changes, signal, log,
    call: { id: call.callId, principal: call.caller.principal, incidentId: call.caller.incidentId ?? null },
  };
  try {
    const running = call.spec.run(call.input, ctx);
    // A change rolls itself back on the abort: its real end, not "cancelled", is the outcome; but
    // never later than ABORT_GRACE_MS after the abort (a Docker call that hangs in the kernel).
    const late = call.spec.finishesAfterAbort
      ? aborted.catch((err: unknown) => new Promise<never>((_, reject) => { graceTimer = setTimeout(() => reject(err), ABORT_GRACE_MS); }))
      : aborted;
    const output = await Promise.race([running, late]);
    const checked = call.spec.output.safeParse(output);
    if (!checked.success) throw new Error(`output of ${call.spec.name} does not match its schema: ${describeIssues(checked.error).join('; ')}`);
    return checked.data;
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
