// Turns a raw tools/call into a call the gate can decide on: validated arguments, targets in
// their canonical spelling, the tool's own facts (a runbook's tier), and the hash an approval is
// bound to. It decides nothing and writes nothing: a refusal comes back for the guard to audit.
import { ToolFailure, type FailureDetails, type FailureKind } from '../errors.js';
import { redactValue } from '../shared/redact.js';
import { canonicalJson, sha256 } from '../store/canonical.js';
import type { InventoryReader } from '../store/readers.js';
import { APPROVAL_ID_FIELD, type AnyToolSpec, type CallFacts, type CallRecords } from '../tools/spec.js';
import { describeIssues } from '../validation.js';
import type { ReadyCall } from './call.js';
import type { TargetCanonicalizer } from './canonical-target.js';

const MAX_AUDIT_ARGS_CHARS = 8_000;

export function auditableArgs(args: unknown): unknown {
  const redacted = redactValue(args ?? {});
  const text = canonicalJson(redacted);
  return text.length <= MAX_AUDIT_ARGS_CHARS ? redacted : { truncated: text.slice(0, MAX_AUDIT_ARGS_CHARS) };
}

export interface PrepareRefusal {
  kind: FailureKind;
  message: string;
  /** What the audit entry of the refusal can say. */
  target: string | null;
  args: unknown;
  argsHash: string;
  /** The failure's details worth passing on (notRun: Docker was not reached while resolving the target). */
  details?: FailureDetails;
}

/** A target read from arguments that failed validation, so even that entry says what was aimed at. */
function targetHint(raw: unknown): string | null {
  if (raw === null || typeof raw !== 'object') return null;
  const { host, container, service } = raw as Record<string, unknown>;
  const h = typeof host === 'string' ? host.slice(0, 64) : 'local';
  if (typeof container === 'string') return `${h}/${container.slice(0, 128)}`;
  if (typeof service === 'string') return `service:${service.slice(0, 64)}`;
  return typeof host === 'string' ? `${h}/*` : null;
}

export class CallPreparer {
  constructor(private readonly canonicalizer: TargetCanonicalizer, private readonly inventory: InventoryReader, private readonly callTimeoutMs: number, private readonly records: CallRecords) {}

  async prepare(spec: AnyToolSpec, rawArgs: unknown, opts: { allowUnreachable?: boolean } = {}): Promise<{ ok: true; call: ReadyCall } | { ok: false; refusal: PrepareRefusal }> {
    const rawHash = sha256(canonicalJson(rawArgs ?? {}));
    const parsed = spec.input.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      const message = `invalid arguments for ${spec.name}: ${describeIssues(parsed.error).join('; ')}`;
      return { ok: false, refusal: { kind: 'invalid_input', message, target: targetHint(rawArgs), args: auditableArgs(rawArgs), argsHash: rawHash } };
    }
    const { [APPROVAL_ID_FIELD]: approvalId, ...given } = parsed.data as Record<string, unknown>;
    let input = given;
    let target = targetHint(given);
    try {
      const canonical = await this.canonicalizer.canonicalize(given, spec.risk, opts);
      input = canonical.input;
      target = spec.target(input, this.inventory, this.records);
      const facts: CallFacts = spec.resolve ? spec.resolve(input, this.inventory, this.records) : {};
      const bound = { args: input, ...(facts.bindsTo === undefined ? {} : { boundTo: facts.bindsTo }), ...(canonical.targetId ? { targetId: canonical.targetId } : {}) };
      return {
        ok: true,
        call: {
          input, target, risk: spec.resolvesRisk ? (facts.risk ?? spec.risk) : spec.risk,
          ...(canonical.targetId ? { targetId: canonical.targetId } : {}),
          ...(canonical.unresolved ? { unresolved: canonical.unresolved } : {}),
          ...(facts.service ? { infoKey: `service:${facts.service}` } : {}),
          approvalId: approvalId as string | undefined,
          // An approval is bound to these canonical arguments (defaults applied, approvalId
          // excluded), to what the tool says they stand for (a runbook's definition), and to the
          // container's ID: one recreated under the same name does not inherit it.
          argsHash: sha256(canonicalJson(bound.boundTo === undefined && bound.targetId === undefined ? input : bound)),
          deadlineMs: Math.max(this.callTimeoutMs, facts.deadlineMs ?? 0),
          redactedArgs: auditableArgs(input),
        },
      };
    } catch (err) {
      // Our own bug while preparing is refused as internal; the guard gives it a reference.
      const f = err instanceof ToolFailure ? err : new ToolFailure('internal', 'internal error', {}, err);
      return { ok: false, refusal: { kind: f.kind, message: f.message, target, args: auditableArgs(input), argsHash: sha256(canonicalJson(input)), ...(f.details.notRun ? { details: { notRun: true } } : {}) } };
    }
  }
}
