// The one outbound call of the loop's first level: POST <baseUrl>/chat/completions on an
// OpenAI-compatible server (Ollama, llama.cpp's server, vLLM). Plain fetch rather than the openai
// package: one endpoint, a deadline and a cap on the answer's size (the SDK has no size cap), no
// retries (a failure hands the incident to Claude), and nothing read from OPENAI_* variables behind
// config.ts. It never follows a redirect (the key must not travel elsewhere) and never puts the
// server's raw words in an error beyond a short, single-line excerpt.
import { z } from 'zod';

/** Far above any sane reply of a chat model: a server streaming junk is cut off here. */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  maxTokens?: number;
}

export interface ChatReply {
  model: string;
  content: string;
  toolCalls: ChatToolCall[];
  /** stop, tool_calls, length, content_filter, or whatever the server says; null when it says nothing. */
  finishReason: string | null;
  promptTokens: number;
  completionTokens: number;
}

/** Why a request failed: transient ones (down, timing out, 5xx, 429, garbage) count against the breaker. */
export class ChatFailure extends Error {
  constructor(readonly code: string, message: string, readonly transient: boolean) {
    super(message);
    this.name = 'ChatFailure';
  }
}

/**
 * The least of a reply the loop reads. Servers differ in what they add (Ollama omits ids, llama.cpp
 * sends nulls), so anything beyond these fields is ignored, and a tool call without an id gets one.
 */
const Reply = z.looseObject({
  model: z.string().optional(),
  choices: z.array(z.looseObject({
    finish_reason: z.string().nullish(),
    message: z.looseObject({
      content: z.string().nullish(),
      tool_calls: z.array(z.looseObject({
        id: z.string().nullish(),
        function: z.looseObject({ name: z.string(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish() }),
      })).nullish(),
    }),
  })).min(1),
  usage: z.looseObject({ prompt_tokens: z.number().nonnegative(), completion_tokens: z.number().nonnegative() }).nullish(),
});

export interface ChatClientOptions {
  /** The API root, e.g. http://127.0.0.1:11434/v1 (validated by the config). */
  baseUrl: string;
  apiKey?: string;
  /** One request, connect to last byte. */
  timeoutMs: number;
  maxReplyBytes?: number;
}

export interface ChatClient {
  complete(req: ChatRequest, signal?: AbortSignal): Promise<ChatReply>;
}

/** A short, single-line excerpt of what a server said, for a log line and the timeline. */
const excerpt = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 200);

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new ChatFailure('too_large', `the answer is larger than ${max} bytes`, true);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

function replyOf(body: string, id: () => string): ChatReply {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ChatFailure('garbage', 'the answer is not JSON', true);
  }
  const parsed = Reply.safeParse(json);
  if (!parsed.success) throw new ChatFailure('garbage', 'the answer is not a chat completion', true);
  const r = parsed.data;
  const choice = r.choices[0]!;
  const toolCalls = (choice.message.tool_calls ?? []).map((c): ChatToolCall => ({
    id: c.id || id(),
    type: 'function',
    // Some servers send the arguments as an object rather than a JSON string: one form from here on.
    function: { name: c.function.name, arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments ?? {}) },
  }));
  return {
    model: r.model ?? '', content: choice.message.content ?? '', toolCalls, finishReason: choice.finish_reason ?? null,
    promptTokens: r.usage?.prompt_tokens ?? 0, completionTokens: r.usage?.completion_tokens ?? 0,
  };
}

export function chatClient(opts: ChatClientOptions): ChatClient {
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const max = opts.maxReplyBytes ?? MAX_REPLY_BYTES;
  let calls = 0;
  return {
    async complete(req, signal) {
      const deadline = AbortSignal.timeout(opts.timeoutMs);
      const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
      const body = {
        model: req.model, messages: req.messages, stream: false,
        ...(req.tools?.length ? { tools: req.tools, tool_choice: 'auto' } : {}),
        ...(req.maxTokens ? { max_tokens: req.maxTokens } : {}),
      };
      try {
        const res = await fetch(url, {
          method: 'POST', redirect: 'error', signal: both,
          headers: { 'content-type': 'application/json', accept: 'application/json', ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}) },
          body: JSON.stringify(body),
        });
        const text = await readCapped(res, max);
        if (!res.ok) {
          const transient = res.status === 408 || res.status === 429 || res.status >= 500;
          throw new ChatFailure(String(res.status), `${res.status}${text ? `: ${excerpt(text)}` : ''}`, transient);
        }
        calls += 1;
        return replyOf(text, () => `call_${calls}_${Math.random().toString(36).slice(2, 10)}`);
      } catch (err) {
        if (signal?.aborted) throw signal.reason ?? err;
        if (err instanceof ChatFailure) throw err;
        if (deadline.aborted) throw new ChatFailure('timeout', `no answer within ${opts.timeoutMs} ms`, true);
        // fetch's own TypeError (refused, reset, DNS, a redirect refused): its cause names the code.
        const cause = (err as { cause?: { code?: unknown } }).cause?.code;
        throw new ChatFailure('connection', `no connection to ${new URL(url).origin}${typeof cause === 'string' ? ` (${cause})` : ''}`, true);
      }
    },
  };
}
