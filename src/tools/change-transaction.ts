// Every configuration change is one transaction: save the before state -> apply (with the target's
// own validation) -> verify, held for verifySeconds -> on failure roll back and verify the rollback.
// Each step is recorded in the change row before the next touches the target, so a crash between
// two steps leaves a row that recovery can finish (rollback_change). Kinds say how to undo and check.
import { z } from 'zod';
import { ToolFailure, errorMessage } from '../errors.js';
import type { ChangeRecord } from '../store/changes.js';
import { redactText } from '../shared/redact.js';
import type { ToolContext } from './spec.js';

export const DEFAULT_VERIFY_S = 10;
export const MAX_VERIFY_S = 300;
/** Room for the steps around the verification window, on top of it, in a call's deadline. */
export const CHANGE_OVERHEAD_MS = 90_000;

export const VerifySeconds = z
  .number().int().min(1).max(MAX_VERIFY_S).default(DEFAULT_VERIFY_S)
  .describe('Seconds the check must keep passing; a failure rolls the change back.');

export interface Verification {
  ok: boolean;
  /** One or a few lines: what was checked and what was seen. */
  detail: string;
}

/** How a kind of change is undone and checked, from its record alone (the call's input is gone after a crash). */
export interface ChangeKind {
  kind: string;
  /** Puts the saved before state back; returns what it did. Throws ToolFailure when it could not. */
  restore(change: ChangeRecord, ctx: ToolContext): Promise<string>;
  /** Whether the target holds the `after` state and works, or holds the `before` state and serves as it did before the change. */
  check(change: ChangeRecord, ctx: ToolContext, expect: 'after' | 'before'): Promise<Verification>;
  /** Why a later rollback would overwrite what someone else changed since (neither the after nor the before state is there), or undefined. */
  drift?(change: ChangeRecord, ctx: ToolContext): Promise<string | undefined>;
  /** Once verified, by whoever verified it (the call, or recovery): drop what only a rollback needed. Must not throw. */
  finalize?(change: ChangeRecord, ctx: ToolContext): Promise<void>;
}

export const ChangeFields = {
  changeId: z.string(),
  status: z.enum(['verified', 'rolled_back', 'rollback_failed']),
  summary: z.string(),
  validation: z.string(),
  verification: z.string(),
  rollback: z.string().nullable(),
};
export const ChangeOutput = z.object(ChangeFields);
export type ChangeOutcome = z.infer<typeof ChangeOutput>;

/** Apply refused by the target's own validation, with the target left (or put back) as it was. */
export class Rejected extends Error {
  constructor(readonly validation: string, readonly failure: ToolFailure) {
    super(failure.message);
  }
}

export interface ChangePlan {
  kind: ChangeKind;
  target: string;
  service: string | null;
  summary: string;
  /** What kind.restore and kind.check need, saved with the change. */
  plan: unknown;
  before: Buffer;
  /** Changes the target (the change's id given, to label what it makes); returns the after state and the validation's words. Throws Rejected when validation refused it. */
  apply(changeId: string): Promise<{ after: Buffer; validation: string }>;
}

const text = (s: string): string => redactText(s).slice(0, 4_000);

/** Runs one change to its end: verified, rejected (throws), or rolled back (throws unless asked to return). */
export async function runChange(ctx: ToolContext, p: ChangePlan): Promise<ChangeOutcome> {
  const beforeRef = ctx.changes.save(p.before);
  let change = await ctx.changes.begin({
    callId: ctx.call.id, principal: ctx.call.principal, incidentId: ctx.call.incidentId, target: p.target, service: p.service,
    kind: p.kind.kind, summary: p.summary, beforeRef, plan: p.plan,
  });
  let applied: { after: Buffer; validation: string };
  try {
    applied = await p.apply(change.id);
  } catch (err) {
    if (err instanceof Rejected) {
      await ctx.changes.update(change.id, { status: 'rejected', validation: text(err.validation) });
      throw new ToolFailure(err.failure.kind, `${err.failure.message} (change ${change.id}, rejected: nothing was changed)`, err.failure.details);
    }
    // Apply may have got half way (a file written, the reload refused): undo it like a failed check.
    change = await ctx.changes.update(change.id, { verification: text(`apply failed: ${errorMessage(err)}`) });
    return finish(ctx, p.kind, change, { ok: false, detail: `apply failed: ${errorMessage(err)}` });
  }
  change = await ctx.changes.update(change.id, { status: 'verifying', afterRef: ctx.changes.save(applied.after), validation: text(applied.validation) });
  return finish(ctx, p.kind, change, await checked(p.kind, change, ctx, 'after'));
}

/** A check that throws (Docker gone, the container removed meanwhile) is a failed check, never a change left verifying. */
export function checked(kind: ChangeKind, change: ChangeRecord, ctx: ToolContext, expect: 'after' | 'before'): Promise<Verification> {
  return kind.check(change, ctx, expect).catch((err: unknown): Verification => (expect === 'after' && ctx.signal.aborted
    // Cut short by the cancel before its first probe (a read of the target aborted): the cancel, not the target failing.
    ? { ok: false, detail: 'cancelled after 0 passing checks (during the check\'s first read)' }
    : { ok: false, detail: `check failed: ${errorMessage(err)}` }));
}

/**
 * From a verification on: verified, or rolled back and the rollback checked. Shared by a change
 * and by recovery, which re-checks an unfinished change before deciding to roll it back.
 */
export async function finish(ctx: ToolContext, kind: ChangeKind, change: ChangeRecord, verified: Verification): Promise<ChangeOutcome> {
  const done = await settle(ctx, kind, change, verified);
  if (done.status === 'verified') return outcome(done);
  throw new ToolFailure('target_failed', failureMessage(done), { tail: done.rollback ?? '' });
}

/** verified, rolled_back or rollback_failed, recorded; never throws for the target's answer. */
export async function settle(ctx: ToolContext, kind: ChangeKind, change: ChangeRecord, verified: Verification, note?: string): Promise<ChangeRecord> {
  if (verified.ok) {
    const done = await ctx.changes.update(change.id, { status: 'verified', verification: text(verified.detail) });
    await kind.finalize?.(done, ctx);
    return done;
  }
  const rolling = await ctx.changes.update(change.id, { status: 'rolling_back', verification: text(verified.detail), ...(note ? { rollback: note } : {}) });
  return rollBack(ctx, kind, rolling);
}

/** Who asked for a rollback and why, kept ahead of what it did. */
const asked = (c: ChangeRecord): string => (c.status === 'rolling_back' && c.rollback ? `${c.rollback}; ` : '');

/** How long a rollback may take, whatever became of the call that started it. */
const ROLLBACK_MS = 120_000;

/**
 * Restores the before state and checks it; records rolled_back or rollback_failed. Never throws
 * for the target's refusal. Runs under its own deadline: a client that cancels the call, or a call
 * deadline that passed during the check, must not leave the target half rolled back.
 */
export async function rollBack(callCtx: ToolContext, kind: ChangeKind, change: ChangeRecord): Promise<ChangeRecord> {
  const ctx = { ...callCtx, signal: AbortSignal.timeout(ROLLBACK_MS) };
  let restored: string;
  try {
    restored = await kind.restore(change, ctx);
  } catch (err) {
    return ctx.changes.update(change.id, { status: 'rollback_failed', rollback: text(`${asked(change)}restore failed: ${errorMessage(err)}`), call: ctx.call.id });
  }
  const check = await checked(kind, change, ctx, 'before');
  return ctx.changes.update(change.id, {
    status: check.ok ? 'rolled_back' : 'rollback_failed', rollback: text(`${asked(change)}${restored}; ${check.detail}`), call: ctx.call.id,
  });
}

export function outcome(c: ChangeRecord): ChangeOutcome {
  if (c.status !== 'verified' && c.status !== 'rolled_back' && c.status !== 'rollback_failed') {
    throw new ToolFailure('internal', `change ${c.id} is still ${c.status}`);
  }
  return { changeId: c.id, status: c.status, summary: c.summary, validation: c.validation ?? '', verification: c.verification ?? '', rollback: c.rollback };
}

function failureMessage(c: ChangeRecord): string {
  const head = `change ${c.id} (${c.summary}) failed its check: ${c.verification ?? ''}`;
  return c.status === 'rolled_back'
    ? `${head}. It was ROLLED BACK automatically and the rollback checked out: ${c.rollback ?? ''}. The target is as it was before; do not repeat the same change.`
    : `${head}. The automatic ROLLBACK FAILED: ${c.rollback ?? ''}. The target may be broken; a human has been alerted. Do not make further changes to it.`;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Probes until `seconds` have passed, every `everyMs`: ok only when every probe passed. Stops at
 * the first failure: a check that fails once inside the window is a failed change.
 */
export async function holdCheck(probe: () => Promise<Verification>, seconds: number, signal: AbortSignal, everyMs = 1_000): Promise<Verification> {
  const end = Date.now() + seconds * 1_000;
  let last: Verification = { ok: false, detail: 'not checked' };
  let passes = 0;
  for (;;) {
    if (signal.aborted) return { ok: false, detail: `cancelled after ${passes} passing checks` };
    last = await probe();
    // A check cut short by the cancel (a read of the target aborted) is the cancel, not the target failing.
    if (signal.aborted) return { ok: false, detail: `cancelled after ${passes} passing checks` };
    if (!last.ok) return { ok: false, detail: passes ? `${last.detail} (after ${passes} passing checks)` : last.detail };
    passes += 1;
    if (Date.now() >= end) return { ok: true, detail: `${last.detail}; held for ${seconds} s (${passes} checks)` };
    await sleep(Math.min(everyMs, Math.max(0, end - Date.now())), signal);
  }
}
