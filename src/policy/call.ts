// The shapes of a call on its way through the guard: who calls, the validated call, and what
// comes back. Shared by the guard and the approval flow so neither imports the other.
import type { FailureDetails, FailureKind } from '../errors.js';
import type { Role } from '../shared/roles.js';
import type { Risk } from '../shared/tiers.js';
import type { AnyToolSpec } from '../tools/spec.js';
import type { GateDecision } from './decide.js';

/** What a human present in the client is asked before a held call runs. */
export interface ApprovalPrompt {
  tool: string;
  target: string;
  args: unknown;
  risk: string;
  rule: string;
  reason: string;
}

export type Transport = 'stdio' | 'http' | 'loop' | 'cli' | 'memory' | 'internal';

export interface Caller {
  principal: string;
  role: Role;
  transport: Transport;
  incidentId?: string;
  /**
   * The only tools this caller is offered and may call (the loop's first level): tools/list shows no
   * other, and the gate denies and audits a call of any other, as it would a rule's deny.
   */
  tools?: readonly string[];
  /** A valid W3C traceparent the client sent with the request: each of the call's audit entries carries it. */
  traceparent?: string;
  /**
   * Present only where a human can answer in the client (a local stdio client that declared
   * elicitation). `answer` is undefined until the client has asked; then accept, decline or cancel.
   */
  human?: { answer?: 'accept' | 'decline' | 'cancel' };
}

export type CallOutcome =
  | { ok: true; callId: string; output: unknown; text: string; dryRun: boolean }
  | { ok: false; callId: string; kind: FailureKind; message: string; details: FailureDetails }
  /** The transport must ask the human and call again with the answer; nothing was audited yet. */
  | { ok: false; callId: string; kind: 'ask_human'; prompt: ApprovalPrompt };

/** The call as the gate sees it before any decision: validated, its target canonical. */
export interface ReadyCall {
  input: Record<string, unknown>;
  approvalId?: string;
  /** Canonical: whatever spelling the caller used (ID, prefix, /name, alias), one form. */
  target: string;
  /** The full ID of the container the target names, when looked up. */
  targetId?: string;
  /** Why the target is the name as given rather than what Docker says (policy check without Docker). */
  unresolved?: string;
  /** Where the gate reads the inventory's facts when not from the target: `service:NAME` for a call that names its service. */
  infoKey?: string;
  /** The spec's tier, or what resolve() said for this input. */
  risk: Risk;
  deadlineMs: number;
  argsHash: string;
  redactedArgs: unknown;
}

export type PreconditionVerdict = { kind: 'refuse' | 'hold'; rule: string; message: string } | undefined;

export interface PreconditionCall {
  tool: string; effect: string | undefined; target: string; targetId?: string;
  /** What the policy alone decides: a hold is moot for a call the policy already holds or denies. */
  policy: GateDecision['decision'];
}

/**
 * What the loop checks before one of its writes, beyond the policy: its incident still open, no
 * dependency's incident open, no operator's deliberate stop undone. `refuse`: not even a human's
 * approval makes it run; `hold`: it runs only once a human approves it. `check` reads the store
 * and runs inside the admission's transaction, so nothing can close the incident between the
 * check and the call's 'requested' entry; `inspect` asks Docker (bounded) before it.
 */
export interface Precondition {
  check(caller: Caller, call: PreconditionCall): PreconditionVerdict;
  inspect(caller: Caller, call: PreconditionCall): Promise<PreconditionVerdict>;
}

/** A validated call on its way through the guard, with the gate's decision. */
export interface PreparedCall extends ReadyCall {
  callId: string;
  caller: Caller;
  spec: AnyToolSpec;
  decision: GateDecision;
}
