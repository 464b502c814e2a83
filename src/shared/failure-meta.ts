// Where a failed tool result carries warden's verdict for programs (the loop): the kind and the
// approval id ride in _meta under one key; a model reads the text. One writer (server/results.ts),
// one reader (failureOf).

export const FAILURE_META = 'warden/failure';

/**
 * The failure kind and approval id warden puts in a failed result's _meta, and `notRun` when it says
 * the call was refused before anything reached the target (an open breaker, a busy or full database).
 */
export function failureOf(result: { _meta?: Record<string, unknown> }): { kind?: string; approvalId?: string; notRun?: true } {
  const meta = result._meta?.[FAILURE_META] as { kind?: unknown; approvalId?: unknown; notRun?: unknown } | undefined;
  return {
    ...(typeof meta?.kind === 'string' ? { kind: meta.kind } : {}),
    ...(typeof meta?.approvalId === 'string' ? { approvalId: meta.approvalId } : {}),
    ...(meta?.notRun === true ? { notRun: true as const } : {}),
  };
}
