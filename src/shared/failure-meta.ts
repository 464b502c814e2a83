// Where a failed tool result carries warden's verdict for programs (the loop): the kind and the
// approval id ride in _meta under one key; a model reads the text. One writer (server/results.ts),
// one reader (failureOf).

export const FAILURE_META = 'warden/failure';

/** The failure kind and approval id warden puts in a failed result's _meta. */
export function failureOf(result: { _meta?: Record<string, unknown> }): { kind?: string; approvalId?: string } {
  const meta = result._meta?.[FAILURE_META] as { kind?: unknown; approvalId?: unknown } | undefined;
  return {
    ...(typeof meta?.kind === 'string' ? { kind: meta.kind } : {}),
    ...(typeof meta?.approvalId === 'string' ? { approvalId: meta.approvalId } : {}),
  };
}
