// The agent: one conversation with Claude about one incident, under budgets. Its tool calls go
// through warden's own MCP server (the loop client), so the gate and the audit see every one. It
// never approves anything: at the first held call it stops and hands the call to the runner.
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, AnthropicError } from '@anthropic-ai/sdk';
import type { Client } from '@modelcontextprotocol/client';
import { z } from 'zod';
import { BreakerOpen, type Breaker, type BreakerBoard } from '../adapters/breakers.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { Budget, estimateCostUsd } from './budget.js';
import type { LoopConfig } from './config.js';
import { buildSystemPrompt, openingMessage, type AgentMode, type PromptFacts } from './prompt.js';
import { createToolBridge, type ToolBridge, type ToolCallRecord } from './tool-bridge.js';
import type { Incident, IncidentLog } from '../shared/incidents.js';
import { redactValue } from '../shared/redact.js';

export type AgentOutcome = 'done' | 'held' | 'budget' | 'unreachable' | 'refused';

export interface HeldCall {
  tool: string;
  /** Exactly what the model asked for, without any approvalId: the runner re-runs this once approved. */
  args: Record<string, unknown>;
  approvalId: string;
}

export interface AgentResult {
  outcome: AgentOutcome;
  summary: string;
  actions: ToolCallRecord[];
  heldCall?: HeldCall;
  turns: number;
  inputTokens: number;
  outputTokens: number;
}

export interface AgentOptions {
  incident: Incident;
  facts: PromptFacts;
  /** Default fix; investigate pairs with a read-only loop client after a runbook restored the service. */
  mode?: AgentMode;
  /** The loop client (connectLoopClient): principal loop, tagged with this incident. */
  client: Client;
  /** Undefined when no API key is configured: the run ends 'unreachable' without a request. */
  anthropic: Anthropic | undefined;
  cfg: LoopConfig;
  log: IncidentLog;
  /** Aborting it (shutdown) rejects the run with the signal's reason; it is not an outcome. */
  signal?: AbortSignal;
  logger: Logger;
  /** Cap on one reply's output tokens. */
  maxTokensPerTurn?: number;
  /** Cap on one HTTP attempt; never beyond what is left of the wall-time budget. */
  requestTimeoutMs?: number;
  /** The Messages API's circuit breaker (modelBreaker): while it is open the run ends unreachable at once, and the runbooks act. */
  breaker?: Breaker;
  /**
   * Records a call the model asked for that the run does not send: one after a held call in the
   * same turn. The gate audits it as not attempted, so the audit shows everything the model asked.
   */
  notAttempted(use: { name: string; input: unknown }, reason: string): Promise<void>;
}

export const DEFAULT_MAX_TOKENS_PER_TURN = 4_096;
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
const MAX_EVENT_TEXT_CHARS = 1_000;

/**
 * The Messages API client for the loop, or undefined without a key. Retries are the SDK's own: it
 * retries connection errors, timeouts, 408, 409, 429 and every 5xx (529 included) up to maxRetries
 * times with exponential backoff (0.5 s doubling to 8 s, jittered), honouring retry-after(-ms).
 */
export function anthropicFor(cfg: LoopConfig, secrets: Config['secrets'], logger: Logger): Anthropic | undefined {
  if (!secrets.anthropicApiKey) return undefined;
  return new Anthropic({
    apiKey: secrets.anthropicApiKey,
    // null, not undefined: config.ts already resolved ANTHROPIC_BASE_URL; the SDK must not read it again.
    baseURL: secrets.anthropicBaseURL ?? null,
    maxRetries: cfg.maxRetries,
    timeout: DEFAULT_REQUEST_TIMEOUT_MS,
    logger: {
      error: (msg, ...rest) => logger.error({ anthropic: rest }, msg),
      warn: (msg, ...rest) => logger.warn({ anthropic: rest }, msg),
      info: (msg, ...rest) => logger.debug({ anthropic: rest }, msg),
      debug: (msg, ...rest) => logger.trace({ anthropic: rest }, msg),
    },
  });
}

const capText = (text: string, max = MAX_EVENT_TEXT_CHARS): string => (text.length <= max ? text : `${text.slice(0, max)}...`);

function textOf(message: Anthropic.Message): string {
  return message.content.filter((b): b is Anthropic.TextBlock => b.type === 'text').map((b) => b.text).join('\n').trim();
}

type Failure = { outcome: 'unreachable' | 'refused'; code: string; why: string };

/** A failure of the Messages API itself (down, overloaded, timing out, answering garbage): what its breaker counts. */
class ModelFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.why);
    this.name = 'ModelFailure';
  }
}

/**
 * The Messages API's breaker in this process: it counts only the API's own failures, never a refusal
 * of a bad request. Its trial is bounded by the request's own timeout (requestTimeoutMs), not the board's.
 */
export function modelBreaker(board: BreakerBoard, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Breaker {
  return board.get('messages-api', 'model', (err) => err instanceof ModelFailure, { trialTimeoutMs: requestTimeoutMs + 5_000 });
}

/**
 * The least a reply must be before the loop reads it: a proxy's HTML page, an empty object or a
 * block without its fields is garbage, and garbage means Claude cannot help: the runbooks act.
 */
const ReplyShape = z.looseObject({
  type: z.literal('message'),
  content: z.array(z.union([
    z.looseObject({ type: z.literal('text'), text: z.string() }),
    z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
    z.looseObject({ type: z.string().refine((t) => t !== 'text' && t !== 'tool_use') }),
  ])),
  stop_reason: z.string().nullable(),
  usage: z.looseObject({ input_tokens: z.number(), output_tokens: z.number() }),
});

/** Why a request failed, as an outcome: the runner falls back when Claude is unreachable. */
function classify(err: unknown): Failure | undefined {
  if (err instanceof APIConnectionTimeoutError) return { outcome: 'unreachable', code: 'timeout', why: 'the request timed out' };
  if (err instanceof APIConnectionError) return { outcome: 'unreachable', code: 'connection', why: 'no connection to the Messages API' };
  if (err instanceof APIError && err.status !== undefined) {
    const why = `${err.status} ${err.apiMessage ?? err.message}`;
    const transient = err.status === 408 || err.status === 429 || err.status >= 500;
    return { outcome: transient ? 'unreachable' : 'refused', code: String(err.status), why };
  }
  if (err instanceof AnthropicError) return { outcome: 'unreachable', code: 'client', why: err.message };
  return undefined;
}

class AgentRun {
  private readonly spent = { turns: 0, inputTokens: 0, outputTokens: 0 };
  private readonly actions: ToolCallRecord[] = [];
  private lastText = '';

  constructor(private readonly opts: AgentOptions, private readonly anthropic: Anthropic, private readonly budget: Budget) {}

  finish(outcome: AgentOutcome, summary: string, heldCall?: HeldCall): AgentResult {
    const result: AgentResult = { outcome, summary, actions: this.actions, ...(heldCall ? { heldCall } : {}), ...this.spent };
    this.opts.logger.info({ incidentId: this.opts.incident.id, outcome, turns: this.spent.turns, actions: this.actions.length }, 'agent finished');
    return result;
  }

  /** A budget stop keeps what the model last said, so the runner's escalation has it. */
  private stopped(why: string): AgentResult {
    return this.finish('budget', this.lastText ? `${why}. The model's last words: ${capText(this.lastText)}` : why);
  }

  async converse(bridge: ToolBridge): Promise<AgentResult> {
    const { incident, facts, mode } = this.opts;
    const system = buildSystemPrompt(incident, facts, mode);
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: openingMessage(incident, mode) }];
    for (;;) {
      const spent = this.budget.exhausted(this.spent);
      if (spent) return this.stopped(spent);
      const reply = await this.ask({ system, tools: bridge.tools, messages });
      if ('ended' in reply) return reply.ended;
      messages.push({ role: 'assistant', content: reply.message.content });
      const next = await this.afterReply(reply.message, bridge);
      if ('outcome' in next) return next;
      if (next.results.length > 0) messages.push({ role: 'user', content: next.results });
    }
  }

  private async ask(req: Pick<Anthropic.MessageCreateParamsNonStreaming, 'system' | 'tools' | 'messages'>): Promise<{ message: Anthropic.Message } | { ended: AgentResult }> {
    const { cfg, log, incident, signal } = this.opts;
    const wall = AbortSignal.timeout(Math.max(1, this.budget.remainingMs()));
    const timeout = Math.ceil(Math.max(1, Math.min(this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, this.budget.remainingMs())));
    const started = Date.now();
    const base = { incidentId: incident.id, model: cfg.model };
    const create = async (): Promise<Anthropic.Message & { _request_id?: string | null }> => {
      let reply: unknown;
      try {
        reply = await this.anthropic.messages.create(
          { model: cfg.model, max_tokens: this.opts.maxTokensPerTurn ?? DEFAULT_MAX_TOKENS_PER_TURN, ...req },
          { maxRetries: cfg.maxRetries, timeout, signal: signal ? AbortSignal.any([signal, wall]) : wall },
        );
      } catch (err) {
        // Shutdown and the wall budget are ours, not the API's failures.
        if (signal?.aborted || wall.aborted) throw err;
        const failure = classify(err);
        if (failure?.outcome === 'refused') throw err;
        throw new ModelFailure(failure ?? { outcome: 'unreachable', code: 'garbage', why: `the answer could not be read (${err instanceof Error ? err.name : typeof err})` });
      }
      if (!ReplyShape.safeParse(reply).success) throw new ModelFailure({ outcome: 'unreachable', code: 'garbage', why: 'the answer is not a message' });
      return reply as Anthropic.Message;
    };
    let message: Anthropic.Message & { _request_id?: string | null };
    try {
      message = this.opts.breaker ? await this.opts.breaker.run(create) : await create();
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      const latencyMs = Date.now() - started;
      if (wall.aborted) {
        log.recordModelCall({ ...base, inputTokens: 0, outputTokens: 0, latencyMs, costUsd: 0, outcome: 'error:wall_time' });
        return { ended: this.stopped(`wall-time budget spent (${cfg.budgets.wallSeconds} s) while waiting for the model`) };
      }
      const failure = err instanceof ModelFailure ? err.failure
        : err instanceof BreakerOpen ? { outcome: 'unreachable' as const, code: 'breaker_open', why: err.message }
        : classify(err);
      if (!failure) throw err;
      log.recordModelCall({ ...base, inputTokens: 0, outputTokens: 0, latencyMs, costUsd: 0, outcome: `error:${failure.code}` });
      this.opts.logger.warn({ incidentId: incident.id, code: failure.code, why: failure.why }, 'Messages API request failed');
      const what = failure.outcome === 'unreachable' ? 'Claude could not be reached' : 'the Messages API refused the request';
      return { ended: this.finish(failure.outcome, `${what}: ${failure.why}`) };
    }
    this.recordReply(message, Date.now() - started);
    return { message };
  }

  private recordReply(message: Anthropic.Message & { _request_id?: string | null }, latencyMs: number): void {
    const { cfg, log, incident } = this.opts;
    const u = message.usage;
    const inputTokens = u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
    const outputTokens = u.output_tokens;
    this.spent.turns += 1;
    this.spent.inputTokens += inputTokens;
    this.spent.outputTokens += outputTokens;
    const costUsd = estimateCostUsd(cfg.budgets, inputTokens, outputTokens);
    log.recordModelCall({ incidentId: incident.id, model: message.model, inputTokens, outputTokens, latencyMs, costUsd, outcome: 'ok' });
    const text = textOf(message);
    if (text) this.lastText = text;
    const toolUses = message.content.filter((b) => b.type === 'tool_use').map((b) => b.name);
    log.addEvent(incident.id, 'model', capText(text) || `(no text; tools: ${toolUses.join(', ') || 'none'})`, {
      turn: this.spent.turns, stopReason: message.stop_reason, toolUses, inputTokens, outputTokens, latencyMs, costUsd,
      requestId: message._request_id ?? null,
    });
  }

  private async afterReply(message: Anthropic.Message, bridge: ToolBridge): Promise<AgentResult | { results: Anthropic.ToolResultBlockParam[] }> {
    const text = textOf(message);
    switch (message.stop_reason) {
      case 'tool_use':
        return this.runTools(message, bridge);
      case 'pause_turn':
        return { results: [] }; // the API continues its own turn when sent back as is
      case 'refusal':
        return this.finish('refused', `the model declined to continue${text ? `: ${capText(text)}` : ''}`);
      case 'max_tokens':
      case 'model_context_window_exceeded':
        return this.stopped(`the model's reply was cut off (${message.stop_reason})`);
      default:
        return this.finish('done', text || 'the model ended without a summary');
    }
  }

  /** In order, one at a time; the first held call ends the conversation: the calls after it are recorded as not attempted, and none runs. */
  private async runTools(message: Anthropic.Message, bridge: ToolBridge): Promise<AgentResult | { results: Anthropic.ToolResultBlockParam[] }> {
    const uses = message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    if (uses.length === 0) return this.finish('done', textOf(message) || 'the model ended without a summary');
    const results: Anthropic.ToolResultBlockParam[] = [];
    for (const [index, use] of uses.entries()) {
      const { block, record } = await bridge.call(use, this.opts.signal);
      this.actions.push(record);
      const verdict = record.ok ? 'ok' : `[${record.kind ?? 'error'}]`;
      this.opts.log.addEvent(this.opts.incident.id, 'tool', `${record.tool} ${verdict}: ${capText(record.text.split('\n')[0] ?? '', 200)}`, record);
      if (record.kind === 'approval_required' && record.approvalId) {
        const held: HeldCall = { tool: record.tool, args: record.args, approvalId: record.approvalId };
        for (const sibling of uses.slice(index + 1)) {
          await this.opts.notAttempted(sibling, `${record.tool} earlier in the same model turn is held for approval ${record.approvalId}`);
          this.opts.log.addEvent(this.opts.incident.id, 'tool', `${sibling.name} not attempted: an earlier call in the same turn is held`, { tool: sibling.name, args: sibling.input });
        }
        const said = this.lastText ? ` The model said: ${capText(this.lastText)}` : '';
        return this.finish('held', `${held.tool} ${JSON.stringify(redactValue(held.args))} is held for approval ${held.approvalId}.${said}`, held);
      }
      results.push(block);
    }
    return { results };
  }
}

export async function runAgent(opts: AgentOptions): Promise<AgentResult> {
  if (!opts.anthropic) {
    opts.logger.warn({ incidentId: opts.incident.id }, 'no Anthropic API key configured; the agent cannot run');
    return { outcome: 'unreachable', summary: 'no Anthropic API key is configured', actions: [], turns: 0, inputTokens: 0, outputTokens: 0 };
  }
  const run = new AgentRun(opts, opts.anthropic, new Budget(opts.cfg.budgets, opts.log));
  return run.converse(await createToolBridge(opts.client, opts.logger));
}
