// rollback_change: puts a recorded change's before state back and checks it, through the gate like
// any write (its target is the change's, so policy speaks of the same thing). Also how warden
// finishes a change a crash left open: with onlyIfBroken, a change caught between apply and its
// check is checked first and kept when it works.
import { z } from 'zod';
import { ToolFailure } from '../errors.js';
import { OPEN_STATUSES, type ChangeRecord } from '../store/changes.js';
import { CHANGE_OVERHEAD_MS, ChangeFields, checked, outcome, rollBack, settle, type ChangeKind } from './change-transaction.js';
import { containerRecreateKind } from './container-recreate-change.js';
import { containerResourcesKind } from './container-resources.js';
import { hostRebootKind } from './host-reboot-change.js';
import { nginxFilesKind } from './nginx-change.js';
import { defineTool, type CallRecords } from './spec.js';

const KINDS: Record<string, ChangeKind> = Object.fromEntries([nginxFilesKind, containerResourcesKind, containerRecreateKind, hostRebootKind].map((k) => [k.kind, k]));

export const ChangeId = z.string().regex(/^chg_[0-9a-f]{16}$/, 'a change id such as chg_0123456789abcdef').describe('The change id its tool returned.');

const Input = z.strictObject({
  changeId: ChangeId,
  reason: z.string().min(1).max(500).optional().describe('Why, for the record and the audit.'),
  onlyIfBroken: z.boolean().default(false).describe('For a change a crash left unfinished: keep it if its check passes.'),
});

function changeOf(id: string, records: CallRecords): ChangeRecord {
  const c = records.change(id);
  if (!c) throw new ToolFailure('invalid_input', `changeId: no change "${id}"; warden changes list shows them`);
  return c;
}

function kindOf(c: ChangeRecord): ChangeKind {
  const kind = KINDS[c.kind];
  if (!kind) throw new ToolFailure('invalid_input', `change ${c.id} is of kind "${c.kind}", which this warden cannot roll back`);
  return kind;
}

/** Why this change cannot be rolled back now, or undefined. */
function refusal(c: ChangeRecord, later: readonly ChangeRecord[], abandoned: boolean): string | undefined {
  if (c.status === 'rejected') return `change ${c.id} was rejected by its validation and never applied; nothing to roll back`;
  if (c.status === 'rolled_back') return `change ${c.id} was already rolled back`;
  if (OPEN_STATUSES.includes(c.status) && !abandoned) {
    return `change ${c.id} is still ${c.status.replace('_', ' ')} in a running warden process; it rolls back by itself if its check fails`;
  }
  if (later.length) return `change ${later.map((l) => l.id).join(', ')} on ${c.target} came after ${c.id} and is still in effect; roll ${later.length > 1 ? 'those' : 'that'} back first, newest first`;
  return undefined;
}

/** The seconds a check of this change may take: its verify window, and a container's wait to settle. */
const planSeconds = (c: ChangeRecord | undefined): number => {
  const p = c?.plan as { verifySeconds?: unknown; waitSeconds?: unknown } | undefined;
  return (typeof p?.verifySeconds === 'number' ? p.verifySeconds : 10) + (typeof p?.waitSeconds === 'number' ? p.waitSeconds : 0);
};

export const rollbackChange = defineTool({
  name: 'rollback_change',
  title: 'Roll back a configuration change',
  description:
    'Restores what a recorded change replaced and checks the target serves as before: for a change that passed its check but proves wrong later. ' +
    'Refused while a later change on the same target is in effect.',
  family: 'changes',
  risk: 'low',
  effect: 'rollback',
  finishesAfterAbort: true,
  input: Input,
  output: z.object(ChangeFields),
  target: (i, _inventory, records) => changeOf(i.changeId, records).target,
  resolve: (i, _inventory, records) => {
    const c = changeOf(i.changeId, records);
    kindOf(c);
    return { ...(c.service ? { service: c.service } : {}), deadlineMs: planSeconds(c) * 2_000 + CHANGE_OVERHEAD_MS };
  },
  plan: (i) => `restore the before state of change ${i.changeId} and check it`,
  async run(input, ctx) {
    const c = changeOf(input.changeId, { change: (id) => ctx.changes.get(id) });
    const kind = kindOf(c);
    const why = refusal(c, ctx.changes.laterOnTarget(c), ctx.changes.abandoned(c));
    if (why) throw new ToolFailure('invalid_input', why);
    // Someone may have fixed or changed the target by hand since (after a crash, too): never
    // overwrite that. Mid-apply there is no recorded after state to tell a hand edit from ours.
    const drift = c.status !== 'applying' ? await kind.drift?.(c, ctx) : undefined;
    if (drift && input.onlyIfBroken && ctx.changes.abandoned(c)) {
      await ctx.changes.update(c.id, { status: 'rollback_failed', rollback: `not rolled back: ${drift}`, call: ctx.call.id, ifVersion: c.version });
      throw new ToolFailure('target_failed', `change ${c.id} was left unfinished and its target was changed since: ${drift}. A human has been alerted.`);
    }
    if (drift) throw new ToolFailure('target_failed', drift);
    const note = input.reason ? `rollback asked by ${ctx.call.principal}: ${input.reason}` : `rollback asked by ${ctx.call.principal}`;
    let done: ChangeRecord;
    if (input.onlyIfBroken && c.status === 'verifying') {
      // The change was applied whole (verifying is written after apply returned): its own check decides.
      const claimed = await ctx.changes.update(c.id, { call: ctx.call.id, ifVersion: c.version });
      done = await settle(ctx, kind, claimed, await checked(kind, claimed, ctx, 'after'), `${note}: its check failed`);
    } else {
      const claimed = await ctx.changes.update(c.id, { status: 'rolling_back', rollback: note, call: ctx.call.id, ifVersion: c.version });
      done = await rollBack(ctx, kind, claimed);
    }
    if (done.status === 'rollback_failed') throw new ToolFailure('target_failed', `the rollback of change ${c.id} on ${c.target} FAILED: ${done.rollback ?? ''}. A human has been alerted; make no further change to it.`);
    return outcome(done);
  },
  summarize: (o) => `${o.changeId} ${o.status}: ${o.summary}\n${(o.rollback ?? o.verification).split('\n')[0]!.slice(0, 300)}`,
});
