// The one error vocabulary shared across folders: six kinds of tool failure, each a short,
// safe message for the model. Raw library errors never cross a module boundary untranslated.

export const FAILURE_KINDS = [
  'invalid_input',
  'denied',
  'approval_required',
  'target_failed',
  'unavailable',
  'internal',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface FailureDetails {
  /** The approval request a held call waits on. */
  approvalId?: string;
  /** The policy rule that decided, for denied and held calls. */
  rule?: string;
  exitCode?: number;
  /** Last lines of a target's own output, already redacted. */
  tail?: string;
  /** Refused before anything reached the target (an open circuit breaker, a busy or full database): not a failure of the target. */
  notRun?: true;
}

export class ToolFailure extends Error {
  readonly kind: FailureKind;
  readonly details: FailureDetails;

  /** `message` is shown to the model verbatim; `cause` goes only to the log and the audit. */
  constructor(kind: FailureKind, message: string, details: FailureDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ToolFailure';
    this.kind = kind;
    this.details = details;
  }
}

/** Bad input to the program itself (config, policy, command-line arguments): exit status 2. */
export class InputError extends Error {
  /** `issues`: each problem on its own, for a command that prints them one per line (`warden config check`). */
  constructor(message: string, readonly issues: readonly string[] = []) {
    super(message);
    this.name = 'InputError';
  }
}

/** Anything else that stops a command cleanly with a message and exit status 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
