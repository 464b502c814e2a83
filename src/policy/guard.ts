// The guard: the only place that calls the gate or writes tool-call audit entries (through
// call-audit.ts), and the one path from a request to a side effect: validate -> decide -> audit
// 'requested' -> run -> audit outcome. A plain read is audited once, after it ran, with its request.
import { randomUUID } from 'node:crypto';
import type { Adapters } from '../adapters/index.js';
import { InputError, ToolFailure, errorMessage, type FailureDetails, type FailureKind } from '../errors.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../shared/notifier.js';
import type { AuditInput, AuditLog } from '../store/audit.js';
import type { ApprovalStore } from '../store/approvals.js';
import type { ChangeJournal } from '../store/changes.js';
import type { IncidentReader, InventoryReader } from '../store/readers.js';
import { canonicalJson, sha256 } from '../store/canonical.js';
import type { AnyToolSpec } from '../tools/spec.js';
import { DatabaseBusy, whenFree } from '../store/busy.js';
import { ADMIT_WAIT_MS, CallAudit, callerFields, databaseFailure, entryBase } from './call-audit.js';
import { decide, limitsFor, type DecisionRequest, type GateDecision } from './decide.js';
import type { TargetInfo } from '../shared/targets.js';
import { LOOP_N1_PRINCIPAL, LOOP_PRINCIPAL, LOOP_PRINCIPALS, isLoopPrincipal } from '../shared/roles.js';
import type { CompiledLimit, Policy } from './policy-file.js';
import { redactOutput, redactText } from '../shared/redact.js';
import { ApprovalFlow } from './approval-flow.js';
import { ABORT_GRACE_MS, runHandler } from './run-handler.js';
import { ApprovalClaims } from './approval-claims.js';
import { CallPreparer, auditableArgs } from './call-preparer.js';
import { TargetCanonicalizer } from './canonical-target.js';
import { didYouMean } from '../shared/did-you-mean.js';
import { nearMisses } from './policy-explain.js';
import type { CallOutcome, Caller, Precondition, PreconditionCall, PreconditionVerdict, PreparedCall, ReadyCall } from './call.js';

export interface GuardDeps {
  catalog: readonly AnyToolSpec[];
  /** The policy in force now: it may change between two calls (a reloaded file). */
  policy: () => Policy;
  /** The kill switch held in the database, seen by every process at its next call. */
  killSwitch: () => boolean;
  /** The loop's safe mode held in the database: the loop's own writes are decided as dry runs while it is on. */
  safeMode?: () => boolean;
  audit: AuditLog;
  approvals: ApprovalStore;
  adapters: Adapters;
  inventory: InventoryReader;
  incidents: IncidentReader;
  changes: ChangeJournal;
  notifier: Notifier;
  log: Logger;
  resolveTarget?: (target: string) => TargetInfo;
  callTimeoutMs: number;
  approvalTtlMs: number;
  /** The data dir, named in a held call's approve command. */
  dataDir?: string;
  /** Told of each call's last audit entry (any phase but requested and approved), e.g. for metrics; must not throw. */
  observe?: (entry: AuditInput) => void;
  /** Checked before every write of a caller working on an incident (the loop); see Precondition. */
  precondition?: Precondition;
}

/** What the gate decides a ready call on. */
const requestOf = (caller: Pick<Caller, 'principal' | 'role' | 'tools'>, spec: AnyToolSpec, ready: ReadyCall): Omit<DecisionRequest, 'info' | 'killSwitch' | 'safeMode'> & { infoKey?: string } => ({
  principal: caller.principal, role: caller.role, tool: spec.name, risk: ready.risk, effect: spec.effect, target: ready.target, ...(ready.infoKey ? { infoKey: ready.infoKey } : {}),
  ...(caller.tools ? { tools: caller.tools } : {}),
});

type Admission = { kind: 'done'; outcome: CallOutcome } | { kind: 'run'; call: PreparedCall };

/** What `warden policy check` prints: the decision on the canonical target, and the rules that nearly matched. */
export type CheckResult = GateDecision & { target: string; targetId?: string; unresolved?: string; nearMisses: string[] };

/**
 * Closed: its dependencies and observer are fixed at construction, and nothing outside reaches
 * them; the approval flow returns what to do and the guard writes every audit entry itself.
 */
export class Guard {
  /** The calls of each incident under way, with when their deadline (and abort grace) ends: the loop's watchdog must not take a long call for a wedged run. */
  private readonly underWay = new Map<string, Set<{ tool: string; untilMs: number }>>();
  private readonly byName: Map<string, AnyToolSpec>;
  private readonly approvalFlow: ApprovalFlow;
  private readonly preparer: CallPreparer;
  private readonly audit: CallAudit;
  /** The caller's approval each admitted call claimed: given back if the call fails before acting. */
  private readonly claims: ApprovalClaims;

  constructor(private readonly deps: Readonly<GuardDeps>) {
    this.audit = new CallAudit({ audit: deps.audit, log: deps.log, ...(deps.observe ? { observe: deps.observe } : {}) });
    this.byName = new Map(deps.catalog.map((t) => [t.name, t]));
    this.approvalFlow = new ApprovalFlow({ approvals: deps.approvals, notifier: deps.notifier, ttlMs: deps.approvalTtlMs, dataDir: deps.dataDir });
    this.claims = new ApprovalClaims({ release: (id) => this.approvalFlow.release(id), atomically: (fn) => deps.audit.atomically(fn), log: deps.log });
    this.preparer = new CallPreparer(new TargetCanonicalizer(deps.adapters, deps.inventory), deps.inventory, deps.callTimeoutMs, { change: (id) => deps.changes.get(id) });
  }

  tools(): readonly AnyToolSpec[] {
    return this.deps.catalog;
  }

  /** The inventory the gate resolves targets through (for the MCP resources). */
  get inventory(): InventoryReader {
    return this.deps.inventory;
  }

  /** The policy in force. */
  policy(): Policy {
    return this.deps.policy();
  }

  /**
   * The decision alone, for `warden policy check`: the arguments are validated and the target
   * canonicalised exactly as a call would; nothing runs, nothing is written. Bad input throws
   * InputError naming the field.
   */
  async check(caller: Pick<Caller, 'principal' | 'role'>, tool: string, args: unknown): Promise<CheckResult> {
    const spec = this.byName.get(tool);
    if (!spec) throw new InputError(`--tool: no tool named "${tool}"${didYouMean(tool, [...this.byName.keys()])}`);
    const prepared = await this.preparer.prepare(spec, args, { allowUnreachable: true });
    if (!prepared.ok) throw new InputError(`--args: ${prepared.refusal.message}`);
    const { target, targetId, unresolved, infoKey } = prepared.call;
    const req = requestOf(caller, spec, prepared.call);
    const decision = this.decideFor(req);
    return { ...decision, target, ...(targetId ? { targetId } : {}), ...(unresolved ? { unresolved } : {}), nearMisses: nearMisses(this.deps.policy(), { ...req, info: this.info(infoKey ?? target) }) };
  }

  private readonly toolsOfLimit = new WeakMap<CompiledLimit, string[]>();

  /** The catalog tools a limit selects, resolved once per limit. */
  private limitTools(limit: CompiledLimit): string[] {
    let tools = this.toolsOfLimit.get(limit);
    if (!tools) {
      tools = this.deps.catalog.filter((t) => limit.selects(t.name, t.effect)).map((t) => t.name);
      this.toolsOfLimit.set(limit, tools);
    }
    return tools;
  }

  private info(target: string): TargetInfo {
    return this.deps.resolveTarget?.(target) ?? {};
  }

  /** `infoKey`: where the inventory facts come from when not the target (`service:NAME` for a call that names its service). */
  private decideFor(req: Omit<DecisionRequest, 'info' | 'killSwitch' | 'safeMode'> & { infoKey?: string }): GateDecision {
    const policy = this.deps.policy();
    const { infoKey, ...rest } = req;
    const safeMode = isLoopPrincipal(rest.principal) && (this.deps.safeMode?.() ?? false);
    const full: DecisionRequest = { ...rest, info: this.info(infoKey ?? req.target), killSwitch: this.deps.killSwitch(), ...(safeMode ? { safeMode } : {}) };
    // The first level is also decided as the loop (decide.ts): the limits written for `loop` are
    // counted for its calls too, and the two levels share a per-principal allowance, never double it.
    const loop = isLoopPrincipal(req.principal);
    const limits = new Map(limitsFor(policy, full).map((l) => [l.name, l]));
    if (req.principal === LOOP_N1_PRINCIPAL) for (const l of limitsFor(policy, { ...full, principal: LOOP_PRINCIPAL })) limits.set(l.name, l);
    const counts = new Map<string, number>();
    for (const limit of limits.values()) {
      const since = new Date(Date.now() - limit.windowMs);
      const tools = this.limitTools(limit);
      const count = (key: { target?: string; principal?: string }): number => this.deps.audit.countExecuted(tools, since, key, limit.max);
      counts.set(limit.name, limit.per === 'target' ? count({ target: req.target })
        : limit.per === 'principal' ? (loop ? LOOP_PRINCIPALS : [req.principal]).reduce((n, principal) => n + count({ principal }), 0)
        : count({}));
    }
    return decide(policy, full, counts);
  }

  async call(caller: Caller, tool: string, rawArgs: unknown, signal?: AbortSignal): Promise<CallOutcome> {
    const callId = randomUUID();
    const prepared = await this.prepare(callId, caller, tool, rawArgs);
    if (!prepared.ok) return prepared.outcome;
    const { spec, ready } = prepared;
    const read = this.plainRead(callId, caller, spec, ready);
    if (read) return this.execute(read, signal, true);
    // The policy's decision is taken again inside admit(), where it counts: this one only tells
    // the precondition whether its checks that hold a call would change anything.
    const pre = caller.incidentId && spec.risk !== 'read' ? this.deps.precondition : undefined;
    const asked = (policy: GateDecision['decision']): PreconditionCall => ({
      tool: spec.name, effect: spec.effect, target: ready.target, ...(ready.targetId ? { targetId: ready.targetId } : {}), policy,
    });
    const docker = pre
      ? await pre.inspect(caller, asked(this.decideFor(requestOf(caller, spec, ready)).decision))
      : undefined;
    // The store's checks are taken again inside the admission, where they count.
    const verdict = pre ? (policy: GateDecision['decision']): PreconditionVerdict => {
      const now = pre.check(caller, asked(policy));
      return now?.kind === 'refuse' ? now : (now ?? (policy === 'approve' || policy === 'deny' ? undefined : docker));
    } : undefined;
    let admitted: Admission;
    try {
      // Retried whole while another process holds the write lock: each try decides afresh.
      admitted = await whenFree(() => this.deps.audit.atomically(() => this.admit(callId, caller, spec, ready, verdict)), { waitMs: Math.min(ADMIT_WAIT_MS, ready.deadlineMs), ...(signal ? { signal } : {}) });
    } catch (err) {
      if (err instanceof DatabaseBusy) return this.busy(callId, caller, spec, ready, err);
      const failing = databaseFailure(err);
      if (!failing) throw err;
      // Nothing can be recorded, so nothing runs: refused in words, never SQLite's own error.
      this.deps.log.error({ callId, tool: spec.name, err: errorMessage(err) }, 'AUDIT GAP: a call was refused because its requested entry could not be written');
      return { ok: false, callId, kind: 'unavailable', message: `${spec.name} on ${ready.target} was not run: warden cannot write its audit log (${failing}). Nothing ran; an operator must fix the data dir.`, details: { notRun: true } };
    }
    return admitted.kind === 'done' ? admitted.outcome : this.execute(admitted.call, signal);
  }

  /**
   * The call, decided, when it is a plain read that runs: no side effect, no limit counting its
   * tool, allowed outright. It writes no 'requested' entry: nothing it does needs one on disk
   * first, and its one entry after it ran carries the request too. Undefined for any other call,
   * which is admitted as before (a refusal of a read is still its one entry); a read to announce
   * too, so that the call the webhook names is in the audit first.
   */
  private plainRead(callId: string, caller: Caller, spec: AnyToolSpec, ready: ReadyCall): PreparedCall | undefined {
    // Limits count calls from their 'requested' entries, so a tool one counts keeps them.
    if (ready.risk !== 'read' || spec.effect !== undefined || this.deps.policy().limits.some((l) => l.selects(spec.name, spec.effect))) return undefined;
    const decision = this.decideFor(requestOf(caller, spec, ready));
    if (decision.decision !== 'allow' || decision.dryRun) return undefined;
    return { callId, caller, spec, ...ready, decision };
  }

  /**
   * A call a client decided not to send: the loop's model asked for it in the same turn as a call
   * now held for approval, and the turn ends there. Audited as not attempted, on its canonical
   * target when the arguments are valid (unknown tools and bad arguments are audited as any call's
   * are); nothing runs and no gate decision is taken.
   */
  async notAttempted(caller: Caller, tool: string, rawArgs: unknown, reason: string): Promise<void> {
    const callId = randomUUID();
    const prepared = await this.prepare(callId, caller, tool, rawArgs);
    if (!prepared.ok) return;
    const { spec, ready } = prepared;
    await this.audit.record({ ...entryBase(callId, caller, spec, ready), phase: 'denied', errorKind: 'denied', rule: 'not-attempted', result: `not attempted: ${reason}` });
  }

  /**
   * Decision, approval and the 'requested' entry, with nothing awaited in between: limits count
   * 'requested' entries, so calls arriving together each see the ones admitted before them. Runs
   * in one transaction, so a busy database leaves nothing of it written.
   */
  private admit(callId: string, caller: Caller, spec: AnyToolSpec, ready: ReadyCall, verdict?: (policy: GateDecision['decision']) => PreconditionVerdict): Admission {
    const gate = this.decideFor(requestOf(caller, spec, ready));
    const pre = verdict?.(gate.decision);
    // The loop's own checks tighten the policy's decision, never loosen it: a deny stays a deny.
    const decision = !pre || gate.decision === 'deny' || (pre.kind === 'hold' && gate.decision === 'approve')
      ? gate
      : { ...gate, decision: pre.kind === 'refuse' ? 'deny' as const : 'approve' as const, rule: pre.rule, reason: pre.message, dryRun: pre.kind === 'refuse' ? false : gate.dryRun };
    const call: PreparedCall = { callId, caller, spec, ...ready, decision };
    const done = (outcome: CallOutcome): Admission => ({ kind: 'done', outcome });
    if (decision.decision === 'deny') return done(this.refuse(call, 'denied', `${spec.name} on ${call.target} denied by ${decision.rule}: ${decision.reason}. Do not retry.`));
    if (decision.decision === 'approve' && !decision.dryRun) {
      const step = this.approvalFlow.next(call);
      if (step.kind === 'ask_human') return done({ ok: false, callId, kind: 'ask_human', prompt: step.prompt });
      if (step.kind === 'refuse') return done(this.refuse(call, step.failure, step.message, step.details, step.phase));
      if (step.approvedInClient) this.auditCall(call, { phase: 'approved', result: 'accepted by the human in the client' });
      if (step.claimed) this.claims.claim(call, step.claimed);
    }
    // Committed before anything runs: a call whose 'requested' entry cannot be written never runs.
    // With the claim in the same transaction: the entry is the claim's audit.
    this.auditCall(call, { phase: 'requested', ...(this.claims.claimed(call) ? { result: `claimed approval ${call.approvalId}` } : {}) });
    return { kind: 'run', call };
  }

  /** The write lock stayed busy: nothing ran. The refusal is audited once the lock is free. */
  private busy(callId: string, caller: Caller, spec: AnyToolSpec, ready: ReadyCall, err: DatabaseBusy): CallOutcome {
    const message = `${spec.name} on ${ready.target} was not run: ${err.message}, so its audit entry could not be written. Nothing ran; retry shortly.`;
    this.deps.log.warn({ callId, tool: spec.name }, message);
    void this.audit.record({ ...entryBase(callId, caller, spec, ready), phase: 'failed', errorKind: 'unavailable', result: message });
    return { ok: false, callId, kind: 'unavailable', message, details: { notRun: true } };
  }

  private async prepare(callId: string, caller: Caller, tool: string, rawArgs: unknown): Promise<{ ok: true; spec: AnyToolSpec; ready: ReadyCall } | { ok: false; outcome: CallOutcome }> {
    const spec = this.byName.get(tool);
    const base = { ...callerFields(callId, caller), tool };
    if (!spec) {
      const d = decide(this.deps.policy(), { principal: caller.principal, role: caller.role, tool, risk: undefined, target: '', info: {} });
      await this.audit.refusal({ ...base, args: auditableArgs(rawArgs), argsHash: sha256(canonicalJson(rawArgs ?? {})), decision: d.decision, rule: d.rule, phase: 'denied', errorKind: 'denied', result: d.reason });
      return { ok: false, outcome: { ok: false, callId, kind: 'denied', message: `unknown tool "${tool}"; tools/list shows the available tools`, details: { rule: d.rule } } };
    }
    const ready = await this.preparer.prepare(spec, rawArgs);
    if (!ready.ok) {
      const { refusal: r } = ready;
      const message = r.kind === 'internal' ? `internal error, ref ${callId}` : r.message;
      await this.audit.refusal({ ...base, risk: spec.risk, target: r.target, args: r.args, argsHash: r.argsHash, phase: 'failed', errorKind: r.kind, result: message });
      return { ok: false, outcome: { ok: false, callId, kind: r.kind, message, details: r.details ?? {} } };
    }
    return { ok: true, spec, ready: ready.call };
  }

  /** Appends an entry for `call` in the given phase, committed before it returns. */
  private auditCall(call: PreparedCall, extra: Pick<AuditInput, 'phase'> & Partial<AuditInput>): void {
    this.audit.now(this.audit.entry(call, extra));
  }

  /** A refusal that ran nothing: audited in `phase`, returned as a failure of `kind`. */
  private refuse(call: PreparedCall, kind: FailureKind, message: string, details: FailureDetails = {}, phase: AuditInput['phase'] = 'denied'): CallOutcome {
    this.auditCall(call, { phase, errorKind: kind, result: message, approvalId: details.approvalId ?? call.approvalId ?? null });
    return { ok: false, callId: call.callId, kind, message, details: { rule: call.decision.rule, ...details } };
  }

  /** The incident's calls under way now, each with the time its deadline and abort grace end. */
  callsUnderWay(incidentId: string): Array<{ tool: string; untilMs: number }> {
    return [...(this.underWay.get(incidentId) ?? [])];
  }

  /**
   * Runs an admitted call (its 'requested' entry is committed) and records its outcome; `once`: a
   * plain read, whose one entry is its outcome.
   */
  private async execute(call: PreparedCall, signal?: AbortSignal, once = false): Promise<CallOutcome> {
    const incidentId = call.caller.incidentId;
    if (!incidentId) return this.executeNow(call, signal, once);
    const mine = { tool: call.spec.name, untilMs: Date.now() + call.deadlineMs + ABORT_GRACE_MS };
    const set = this.underWay.get(incidentId) ?? new Set();
    this.underWay.set(incidentId, set.add(mine));
    try {
      return await this.executeNow(call, signal, once);
    } finally {
      set.delete(mine);
      if (set.size === 0 && this.underWay.get(incidentId) === set) this.underWay.delete(incidentId);
    }
  }

  private async executeNow(call: PreparedCall, signal: AbortSignal | undefined, once: boolean): Promise<CallOutcome> {
    if (call.decision.decision === 'notify') this.announce(call);
    if (call.decision.dryRun) {
      const plan = call.spec.plan?.(call.input, this.deps.inventory) ?? `call ${call.spec.name} on ${call.target}`;
      const why = call.decision.safeMode ? ": the loop is in safe mode (its own writes kept failing) until a human runs `warden loop arm`" : '';
      const text = `dry run${call.decision.safeMode ? ' (safe mode)' : ''}: would ${plan} (decision ${call.decision.decision} by ${call.decision.rule}); nothing was executed${why}`;
      await this.audit.record(this.audit.entry(call, { phase: 'completed', result: text, durationMs: 0 }));
      return { ok: true, callId: call.callId, output: { dryRun: true, plan, decision: call.decision.decision }, text, dryRun: true };
    }
    const started = performance.now();
    const watch = this.claims.watch(call);
    try {
      // structuredContent is what most clients give the model (Claude Code reads nothing else), so it
      // is redacted here for every tool, whatever the handler already did: one place, no tool forgotten.
      const output = redactOutput(await runHandler(this.deps, call, signal, watch));
      const text = redactText(call.spec.summarize(output));
      const entry = this.audit.entry(call, { phase: 'completed', result: text.slice(0, 500), durationMs: Math.round(performance.now() - started) });
      return await this.recorded(call, entry, once, { ok: true, callId: call.callId, output, text, dryRun: false });
    } catch (err) {
      const failure = this.toFailure(err, call);
      // A failure can quote what the target said (an SQL error naming a value): redacted like output.
      const message = redactText(failure.message);
      const entry = this.audit.entry(call, { phase: 'failed', errorKind: failure.kind, result: `${message}${err === failure ? '' : ` [cause: ${redactText(errorMessage((failure.cause as unknown) ?? err)).slice(0, 300)}]`}`, durationMs: Math.round(performance.now() - started) });
      const outcome: CallOutcome = { ok: false, callId: call.callId, kind: failure.kind, message, details: watch ? watch.honest(failure.details) : failure.details };
      // The guard still writes the entry: the release only rides in its transaction.
      return (await this.claims.giveBack(call, watch, entry, outcome, (e) => this.audit.now(e))) ?? this.recorded(call, entry, once, outcome);
    }
  }

  /**
   * `outcome` once its entry is written. A read's one entry must land before its client sees
   * anything of it: else the read is answered as unavailable, and nothing it returned goes out.
   */
  private async recorded(call: PreparedCall, entry: AuditInput, once: boolean, outcome: CallOutcome): Promise<CallOutcome> {
    if (!once) {
      await this.audit.record(entry);
      return outcome;
    }
    const why = await this.audit.once(entry);
    if (why === undefined) return outcome;
    const message = `${call.spec.name} on ${call.target} ran, but warden cannot write its audit log (${why}), so its result is withheld; retry later.`;
    return { ok: false, callId: call.callId, kind: 'unavailable', message, details: {} };
  }

  private toFailure(err: unknown, call: PreparedCall): ToolFailure {
    if (err instanceof ToolFailure) return err;
    this.deps.log.error({ callId: call.callId, tool: call.spec.name, err }, 'tool failed with an internal error');
    return new ToolFailure('internal', `internal error, ref ${call.callId}`, {}, err);
  }

  private announce(call: PreparedCall, extra: Record<string, string> = {}): void {
    this.deps.notifier.send({
      event: 'notify',
      title: `warden: ${call.caller.principal} called ${call.spec.name} on ${call.target}`,
      fields: { tool: call.spec.name, target: call.target, principal: call.caller.principal, rule: call.decision.rule, callId: call.callId, ...extra },
    });
  }
}
