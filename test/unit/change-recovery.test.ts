// Recovery's decisions, with a scripted guard and change store: what it does with each answer of
// the gate (finished, held for approval, approved later, expired, dry run, claimed elsewhere), and
// that a change it cannot finish is escalated once, not every minute.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { CallOutcome } from '../../src/policy/call.js';
import type { Guard } from '../../src/policy/guard.js';
import { recoverChanges, startRecovery, type RecoveryDeps } from '../../src/server/change-recovery.js';
import type { Notification } from '../../src/shared/notifier.js';
import type { ChangeRecord, ChangeStore } from '../../src/store/changes.js';

const ORPHAN = { id: 'chg_0000000000000001', status: 'verifying', owner: 'box:1:x', version: 3, target: 'local/nginx', recovery: {} } as ChangeRecord;

/** `shared`: the change row's recovery notes, as every process sees them. */
function world(answers: Array<CallOutcome | Error>, opts: { dryRun?: boolean; approval?: string; after?: Partial<ChangeRecord>; shared?: ChangeRecord['recovery'] } = {}) {
  const row = { ...ORPHAN, recovery: opts.shared ?? {} };
  const calls: unknown[] = [];
  const sent: Notification[] = [];
  const guard = {
    policy: () => ({ dryRun: opts.dryRun ?? false }),
    call: async (_caller: unknown, _tool: string, args: unknown) => {
      calls.push(args);
      const next = answers.shift() ?? { ok: true, callId: 'c', output: {}, text: 'done', dryRun: false };
      if (next instanceof Error) throw next;
      return next;
    },
  } as unknown as Guard;
  const changes = {
    orphans: () => [{ ...row, recovery: { ...row.recovery } }],
    get: () => ({ ...row, ...opts.after }),
    abandoned: () => opts.after === undefined,
    noteRecovery: async (_id: string, note: ChangeRecord['recovery']) => { Object.assign(row.recovery, note); },
  } as unknown as ChangeStore;
  const deps: RecoveryDeps = {
    guard, changes, log: silentLogger,
    approvals: { get: () => (opts.approval ? { status: opts.approval } : undefined) } as unknown as RecoveryDeps['approvals'],
    notifier: { send: (n) => sent.push(n), flush: async () => undefined },
  };
  return { deps, calls, sent, row };
}

const held = (approvalId: string): CallOutcome => ({ ok: false, callId: 'c', kind: 'approval_required', message: `held: ${approvalId}`, details: { approvalId } });

describe('recovery of unfinished changes', () => {
  it('finishes an orphan through rollback_change with onlyIfBroken, as warden', async () => {
    const w = world([]);
    expect(await recoverChanges(w.deps)).toEqual([{ changeId: ORPHAN.id, outcome: 'finished', message: 'done' }]);
    expect(w.calls).toEqual([expect.objectContaining({ changeId: ORPHAN.id, onlyIfBroken: true })]);
  });

  it('does not call the gate at all while dry run is on', async () => {
    const w = world([], { dryRun: true });
    expect((await recoverChanges(w.deps))[0]!.outcome).toBe('waiting');
    expect(w.calls).toEqual([]);
  });

  it('waits on a pending approval without asking again, in this or another process, then re-calls with its id once approved', async () => {
    const first = world([held('apr_aaaaaaaa')]);
    expect((await recoverChanges(first.deps))[0]!.outcome).toBe('waiting');
    expect(first.row.recovery).toEqual({ approvalId: 'apr_aaaaaaaa' });
    // Another process (a new stdio start) reads the same row.
    const pending = world([], { approval: 'pending', shared: first.row.recovery });
    expect((await recoverChanges(pending.deps))[0]!.outcome).toBe('waiting');
    expect(pending.calls).toEqual([]);
    const approved = world([], { approval: 'approved', shared: first.row.recovery });
    expect((await recoverChanges(approved.deps))[0]!.outcome).toBe('finished');
    expect(approved.calls).toEqual([expect.objectContaining({ approvalId: 'apr_aaaaaaaa' })]);
  });

  it('asks afresh when the approval it waited on expired', async () => {
    const w = world([held('apr_bbbbbbbb')], { approval: 'expired', shared: { approvalId: 'apr_expired1' } });
    await recoverChanges(w.deps);
    expect(w.calls).toEqual([expect.not.objectContaining({ approvalId: expect.anything() })]);
    expect(w.row.recovery.approvalId).toBe('apr_bbbbbbbb');
  });

  it('calls a change another process claimed meanwhile taken, not failed', async () => {
    const w = world([new Error('taken over')], { after: { version: 5, status: 'rolling_back', owner: 'other:2:y' } });
    expect((await recoverChanges(w.deps))[0]!.outcome).toBe('taken');
  });

  it('does not escalate a change another process already escalated', async () => {
    const denied: CallOutcome = { ok: false, callId: 'c', kind: 'denied', message: 'kill switch', details: {} };
    const w = world([denied], { shared: { escalatedAt: '2026-11-29T20:00:00Z' } });
    const r = startRecovery(w.deps, 60_000);
    await r.stop();
    expect(w.calls).toHaveLength(1);
    expect(w.sent).toEqual([]);
  });

  it('escalates a change it cannot finish once, however many passes it takes', async () => {
    const denied: CallOutcome = { ok: false, callId: 'c', kind: 'denied', message: 'kill switch', details: {} };
    const w = world([denied, denied, denied]);
    const r = startRecovery(w.deps, 20);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await r.stop();
    expect(w.calls.length).toBeGreaterThanOrEqual(2);
    expect(w.sent.filter((n) => n.event === 'escalation')).toHaveLength(1);
    expect(w.sent[0]!.fields).toMatchObject({ priority: 'critical', change: ORPHAN.id });
  });
});
