// A scripted Anthropic Messages API on 127.0.0.1 for the real @anthropic-ai/sdk: each
// POST /v1/messages consumes the next turn of a script and answers it as JSON or as SSE, the way
// the API does. Anything unexpected (script exhausted, a turn's expectation not met, a scripted
// tool_use naming a tool the request did not offer, an invalid request) is answered with an error
// the SDK does not retry and recorded as a failure that assertDone() throws.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id?: string; name: string; input: Record<string, unknown> };

/** Declarative checks on a request; every field given must hold. */
export interface RequestMatcher {
  /** Exactly these tool names are offered (order ignored). */
  tools?: string[];
  /** At least these tool names are offered. */
  toolsInclude?: string[];
  /** None of these tool names is offered. */
  toolsExclude?: string[];
  /** The last tool_result of the last user message: its text content, or more. */
  lastToolResult?: string | RegExp | { toolUseId?: string; content?: string | RegExp; isError?: boolean };
  /** Text of the last user message (text blocks and string content). */
  lastUserText?: string | RegExp;
  system?: string | RegExp;
  stream?: boolean;
}

/** A predicate on the request: false, a string (the reason) or a throw fails it. */
export type RequestPredicate = (req: RecordedRequest) => boolean | string | void;

interface TurnCommon {
  expect?: RequestMatcher | RequestPredicate;
  /** Wait this long before answering (timeouts, slow model). */
  delayMs?: number;
}

export interface ScriptedResponse extends TurnCommon {
  content: ScriptedBlock[];
  /** Default: 'tool_use' when a tool_use block is present, else 'end_turn'. */
  stop_reason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal';
  usage?: { input_tokens?: number; output_tokens?: number };
  /** Default: the model the request named. */
  model?: string;
  /** A confused or hostile model: its tool_use blocks may name tools the request did not offer. */
  inventsTools?: boolean;
}

export interface ScriptedError extends TurnCommon {
  error: {
    status: number;
    /** Default from the status: 429 rate_limit_error, 529 overloaded_error, 500 api_error, ... */
    type?: string;
    message?: string;
    /** Sent as the `retry-after` header (seconds), as the API does on 429/529. */
    retryAfter?: number | string;
    headers?: Record<string, string>;
    /**
     * For a streaming request: answer 200, send message_start and a ping, then an SSE `error`
     * event, as the API does when it overloads mid-stream. The SDK does not retry these.
     */
    midStream?: boolean;
  };
}

/** A broken upstream or proxy: answers exactly this, whatever the request (an HTML page, `{}`, a cut-off JSON). */
export interface ScriptedRaw extends TurnCommon {
  raw: { status?: number; contentType?: string; body: string };
}

export type ScriptedTurn = ScriptedResponse | ScriptedError | ScriptedRaw;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: any;
  stream: boolean;
  /** Index of the script turn this request consumed; -1 when none. */
  turn: number;
  /** Status we answered with. */
  status: number;
}

export interface MessagesApi {
  /** For `new Anthropic({ baseURL, apiKey })`: `http://127.0.0.1:PORT`. */
  baseURL: string;
  requests: RecordedRequest[];
  failures: string[];
  /** Turns not consumed yet. */
  remaining(): number;
  /** Throws when a failure was recorded or turns are left over. */
  assertDone(): void;
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error', 403: 'permission_error',
  404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error',
  504: 'timeout_error', 529: 'overloaded_error',
};

const b62 = (n: number): string =>
  [...randomBytes(n)].map((b) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[b % 62]).join('');
export const newId = (prefix: 'msg' | 'toolu' | 'req'): string => `${prefix}_01${b62(22)}`;

// ---- reading requests -------------------------------------------------------------------------

/** Names of the tools a request offers. */
export function toolNames(body: any): string[] {
  return Array.isArray(body?.tools) ? body.tools.map((t: any) => String(t?.name)) : [];
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b: any) => (b?.type === 'text' ? String(b.text) : '')).join('');
}

/** The tool_result blocks of the last user message, content flattened to text. */
export function lastToolResults(body: any): { toolUseId: string; content: string; isError: boolean }[] {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = msgs[msgs.length - 1];
  if (last?.role !== 'user' || !Array.isArray(last.content)) return [];
  return last.content
    .filter((b: any) => b?.type === 'tool_result')
    .map((b: any) => ({ toolUseId: String(b.tool_use_id), content: textOf(b.content), isError: b.is_error === true }));
}

/** The API key a request carried: `x-api-key`, or `Authorization: Bearer` (how SDK 1.x sends apiKey). */
export function apiKeyOf(rec: Pick<RecordedRequest, 'headers'>): string | undefined {
  return rec.headers['x-api-key'] ?? rec.headers.authorization?.replace(/^Bearer /, '');
}

function matches(actual: string, want: string | RegExp): boolean {
  return typeof want === 'string' ? actual === want : want.test(actual);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

/** Why the request does not match, or null when it does. */
export function mismatch(m: RequestMatcher, body: any): string | null {
  const offered = toolNames(body);
  if (m.tools && !sameSet(offered, m.tools)) return `tools offered [${offered}] are not exactly [${m.tools}]`;
  const missing = (m.toolsInclude ?? []).filter((t) => !offered.includes(t));
  if (missing.length) return `tools [${missing}] not offered (offered: [${offered}])`;
  const extra = (m.toolsExclude ?? []).filter((t) => offered.includes(t));
  if (extra.length) return `tools [${extra}] offered but must not be`;
  if (m.stream !== undefined && (body?.stream === true) !== m.stream) return `stream is ${body?.stream === true}`;
  if (m.system !== undefined && !matches(textOf(body?.system), m.system)) return `system prompt ${JSON.stringify(textOf(body?.system))} does not match ${m.system}`;
  if (m.lastUserText !== undefined) {
    const msgs: any[] = body?.messages ?? [];
    const last = msgs[msgs.length - 1];
    const text = last?.role === 'user' ? textOf(last.content) : '';
    if (!matches(text, m.lastUserText)) return `last user text ${JSON.stringify(text)} does not match ${m.lastUserText}`;
  }
  if (m.lastToolResult !== undefined) {
    const r = lastToolResults(body).at(-1);
    if (!r) return 'the last user message carries no tool_result';
    const want = typeof m.lastToolResult === 'string' || m.lastToolResult instanceof RegExp
      ? { content: m.lastToolResult } : m.lastToolResult;
    if (want.toolUseId !== undefined && r.toolUseId !== want.toolUseId) return `last tool_result is for ${r.toolUseId}, not ${want.toolUseId}`;
    if (want.isError !== undefined && r.isError !== want.isError) return `last tool_result is_error is ${r.isError}`;
    if (want.content !== undefined && !matches(r.content, want.content)) return `last tool_result ${JSON.stringify(r.content)} does not match ${want.content}`;
  }
  return null;
}

/** The checks the real API makes that a client bug would trip; null when the request is valid. */
export function invalidRequest(body: any): string | null {
  if (typeof body !== 'object' || body === null) return 'body is not a JSON object';
  if (typeof body.model !== 'string') return 'model: Field required';
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: at least one message is required';
  const msgs: any[] = body.messages;
  for (let i = 0; i < msgs.length; i += 1) {
    const ids: string[] = Array.isArray(msgs[i].content)
      ? msgs[i].content.filter((b: any) => b?.type === 'tool_use').map((b: any) => String(b.id)) : [];
    if (msgs[i].role !== 'assistant' || ids.length === 0) continue;
    const next = msgs[i + 1];
    const answered = new Set(Array.isArray(next?.content)
      ? next.content.filter((b: any) => b?.type === 'tool_result').map((b: any) => String(b.tool_use_id)) : []);
    const unanswered = ids.filter((id) => !answered.has(id));
    if (next && unanswered.length) {
      return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
  }
  return null;
}

// ---- building responses -----------------------------------------------------------------------

function usageOf(turn: ScriptedResponse, output: number): Record<string, unknown> {
  return {
    input_tokens: turn.usage?.input_tokens ?? 100,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    service_tier: 'standard',
  };
}

/** The complete Message object for a scripted response. */
export function messageFor(turn: ScriptedResponse, model: string): Record<string, any> {
  const content = turn.content.map((b) =>
    b.type === 'text' ? { type: 'text', text: b.text } : { type: 'tool_use', id: b.id ?? newId('toolu'), name: b.name, input: b.input });
  return {
    id: newId('msg'),
    type: 'message',
    role: 'assistant',
    model: turn.model ?? model,
    content,
    stop_reason: turn.stop_reason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    stop_details: null,
    container: null,
    usage: usageOf(turn, turn.usage?.output_tokens ?? 20),
  };
}

function chunks(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

/** The SSE events the API sends for `msg`, in order. */
export function sseEvents(msg: Record<string, any>): { event: string; data: Record<string, unknown> }[] {
  const ev = (event: string, data: Record<string, unknown>): { event: string; data: Record<string, unknown> } => ({ event, data: { type: event, ...data } });
  const out = [ev('message_start', { message: { ...msg, content: [], stop_reason: null, stop_sequence: null, stop_details: null, usage: { ...msg.usage, output_tokens: 1 } } })];
  msg.content.forEach((block: any, index: number) => {
    if (block.type === 'text') {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      if (index === 0) out.push(ev('ping', {}));
      for (const text of block.text.match(/\S*\s*/g).filter(Boolean)) out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text } }));
    } else {
      out.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }));
      if (index === 0) out.push(ev('ping', {}));
      for (const partial_json of ['', ...chunks(JSON.stringify(block.input), 12)]) out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } }));
    }
    out.push(ev('content_block_stop', { index }));
  });
  const u = msg.usage;
  out.push(ev('message_delta', {
    delta: { stop_reason: msg.stop_reason, stop_sequence: null, stop_details: null },
    usage: { input_tokens: u.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: u.output_tokens },
  }));
  out.push(ev('message_stop', {}));
  return out;
}

function errorBody(status: number, message: string, type?: string): Record<string, unknown> {
  return { type: 'error', error: { type: type ?? ERROR_TYPES[status] ?? 'api_error', message } };
}

function sendError(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}, type?: string): void {
  const requestId = newId('req');
  const body = { ...errorBody(status, message, type), request_id: requestId };
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...extra });
  res.end(JSON.stringify(body));
}

// ---- the server -------------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<any> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  try { return JSON.parse(Buffer.concat(parts).toString('utf8')); } catch { return undefined; }
}

function checkTurn(turn: ScriptedTurn, rec: RecordedRequest): string | null {
  if (typeof turn.expect === 'function') {
    try {
      const r = turn.expect(rec);
      if (r === false) return 'expectation returned false';
      if (typeof r === 'string') return r;
    } catch (err) { return `expectation threw: ${(err as Error).message}`; }
  } else if (turn.expect) {
    const why = mismatch(turn.expect, rec.body);
    if (why) return why;
  }
  if ('content' in turn && !turn.inventsTools) {
    const offered = toolNames(rec.body);
    const bad = turn.content.filter((b) => b.type === 'tool_use' && !offered.includes(b.name)).map((b) => (b as { name: string }).name);
    if (bad.length) return `the script answers with tool_use [${bad}] but the request offered only [${offered}]`;
  }
  return null;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const sse = (event: string, data: Record<string, unknown>): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function answer(turn: ScriptedTurn, rec: RecordedRequest, res: ServerResponse): void {
  if ('raw' in turn) {
    rec.status = turn.raw.status ?? 200;
    res.writeHead(rec.status, { 'content-type': turn.raw.contentType ?? 'application/json', 'request-id': newId('req') });
    res.end(turn.raw.body);
    return;
  }
  if ('error' in turn && turn.error.midStream && rec.stream) {
    const e = turn.error;
    const start = sseEvents(messageFor({ content: [] }, String(rec.body.model)))[0]!;
    rec.status = 200;
    res.writeHead(200, { ...SSE_HEADERS, 'request-id': newId('req') });
    res.write(sse(start.event, start.data) + sse('ping', { type: 'ping' }));
    res.end(sse('error', errorBody(e.status, e.message ?? (e.status === 529 ? 'Overloaded' : `scripted ${e.status}`), e.type)));
    return;
  }
  if ('error' in turn) {
    const e = turn.error;
    const extra: Record<string, string> = { ...(e.retryAfter !== undefined ? { 'retry-after': String(e.retryAfter) } : {}), ...e.headers };
    rec.status = e.status;
    sendError(res, e.status, e.message ?? (e.status === 529 ? 'Overloaded' : `scripted ${e.status}`), extra, e.type);
    return;
  }
  const msg = messageFor(turn, String(rec.body.model));
  rec.status = 200;
  const requestId = newId('req');
  if (!rec.stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': requestId });
    res.end(JSON.stringify(msg));
    return;
  }
  res.writeHead(200, { ...SSE_HEADERS, 'request-id': requestId });
  for (const e of sseEvents(msg)) res.write(sse(e.event, e.data));
  res.end();
}

export async function startMessagesApi(script: ScriptedTurn[]): Promise<MessagesApi> {
  const turns = [...script];
  let next = 0;
  const requests: RecordedRequest[] = [];
  const failures: string[] = [];
  const fail = (res: ServerResponse, rec: RecordedRequest, status: number, why: string): void => {
    const message = `scripted Messages API: request #${requests.length} ${rec.method} ${rec.path}: ${why}`;
    failures.push(message);
    rec.status = status;
    sendError(res, status, message, { 'x-should-retry': 'false' });
  };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
      const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers, body, stream: body?.stream === true, turn: -1, status: 0 };
      requests.push(rec);
      if (rec.method !== 'POST' || rec.path.split('?')[0] !== '/v1/messages') return fail(res, rec, 404, 'no such endpoint in the scripted API');
      if (!apiKeyOf(rec)) return fail(res, rec, 401, 'no x-api-key or Authorization header');
      const invalid = invalidRequest(body);
      if (invalid) return fail(res, rec, 400, invalid);
      const turn = turns[next];
      if (!turn) return fail(res, rec, 500, `script exhausted: all ${turns.length} turn(s) consumed, no answer for this request`);
      rec.turn = next;
      next += 1;
      const why = checkTurn(turn, rec);
      if (why) return fail(res, rec, 500, `turn ${rec.turn}: ${why}`);
      if (turn.delayMs) await new Promise((r) => setTimeout(r, turn.delayMs));
      answer(turn, rec, res);
    })().catch((err: unknown) => {
      failures.push(`scripted Messages API crashed: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendError(res, 500, 'scripted Messages API crashed', { 'x-should-retry': 'false' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    failures,
    remaining: () => turns.length - next,
    assertDone: () => {
      const problems = [...failures];
      if (next < turns.length) problems.push(`scripted Messages API: ${turns.length - next} of ${turns.length} turn(s) never requested`);
      if (problems.length) throw new Error(problems.join('\n'));
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
