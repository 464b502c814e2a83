// Turns the guard's outcome into an MCP tool result: structuredContent plus a short head on success;
// isError with a short, safe message otherwise. The failure kind and ids ride in _meta, where the
// loop reads them. On success a model reads structuredContent (Claude Code drops the text then), so
// the data must never be repeated in the text; on an error it reads the text.
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { CallOutcome } from '../policy/call.js';
import { FAILURE_META } from '../shared/failure-meta.js';

/** A head is a few lines (ToolSpec.summarize); past this a summary has started copying its items. */
const MAX_SUMMARY_CHARS = 1_000;

const head = (text: string): string => (text.length <= MAX_SUMMARY_CHARS ? text : `${text.slice(0, MAX_SUMMARY_CHARS)}… [cut; the data is in structuredContent]`);

export function toCallToolResult(outcome: Exclude<CallOutcome, { kind: 'ask_human' }>): CallToolResult {
  if (outcome.ok && !outcome.dryRun) {
    return { content: [{ type: 'text', text: head(outcome.text) }], structuredContent: outcome.output as Record<string, unknown> };
  }
  // A dry run's report is not the tool's output shape, so it travels like a refusal that explains itself.
  const [kind, text, details] = outcome.ok
    ? (['dry_run', outcome.text, {}] as const)
    : ([outcome.kind, outcome.message, outcome.details] as const);
  return {
    content: [{ type: 'text', text: `[${kind}] ${text}` }],
    isError: true,
    _meta: { [FAILURE_META]: { kind, callId: outcome.callId, ...details } },
  };
}
