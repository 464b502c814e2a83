// A tool is data plus a plain function: schemas, risk tier, how to derive its target, and run().
// run() never imports the SDK, reads config, writes audit rows, consults policy or calls another tool.
import { z } from 'zod';
import type { Logger } from '../log.js';
import type { Effect } from '../shared/effects.js';
import type { Risk } from '../shared/tiers.js';
import type { Adapters } from '../adapters/index.js';
import type { ChangeJournal, ChangeRecord } from '../store/changes.js';
import type { IncidentReader, InventoryReader } from '../store/readers.js';

/** Who is calling, for the change records a transactional tool writes. */
export interface CallInfo {
  id: string;
  principal: string;
  incidentId: string | null;
}

export interface ToolContext {
  adapters: Adapters;
  inventory: InventoryReader;
  incidents: IncidentReader;
  /**
   * The one store a tool writes: the steps of its own configuration change, each committed before
   * the step that touches the target, so a crash leaves a record of what to verify or undo.
   */
  changes: ChangeJournal;
  call: CallInfo;
  signal: AbortSignal;
  log: Logger;
}

/** What a call's target and facts may depend on beyond the inventory: the change a rollback names. */
export interface CallRecords {
  change(id: string): ChangeRecord | undefined;
}

export type ToolFamily = 'docker' | 'nginx' | 'gpu' | 'host' | 'inventory' | 'runbooks' | 'incidents' | 'changes';

export const APPROVAL_ID_FIELD = 'approvalId';
const ApprovalId = z
  .string()
  .regex(/^apr_[A-Za-z0-9_-]{6,40}$/)
  .optional()
  .describe('Only to re-call a held call once approved.');

export interface CallFacts {
  /** This call's tier (run_runbook: the runbook's own). */
  risk?: Risk;
  /** What an approval must also be bound to (a runbook's definition), so a reload cannot change it. */
  bindsTo?: unknown;
  /** How long the call may take when the tool knows better than tools.callTimeoutMs (the larger wins). */
  deadlineMs?: number;
  /** The service the call names, when the inventory's facts for policy must come from it, not from the target. */
  service?: string;
}

export interface ToolSpec<I extends z.ZodObject = z.ZodObject, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  /** A prompt for Claude: what it does, when to use it, when not, side effects, output caps. */
  description: string;
  family: ToolFamily;
  /** The tier for listing and annotations; the ceiling when resolve() decides per call. */
  risk: Risk;
  /** The kind of side effect, for every tool that is not read-only; policy limits select tools by it. */
  effect?: Effect;
  /**
   * For tools whose call depends on what the input names in the inventory (run_runbook: a runbook),
   * resolved once per call before the gate. May throw ToolFailure('invalid_input') for input that
   * names nothing, so such a call is refused before anyone is asked to approve it.
   */
  resolve?: (input: z.infer<I>, inventory: InventoryReader, records: CallRecords) => CallFacts;
  /**
   * resolve() gives each call its own tier (run_runbook: the runbook's). Without it a
   * call's tier is `risk` whatever resolve() says: tools/list shows each caller what it may call
   * from the tiers a tool can have, so they must be declared, never found out per call.
   */
  resolvesRisk?: true;
  /** Strict; for non-read tools it also carries the optional approvalId. */
  input: I;
  output: O;
  /**
   * Where the call acts, e.g. `local/web-1`, from input already canonicalised (host and container
   * in their one spelling); policy rules and limits match on it. May throw ToolFailure for input
   * that names nothing in the inventory.
   */
  target: (input: z.infer<I>, inventory: InventoryReader, records: CallRecords) => string;
  run: (input: z.infer<I>, ctx: ToolContext) => Promise<z.infer<O>>;
  /**
   * The text block beside structuredContent: a head of one to three short lines (counts, state,
   * truncation, "untrusted data" notes), never the items nor copied log or command output.
   * structuredContent is what a model reads (Claude Code drops the text when it is there), so a
   * duplicate here only doubles the cost; anything a model needs goes in the output schema.
   */
  summarize: (output: z.infer<O>) => string;
  /** What a dry run reports it would do; the inventory is there for tools whose command lives in it (run_runbook). */
  plan?: (input: z.infer<I>, inventory: InventoryReader) => string;
  openWorld?: boolean;
  idempotent?: boolean;
  /**
   * A transaction that reacts to the abort itself (rolls back, under its own deadline): the guard
   * waits for it to end instead of answering "cancelled" at once, so the outcome in the audit is
   * what really became of the change.
   */
  finishesAfterAbort?: boolean;
}

/** Declares a tool; non-read tools get the optional approvalId so a held call can be re-made. */
export function defineTool<I extends z.ZodObject, O extends z.ZodType>(spec: ToolSpec<I, O>): ToolSpec<I, O> {
  if (spec.risk === 'read') return spec;
  // A write without a declared effect would slip past every limit that selects by effect.
  if (spec.effect === undefined) throw new Error(`tool ${spec.name}: a non-read tool must declare its effect`);
  const input = spec.input.extend({ [APPROVAL_ID_FIELD]: ApprovalId }) as unknown as I;
  return { ...spec, input };
}

/** Erases the generic parameters so specs of different shapes fit in one catalog array. */
export type AnyToolSpec = ToolSpec<z.ZodObject, z.ZodType>;

export const HostName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a host name from the inventory, e.g. "local"')
  .default('local')
  .describe('Inventory host name.');

export const ContainerRef = z
  .string()
  .regex(/^\/?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a container name or id')
  .describe('Container name or id.');
