// The first level's agent: one conversation with a local model behind an OpenAI-compatible API about
// one incident, under its own budgets. Its tools are the MCP tools its loop client lists (principal
// loop-n1, the configured subset), translated to function calling and back through the same tool
// bridge as Claude's, so the gate and the audit see every call; plus hand_over, which only ends the
// conversation. Like Claude's agent it never approves anything: a held call ends the run.
import type { Client } from '@modelcontextprotocol/client';
import { BreakerOpen, type Breaker, type BreakerBoard } from '../adapters/breakers.js';
import { ChatFailure, type ChatClient, type ChatMessage, type ChatReply, type ChatTool } from '../adapters/chat-completions.js';
import type { Logger } from '../log.js';
import type { Incident, IncidentLog } from '../shared/incidents.js';
import { redactValue } from '../shared/redact.js';
import type { AgentResult, HeldCall } from './agent.js';
import type { FirstLevelConfig } from './config.js';
import { buildFirstLevelPrompt, openingMessage, type PromptFacts } from './prompt.js';
import { createToolBridge, type ToolBridge, type ToolCallRecord } from './tool-bridge.js';

/** done: it ended on its own; handover: it called hand_over; the rest as Claude's agent. */
export type FirstLevelOutcome = 'done' | 'handover' | 'held' | 'budget' | 'unreachable' | 'refused';

/** What Claude's agent reports, with the first level's own outcomes (it may hand over). */
export interface FirstLevelResult extends Omit<AgentResult, 'outcome'> {
  outcome: FirstLevelOutcome;
}

export interface FirstLevelOptions {
  incident: Incident;
  facts: PromptFacts;
  /** A loop client as principal loop-n1, offered the configured tools only. */
  client: Client;
  chat: ChatClient;
  cfg: FirstLevelConfig;
  log: IncidentLog;
  signal?: AbortSignal;
  logger: Logger;
  breaker?: Breaker;
  /** As AgentOptions.notAttempted, as principal loop-n1. */
  notAttempted(use: { name: string; input: unknown }, reason: string): Promise<void>;
}

/** Not an MCP tool: it reaches no gate because it does nothing but end the conversation. */
export const HAND_OVER = 'hand_over';
const HAND_OVER_TOOL: ChatTool = {
  type: 'function',
  function: {
    name: HAND_OVER,
    description: 'Give this incident to the second level (a stronger model with more tools) when your tools cannot restore the service, or you are not sure what is wrong. Say what you found and why you stop; it reads your findings. Changes nothing.',
    parameters: {
      type: 'object', additionalProperties: false, required: ['findings'],
      properties: { findings: { type: 'string', description: 'What you checked, what you saw, what you think the cause is, and why you hand over.' } },
    },
  },
};

const MAX_TOKENS_PER_TURN = 2_048;
/** A reply asking for more calls than this has the rest answered unrun: a looping model must not fan out through the gate. */
export const MAX_CALLS_PER_TURN = 8;
const MAX_EVENT_TEXT_CHARS = 1_000;
const cap = (text: string, max = MAX_EVENT_TEXT_CHARS): string => (text.length <= max ? text : `${text.slice(0, max)}...`);

/** The first level's breaker: it counts the server's own failures (down, timing out, 5xx, garbage), never a 4xx refusal. */
export function firstLevelBreaker(board: BreakerBoard, requestTimeoutMs: number): Breaker {
  return board.get('first-level-model', 'model', (err) => err instanceof ChatFailure && err.transient, { trialTimeoutMs: requestTimeoutMs + 5_000 });
}

/** An MCP tool, as the bridge gives it in Anthropic's shape, as a function for chat completions. */
function toChatTool(t: ToolBridge['tools'][number]): ChatTool {
  return { type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema as Record<string, unknown> } };
}

/** The arguments a model wrote: a JSON object, or undefined (small models write broken JSON). */
function argsOf(raw: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(raw === '' ? '{}' : raw);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

class FirstLevelRun {
  private readonly spent = { turns: 0, inputTokens: 0, outputTokens: 0 };
  private readonly actions: ToolCallRecord[] = [];
  private readonly deadlineMs: number;
  private lastText = '';

  constructor(private readonly o: FirstLevelOptions) {
    this.deadlineMs = Date.now() + o.cfg.budgets.wallSeconds * 1_000;
  }

  private finish(outcome: FirstLevelOutcome, summary: string, heldCall?: HeldCall): FirstLevelResult {
    this.o.logger.info({ incidentId: this.o.incident.id, level: 1, outcome, turns: this.spent.turns, actions: this.actions.length }, 'first-level agent finished');
    return { outcome, summary, actions: this.actions, ...(heldCall ? { heldCall } : {}), ...this.spent };
  }

  private exhausted(): string | undefined {
    const b = this.o.cfg.budgets;
    if (this.spent.turns >= b.turns) return `turn budget spent (${this.spent.turns} of ${b.turns} turns)`;
    const tokens = this.spent.inputTokens + this.spent.outputTokens;
    if (tokens >= b.tokens) return `token budget spent (${tokens} of ${b.tokens} tokens)`;
    if (Date.now() >= this.deadlineMs) return `wall-time budget spent (${b.wallSeconds} s)`;
    return undefined;
  }

  private stopped(why: string): FirstLevelResult {
    return this.finish('budget', this.lastText ? `${why}. Its last words: ${cap(this.lastText)}` : why);
  }

  async converse(bridge: ToolBridge): Promise<FirstLevelResult> {
    const { incident, facts } = this.o;
    const tools = [...bridge.tools.map(toChatTool), HAND_OVER_TOOL];
    const messages: ChatMessage[] = [{ role: 'system', content: buildFirstLevelPrompt(incident, facts) }, { role: 'user', content: openingMessage(incident, 'fix') }];
    for (;;) {
      const spent = this.exhausted();
      if (spent) return this.stopped(spent);
      const reply = await this.ask(messages, tools);
      if ('ended' in reply) return reply.ended;
      messages.push({ role: 'assistant', content: reply.content || null, ...(reply.toolCalls.length ? { tool_calls: reply.toolCalls } : {}) });
      if (reply.toolCalls.length === 0) {
        if (reply.finishReason === 'length') return this.stopped("the model's reply was cut off (length)");
        if (reply.finishReason === 'content_filter') return this.finish('refused', `the model's server filtered its reply${reply.content ? `: ${cap(reply.content)}` : ''}`);
        return this.finish('done', reply.content.trim() || 'the model ended without a summary');
      }
      const next = await this.runTools(reply, bridge);
      if ('outcome' in next) return next;
      messages.push(...next.results);
    }
  }

  private async ask(messages: ChatMessage[], tools: ChatTool[]): Promise<ChatReply | { ended: FirstLevelResult }> {
    const { cfg, log, incident, signal, breaker } = this.o;
    const started = Date.now();
    const base = { incidentId: incident.id, model: cfg.model, level: 1 as const, costUsd: 0 };
    // Never past the wall budget: a slow local model ends the run, and Claude takes over.
    const wall = AbortSignal.timeout(Math.max(1, this.deadlineMs - Date.now()));
    const both = signal ? AbortSignal.any([signal, wall]) : wall;
    const request = (): Promise<ChatReply> => this.o.chat.complete({ model: cfg.model, messages, tools, maxTokens: MAX_TOKENS_PER_TURN }, both);
    let reply: ChatReply;
    try {
      reply = breaker ? await breaker.run(request, { inconclusive: () => both.aborted }) : await request();
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      const latencyMs = Date.now() - started;
      if (wall.aborted) {
        log.recordModelCall({ ...base, inputTokens: 0, outputTokens: 0, latencyMs, outcome: 'error:wall_time' });
        return { ended: this.stopped(`wall-time budget spent (${cfg.budgets.wallSeconds} s) while waiting for the model`) };
      }
      if (!(err instanceof ChatFailure) && !(err instanceof BreakerOpen)) throw err;
      const code = err instanceof ChatFailure ? err.code : 'breaker_open';
      log.recordModelCall({ ...base, inputTokens: 0, outputTokens: 0, latencyMs, outcome: `error:${code}` });
      this.o.logger.warn({ incidentId: incident.id, level: 1, code, why: err.message }, 'first-level model request failed');
      const transient = err instanceof BreakerOpen || err.transient;
      return { ended: this.finish(transient ? 'unreachable' : 'refused', `the first-level model ${transient ? 'could not be reached' : 'refused the request'}: ${err.message}`) };
    }
    this.record(reply, Date.now() - started);
    return reply;
  }

  private record(reply: ChatReply, latencyMs: number): void {
    const { log, incident, cfg } = this.o;
    this.spent.turns += 1;
    this.spent.inputTokens += reply.promptTokens;
    this.spent.outputTokens += reply.completionTokens;
    log.recordModelCall({
      incidentId: incident.id, model: reply.model || cfg.model, level: 1, costUsd: 0,
      inputTokens: reply.promptTokens, outputTokens: reply.completionTokens, latencyMs, outcome: 'ok',
    });
    if (reply.content.trim()) this.lastText = reply.content.trim();
    const toolUses = reply.toolCalls.map((c) => c.function.name);
    log.addEvent(incident.id, 'model', `level 1: ${cap(reply.content.trim()) || `(no text; tools: ${toolUses.join(', ') || 'none'})`}`, {
      level: 1, turn: this.spent.turns, finishReason: reply.finishReason, toolUses, inputTokens: reply.promptTokens, outputTokens: reply.completionTokens, latencyMs,
    });
  }

  /** In order, one at a time; hand_over or the first held call ends the conversation, and the calls after it are recorded as not attempted. */
  private async runTools(reply: ChatReply, bridge: ToolBridge): Promise<FirstLevelResult | { results: ChatMessage[] }> {
    const { incident, log } = this.o;
    const results: ChatMessage[] = [];
    const calls = reply.toolCalls.slice(0, MAX_CALLS_PER_TURN);
    // Every call needs an answer for the next request to be valid; these are never sent to the gate.
    const unrun: ChatMessage[] = reply.toolCalls.slice(MAX_CALLS_PER_TURN).map((c) => ({ role: 'tool', tool_call_id: c.id, content: `[invalid_input] not run: at most ${MAX_CALLS_PER_TURN} tool calls a turn.` }));
    if (unrun.length) log.addEvent(incident.id, 'tool', `level 1: ${unrun.length} tool calls past the first ${MAX_CALLS_PER_TURN} of one turn not run`, { level: 1 });
    const skip = async (index: number, why: string): Promise<void> => {
      for (const later of calls.slice(index + 1)) {
        if (later.function.name === HAND_OVER) continue;
        await this.o.notAttempted({ name: later.function.name, input: argsOf(later.function.arguments) ?? {} }, why);
        log.addEvent(incident.id, 'tool', `level 1: ${later.function.name} not attempted: ${why}`, { level: 1, tool: later.function.name });
      }
    };
    for (const [index, call] of calls.entries()) {
      const args = argsOf(call.function.arguments);
      if (call.function.name === HAND_OVER) {
        await skip(index, 'the first level handed the incident over in the same turn');
        const said = typeof args?.findings === 'string' && args.findings.trim() ? args.findings.trim() : this.lastText || 'no findings given';
        return this.finish('handover', cap(said, 2_000));
      }
      if (!args) {
        // Nothing to send to the gate: the call has no arguments to validate, only broken JSON.
        log.addEvent(incident.id, 'tool', `level 1: ${call.function.name} not sent: its arguments are not a JSON object`, { level: 1, tool: call.function.name });
        results.push({ role: 'tool', tool_call_id: call.id, content: '[invalid_input] the arguments are not a JSON object; call the tool again with a JSON object of its parameters.' });
        continue;
      }
      const { block, record } = await bridge.call({ id: call.id, name: call.function.name, input: args }, this.o.signal);
      this.actions.push(record);
      const verdict = record.ok ? 'ok' : `[${record.kind ?? 'error'}]`;
      log.addEvent(incident.id, 'tool', `level 1: ${record.tool} ${verdict}: ${cap(record.text.split('\n')[0] ?? '', 200)}`, { ...record, level: 1 });
      if (record.kind === 'approval_required' && record.approvalId) {
        await skip(index, `${record.tool} earlier in the same model turn is held for approval ${record.approvalId}`);
        const held: HeldCall = { tool: record.tool, args: record.args, approvalId: record.approvalId };
        return this.finish('held', `${held.tool} ${JSON.stringify(redactValue(held.args))} is held for approval ${held.approvalId}.${this.lastText ? ` The model said: ${cap(this.lastText)}` : ''}`, held);
      }
      results.push({ role: 'tool', tool_call_id: call.id, content: typeof block.content === 'string' ? block.content : JSON.stringify(block.content) });
    }
    return { results: [...results, ...unrun] };
  }
}

export async function runFirstLevel(o: FirstLevelOptions): Promise<FirstLevelResult> {
  return new FirstLevelRun(o).converse(await createToolBridge(o.client, o.logger));
}
