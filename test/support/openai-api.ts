// A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (what Ollama, llama.cpp's server
// and vLLM expose): each POST /v1/chat/completions consumes the next turn of a script and answers it
// as JSON. Anything unexpected (script exhausted, a turn's expectation not met, a scripted tool call
// naming a function the request did not offer, an invalid request) is answered 500 and recorded as a
// failure that assertDone() throws. The twin of messages-api.ts.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedCall {
  name: string;
  /** An object is sent as its JSON; a string is sent as is (a model writing broken JSON). */
  arguments: Record<string, unknown> | string;
  id?: string;
}

export interface ChatRecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
  turn: number;
  status: number;
}

export type ChatPredicate = (req: ChatRecordedRequest) => boolean | string | void;

interface TurnCommon {
  expect?: ChatPredicate;
  delayMs?: number;
}

export interface ChatScriptedReply extends TurnCommon {
  content?: string;
  toolCalls?: ScriptedCall[];
  /** Default: tool_calls when there are any, else stop. */
  finishReason?: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  /** A confused or hostile model: its tool calls may name functions the request did not offer. */
  inventsTools?: boolean;
}

export interface ChatScriptedError extends TurnCommon {
  error: { status: number; message?: string };
}

export interface ChatScriptedRaw extends TurnCommon {
  raw: { status?: number; contentType?: string; body: string };
}

export type ChatTurn = ChatScriptedReply | ChatScriptedError | ChatScriptedRaw;

export interface OpenAiApi {
  /** The API root for loop.firstLevel.baseUrl: `http://127.0.0.1:PORT/v1`. */
  baseUrl: string;
  requests: ChatRecordedRequest[];
  failures: string[];
  remaining(): number;
  assertDone(): void;
  close(): Promise<void>;
}

/** The function names a request offers. */
export function functionNames(body: any): string[] {
  return Array.isArray(body?.tools) ? body.tools.map((t: any) => String(t?.function?.name)) : [];
}

/** Every text of a request's messages, joined: what a prompt assertion searches. */
export function requestText(body: any): string {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  return msgs.map((m) => (typeof m?.content === 'string' ? m.content : '')).join('\n');
}

/** The tool messages after the last assistant message: the results of its calls. */
export function lastToolResults(body: any): { toolCallId: string; content: string }[] {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const out: { toolCallId: string; content: string }[] = [];
  for (let i = msgs.length - 1; i >= 0 && msgs[i]?.role === 'tool'; i -= 1) out.unshift({ toolCallId: String(msgs[i].tool_call_id), content: String(msgs[i].content) });
  return out;
}

/** The checks a real server makes that a client bug would trip; null when the request is valid. */
function invalidRequest(body: any): string | null {
  if (typeof body !== 'object' || body === null) return 'body is not a JSON object';
  if (typeof body.model !== 'string' || body.model === '') return 'model is required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages must be a non-empty array';
  if (body.stream === true) return 'this scripted server does not stream';
  const msgs: any[] = body.messages;
  for (let i = 0; i < msgs.length; i += 1) {
    const calls: string[] = Array.isArray(msgs[i].tool_calls) ? msgs[i].tool_calls.map((c: any) => String(c.id)) : [];
    if (msgs[i].role !== 'assistant' || calls.length === 0) continue;
    const answered = new Set<string>();
    for (let j = i + 1; j < msgs.length && msgs[j].role === 'tool'; j += 1) answered.add(String(msgs[j].tool_call_id));
    const missing = calls.filter((id) => !answered.has(id));
    if (i + 1 < msgs.length && missing.length) return `messages.${i}: tool_calls ${missing.join(', ')} have no tool message after them`;
  }
  return null;
}

const callId = (): string => `call_${randomBytes(6).toString('hex')}`;

function completionFor(turn: ChatScriptedReply, model: string): Record<string, unknown> {
  const toolCalls = (turn.toolCalls ?? []).map((c) => ({
    id: c.id ?? callId(), type: 'function',
    function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
  }));
  return {
    id: `chatcmpl-${randomBytes(6).toString('hex')}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: turn.content ?? null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
      finish_reason: turn.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
    }],
    usage: { prompt_tokens: turn.usage?.prompt_tokens ?? 50, completion_tokens: turn.usage?.completion_tokens ?? 10, total_tokens: (turn.usage?.prompt_tokens ?? 50) + (turn.usage?.completion_tokens ?? 10) },
  };
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<any> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  try { return JSON.parse(Buffer.concat(parts).toString('utf8')); } catch { return undefined; }
}

function checkTurn(turn: ChatTurn, rec: ChatRecordedRequest): string | null {
  if (turn.expect) {
    try {
      const r = turn.expect(rec);
      if (r === false) return 'expectation returned false';
      if (typeof r === 'string') return r;
    } catch (err) { return `expectation threw: ${(err as Error).message}`; }
  }
  if ('toolCalls' in turn && turn.toolCalls && !turn.inventsTools) {
    const offered = functionNames(rec.body);
    const bad = turn.toolCalls.filter((c) => !offered.includes(c.name)).map((c) => c.name);
    if (bad.length) return `the script answers with tool calls [${bad}] but the request offered only [${offered}]`;
  }
  return null;
}

export async function startOpenAiApi(script: ChatTurn[]): Promise<OpenAiApi> {
  const turns = [...script];
  let next = 0;
  const requests: ChatRecordedRequest[] = [];
  const failures: string[] = [];
  const fail = (res: ServerResponse, rec: ChatRecordedRequest, status: number, why: string): void => {
    const message = `scripted OpenAI-compatible API: request #${requests.length} ${rec.method} ${rec.path}: ${why}`;
    failures.push(message);
    rec.status = status;
    send(res, status, { error: { message, type: 'invalid_request_error' } });
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
      const rec: ChatRecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers, body, turn: -1, status: 0 };
      requests.push(rec);
      if (rec.method !== 'POST' || rec.path !== '/v1/chat/completions') return fail(res, rec, 404, 'no such endpoint in the scripted API');
      const invalid = invalidRequest(body);
      if (invalid) return fail(res, rec, 400, invalid);
      const turn = turns[next];
      if (!turn) return fail(res, rec, 500, `script exhausted: all ${turns.length} turn(s) consumed, no answer for this request`);
      rec.turn = next;
      next += 1;
      const why = checkTurn(turn, rec);
      if (why) return fail(res, rec, 500, `turn ${rec.turn}: ${why}`);
      if (turn.delayMs) await new Promise((r) => setTimeout(r, turn.delayMs));
      if ('raw' in turn) {
        rec.status = turn.raw.status ?? 200;
        return send(res, rec.status, turn.raw.body, turn.raw.contentType);
      }
      if ('error' in turn) {
        rec.status = turn.error.status;
        return send(res, rec.status, { error: { message: turn.error.message ?? `scripted ${turn.error.status}`, type: 'server_error' } });
      }
      rec.status = 200;
      send(res, 200, completionFor(turn, String(body.model)));
    })().catch((err: unknown) => {
      failures.push(`scripted OpenAI-compatible API crashed: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) send(res, 500, { error: { message: 'crashed' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests, failures,
    remaining: () => turns.length - next,
    assertDone: () => {
      const problems = [...failures];
      if (next < turns.length) problems.push(`scripted OpenAI-compatible API: ${turns.length - next} of ${turns.length} turn(s) never requested`);
      if (problems.length) throw new Error(problems.join('\n'));
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
