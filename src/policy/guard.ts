// The guard: the only place that calls the gate or writes tool-call audit entries, and the one
// path from a request to a side effect: validate -> decide -> audit 'requested' -> run -> audit outcome.
import { randomUUID } from 'node:crypto';
import type { Adapters } from '../adapters/index.js';
import { ToolFailure, errorMessage, type FailureDetails, type FailureKind } from '../errors.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../shared/notifier.js';
import type { AuditInput, AuditLog } from '../store/audit.js';
import type { ApprovalStore } from '../store/approvals.js';
import type { IncidentReader, InventoryReader } from '../store/readers.js';
import { canonicalJson, sha256 } from '../store/canonical.js';
import { APPROVAL_ID_FIELD, type AnyToolSpec, type CallFacts } from '../tools/spec.js';
import { describeIssues } from '../validation.js';
import { decide, limitsFor, type DecisionRequest, type GateDecision } from './decide.js';
import type { TargetInfo } from '../shared/targets.js';
import type { CompiledLimit, Policy } from './policy-file.js';
import { redactText, redactValue } from '../shared/redact.js';
import { ApprovalFlow } from './approval-flow.js';
import type { CallOutcome, Caller, PreparedCall } from './call.js';

export interface GuardDeps {
  catalog: readonly AnyToolSpec[];
  policy: Policy;
  audit: AuditLog;
  approvals: ApprovalStore;
  adapters: Adapters;
  inventory: InventoryReader;
  incidents: IncidentReader;
  notifier: Notifier;
  log: Logger;
  resolveTarget?: (target: string) => TargetInfo;
  callTimeoutMs: number;
  approvalTtlMs: number;
  /** Told of each call's last audit entry (any phase but requested and approved), e.g. for metrics; must not throw. */
  observe?: (entry: AuditInput) => void;
}

const MAX_AUDIT_ARGS_CHARS = 8_000;

function auditableArgs(args: unknown): unknown {
  const redacted = redactValue(args ?? {});
  const text = canonicalJson(redacted);
  return text.length <= MAX_AUDIT_ARGS_CHARS ? redacted : { truncated: text.slice(0, MAX_AUDIT_ARGS_CHARS) };
}

/**
 * Closed: its dependencies and observer are fixed at construction, and nothing outside reaches
 * them; the approval flow returns what to do and the guard writes every audit entry itself.
 */
export class Guard {
  private readonly byName: Map<string, AnyToolSpec>;
  private readonly approvalFlow: ApprovalFlow;

  constructor(private readonly deps: Readonly<GuardDeps>) {
    this.byName = new Map(deps.catalog.map((t) => [t.name, t]));
    this.approvalFlow = new ApprovalFlow({ approvals: deps.approvals, notifier: deps.notifier, ttlMs: deps.approvalTtlMs });
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
    return this.deps.policy;
  }

  /** The decision alone, for `warden policy check`: nothing runs, nothing is written. */
  check(caller: Pick<Caller, 'principal' | 'role'>, tool: string, args: unknown): GateDecision & { target: string } {
    const spec = this.byName.get(tool);
    const parsed = spec?.input.safeParse(args ?? {});
    const input = parsed?.success ? (parsed.data as Record<string, unknown>) : {};
    const target = spec && parsed?.success ? spec.target(input) : '';
    let risk = spec?.risk;
    try {
      if (spec?.resolve && parsed?.success) risk = spec.resolve(input, this.deps.inventory).risk ?? risk;
    } catch {
      // Input that names nothing: report the listed tier; the call itself would be refused.
    }
    return { ...this.decideFor({ principal: caller.principal, role: caller.role, tool, risk, effect: spec?.effect, target }), target };
  }

  private readonly toolsOfLimit = new Map<CompiledLimit, string[]>();

  /** The catalog tools a limit's globs name, resolved once per limit. */
  private limitTools(limit: CompiledLimit): string[] {
    let tools = this.toolsOfLimit.get(limit);
    if (!tools) {
      tools = this.deps.catalog.filter((t) => limit.selects(t.name, t.effect)).map((t) => t.name);
      this.toolsOfLimit.set(limit, tools);
    }
    return tools;
  }

  private decideFor(req: Omit<DecisionRequest, 'info'>): GateDecision {
    const full: DecisionRequest = { ...req, info: this.deps.resolveTarget?.(req.target) ?? {} };
    const counts = new Map<string, number>();
    for (const limit of limitsFor(this.deps.policy, full)) {
      const since = new Date(Date.now() - limit.windowMs);
      const key = limit.per === 'target' ? { target: req.target } : limit.per === 'principal' ? { principal: req.principal } : {};
      counts.set(limit.name, this.deps.audit.countExecuted(this.limitTools(limit), since, key, limit.max));
    }
    return decide(this.deps.policy, full, counts);
  }

  async call(caller: Caller, tool: string, rawArgs: unknown, signal?: AbortSignal): Promise<CallOutcome> {
    const callId = randomUUID();
    const prepared = this.prepare(callId, caller, tool, rawArgs);
    if (!prepared.ok) return prepared.outcome;
    const call = prepared.call;
    const { decision } = call.decision;

    if (decision === 'deny') return this.refuse(call, 'denied', `${call.spec.name} on ${call.target} denied by ${call.decision.rule}: ${call.decision.reason}. Do not retry.`);
    if (decision === 'approve' && !call.decision.dryRun) {
      const step = this.approvalFlow.next(call);
      if (step.kind === 'ask_human') return { ok: false, callId, kind: 'ask_human', prompt: step.prompt };
      if (step.kind === 'refuse') return this.refuse(call, step.failure, step.message, step.details, step.phase);
      if (step.approvedInClient) this.auditCall(call, { phase: 'approved', result: 'accepted by the human in the client' });
    }
    return this.execute(call, signal);
  }

  private prepare(callId: string, caller: Caller, tool: string, rawArgs: unknown): { ok: true; call: PreparedCall } | { ok: false; outcome: CallOutcome } {
    const spec = this.byName.get(tool);
    const base = { callId, principal: caller.principal, transport: caller.transport, tool, incidentId: caller.incidentId };
    if (!spec) {
      const d = decide(this.deps.policy, { principal: caller.principal, role: caller.role, tool, risk: undefined, target: '', info: {} });
      this.audit({ ...base, args: auditableArgs(rawArgs), argsHash: sha256(canonicalJson(rawArgs ?? {})), decision: d.decision, rule: d.rule, phase: 'denied', errorKind: 'denied', result: d.reason });
      return { ok: false, outcome: { ok: false, callId, kind: 'denied', message: `unknown tool "${tool}"; tools/list shows the available tools`, details: { rule: d.rule } } };
    }
    const parsed = spec.input.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      const message = `invalid arguments for ${tool}: ${describeIssues(parsed.error).join('; ')}`;
      this.audit({ ...base, risk: spec.risk, args: auditableArgs(rawArgs), argsHash: sha256(canonicalJson(rawArgs ?? {})), phase: 'failed', errorKind: 'invalid_input', result: message });
      return { ok: false, outcome: { ok: false, callId, kind: 'invalid_input', message, details: {} } };
    }
    const { [APPROVAL_ID_FIELD]: approvalId, ...input } = parsed.data as Record<string, unknown>;
    const target = spec.target(input);
    let facts: CallFacts = {};
    try {
      if (spec.resolve) facts = spec.resolve(input, this.deps.inventory);
    } catch (err) {
      const message = err instanceof ToolFailure ? err.message : `internal error, ref ${callId}`;
      this.audit({ ...base, risk: spec.risk, target, args: auditableArgs(input), argsHash: sha256(canonicalJson(input)), phase: 'failed', errorKind: 'invalid_input', result: message });
      return { ok: false, outcome: { ok: false, callId, kind: 'invalid_input', message, details: {} } };
    }
    return {
      ok: true,
      call: {
        callId, caller, spec, input, target,
        risk: facts.risk ?? spec.risk,
        approvalId: approvalId as string | undefined,
        // The hash binds an approval to these exact arguments, defaults applied, approvalId excluded,
        // and to whatever the tool says they stand for (a runbook's definition).
        argsHash: sha256(canonicalJson(facts.bindsTo === undefined ? input : { args: input, boundTo: facts.bindsTo })),
        deadlineMs: Math.max(this.deps.callTimeoutMs, facts.deadlineMs ?? 0),
        redactedArgs: auditableArgs(input),
        decision: this.decideFor({ principal: caller.principal, role: caller.role, tool, risk: facts.risk ?? spec.risk, effect: spec.effect, target }),
      },
    };
  }

  /** Appends an entry for `call` in the given phase; the decision fields come from the call. */
  private auditCall(call: PreparedCall, extra: Pick<AuditInput, 'phase'> & Partial<AuditInput>): void {
    this.audit({
      callId: call.callId,
      principal: call.caller.principal,
      transport: call.caller.transport,
      tool: call.spec.name,
      target: call.target,
      args: call.redactedArgs,
      argsHash: call.argsHash,
      risk: call.risk,
      decision: call.decision.decision,
      rule: call.decision.rule,
      approvalId: call.approvalId ?? null,
      incidentId: call.caller.incidentId ?? null,
      dryRun: call.decision.dryRun,
      ...extra,
    });
  }

  private audit(input: AuditInput): void {
    this.deps.audit.append(input);
    if (input.phase !== 'requested' && input.phase !== 'approved') this.deps.observe?.(input);
  }

  /** A refusal that ran nothing: audited in `phase`, returned as a failure of `kind`. */
  private refuse(call: PreparedCall, kind: FailureKind, message: string, details: FailureDetails = {}, phase: AuditInput['phase'] = 'denied'): CallOutcome {
    this.auditCall(call, { phase, errorKind: kind, result: message, approvalId: details.approvalId ?? call.approvalId ?? null });
    return { ok: false, callId: call.callId, kind, message, details: { rule: call.decision.rule, ...details } };
  }

  private async execute(call: PreparedCall, signal?: AbortSignal): Promise<CallOutcome> {
    // If this write fails the call is refused: nothing runs without its 'requested' entry committed.
    this.auditCall(call, { phase: 'requested' });
    if (call.decision.decision === 'notify') this.announce(call);
    if (call.decision.dryRun) {
      const plan = call.spec.plan?.(call.input, this.deps.inventory) ?? `call ${call.spec.name} on ${call.target}`;
      const text = `dry run: would ${plan} (decision ${call.decision.decision} by ${call.decision.rule}); nothing was executed`;
      this.auditCall(call, { phase: 'completed', result: text, durationMs: 0 });
      return { ok: true, callId: call.callId, output: { dryRun: true, plan, decision: call.decision.decision }, text, dryRun: true };
    }
    const started = performance.now();
    try {
      const output = await this.runHandler(call, signal);
      const text = redactText(call.spec.summarize(output));
      this.auditCall(call, { phase: 'completed', result: text.slice(0, 500), durationMs: Math.round(performance.now() - started) });
      return { ok: true, callId: call.callId, output, text, dryRun: false };
    } catch (err) {
      const failure = this.toFailure(err, call);
      this.auditCall(call, { phase: 'failed', errorKind: failure.kind, result: `${failure.message}${err === failure ? '' : ` [cause: ${redactText(errorMessage((failure.cause as unknown) ?? err)).slice(0, 300)}]`}`, durationMs: Math.round(performance.now() - started) });
      return { ok: false, callId: call.callId, kind: failure.kind, message: failure.message, details: failure.details };
    }
  }

  private async runHandler(call: PreparedCall, clientSignal?: AbortSignal): Promise<unknown> {
    // One timer per call, cleared when the call ends: AbortSignal.timeout would keep every call's
    // signal alive for the whole timeout.
    const deadline = new AbortController();
    const signal = clientSignal ? AbortSignal.any([clientSignal, deadline.signal]) : deadline.signal;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = (): void => reject(deadline.signal.aborted
        ? new ToolFailure('unavailable', `${call.spec.name} on ${call.target} timed out after ${call.deadlineMs} ms; retry later`)
        : new ToolFailure('unavailable', `${call.spec.name} on ${call.target} was cancelled by the client`));
      timer = setTimeout(() => deadline.abort(), call.deadlineMs);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    const log = this.deps.log.child({ callId: call.callId, tool: call.spec.name });
    const ctx = { adapters: this.deps.adapters, inventory: this.deps.inventory, incidents: this.deps.incidents, signal, log };
    try {
      const output = await Promise.race([call.spec.run(call.input, ctx), aborted]);
      const checked = call.spec.output.safeParse(output);
      if (!checked.success) throw new Error(`output of ${call.spec.name} does not match its schema: ${describeIssues(checked.error).join('; ')}`);
      return checked.data;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
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
