// One tools/call made by the runner itself (a runbook action, a verification read, the re-run of an
// approved call) through the loop's MCP client: the same guard and audit as the agent's calls.
import type { CallToolResult, Client } from '@modelcontextprotocol/client';
import { errorMessage } from '../errors.js';
import { failureOf } from '../shared/failure-meta.js';

export interface LoopCallResult {
  ok: boolean;
  /** structuredContent on success. */
  output: Record<string, unknown> | undefined;
  text: string;
  /** The failure kind (denied, approval_required, target_failed, unavailable, ...) when not ok. */
  kind?: string;
  approvalId?: string;
  /** Refused before anything reached the target (an open breaker, a busy or full database). */
  notRun?: true;
}

/**
 * Calls a tool and never throws: a transport failure comes back as kind `internal`. The runner passes
 * its shutdown signal only to reads: a write under way finishes and its outcome is audited, so the
 * next start verifies it rather than guessing whether it ran.
 */
export async function callLoopTool(client: Client, name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<LoopCallResult> {
  let result: CallToolResult;
  try {
    result = (await client.callTool({ name, arguments: args }, { signal, timeout: 15 * 60_000 })) as CallToolResult;
  } catch (err) {
    return { ok: false, output: undefined, text: `[internal] ${errorMessage(err)}`, kind: 'internal' };
  }
  const text = result.content.filter((c): c is { type: 'text'; text: string } => c.type === 'text').map((c) => c.text).join('\n');
  if (!result.isError) return { ok: true, output: result.structuredContent as Record<string, unknown> | undefined, text };
  return { ok: false, output: undefined, text, ...failureOf(result) };
}
