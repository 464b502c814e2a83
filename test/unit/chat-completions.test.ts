// The first level's chat-completions client against a real local HTTP server: what servers really
// send (Ollama without ids, arguments as objects), and what a broken one does (errors, garbage, a
// flood, a redirect, silence). Every failure is a ChatFailure with a short message; transient ones
// count against the breaker.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatFailure, chatClient } from '../../src/adapters/chat-completions.js';

let server: Server | undefined;
const seen: Array<{ url: string; headers: Record<string, unknown>; body: any }> = [];

afterEach(async () => {
  seen.length = 0;
  if (server) await new Promise<void>((r) => { server!.closeAllConnections(); server!.close(() => r()); });
  server = undefined;
});

async function serve(answer: (res: ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(parts).toString('utf8') || 'null') });
      answer(res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
}

const json = (status: number, body: unknown) => (res: ServerResponse) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(typeof body === 'string' ? body : JSON.stringify(body)); };
const ask = (baseUrl: string, over: { timeoutMs?: number; maxReplyBytes?: number; apiKey?: string } = {}) =>
  chatClient({ baseUrl, timeoutMs: over.timeoutMs ?? 5_000, ...over }).complete({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] });
const failure = async (p: Promise<unknown>): Promise<ChatFailure> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChatFailure);
  return err as ChatFailure;
};

describe('chatClient', () => {
  it('posts to <baseUrl>/chat/completions with the key as a bearer and reads an Ollama-style reply', async () => {
    const base = await serve(json(200, {
      model: 'qwen3', choices: [{ finish_reason: 'tool_calls', message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] } }],
      usage: { prompt_tokens: 12, completion_tokens: 3 },
    }));
    const r = await ask(base, { apiKey: 'k-123' });
    expect(seen[0]).toMatchObject({ url: '/v1/chat/completions', headers: { authorization: 'Bearer k-123' }, body: { model: 'm', stream: false, tool_choice: 'auto' } });
    expect(r).toMatchObject({ model: 'qwen3', content: '', finishReason: 'tool_calls', promptTokens: 12, completionTokens: 3 });
    expect(r.toolCalls).toEqual([{ id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'f', arguments: '{"a":1}' } }]);
  });

  it('sends no authorization header without a key', async () => {
    const base = await serve(json(200, { choices: [{ message: { content: 'ok' } }] }));
    expect((await ask(base)).content).toBe('ok');
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it.each([
    [500, true], [503, true], [429, true], [400, false], [404, false], [401, false],
  ])('a %i is a failure, transient: %s, with a one-line excerpt', async (status, transient) => {
    const base = await serve(json(status, { error: { message: `model\n"m" went\twrong` } }));
    const f = await failure(ask(base));
    expect(f).toMatchObject({ code: String(status), transient });
    expect(f.message).toMatch(new RegExp(`^${status}: `));
    expect(f.message).not.toMatch(/\n/);
  });

  it.each([
    ['an HTML page', '<html>502 Bad Gateway</html>'],
    ['an empty object', '{}'],
    ['no choices', '{"choices":[]}'],
    ['a cut-off JSON', '{"choices":[{"message":'],
  ])('garbage (%s) is a transient failure', async (_what, body) => {
    const base = await serve(json(200, body));
    expect(await failure(ask(base))).toMatchObject({ code: 'garbage', transient: true });
  });

  it('stops reading an answer larger than the cap', async () => {
    const base = await serve((res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('x'.repeat(64 * 1024)); });
    expect(await failure(ask(base, { maxReplyBytes: 1024 }))).toMatchObject({ code: 'too_large' });
  });

  it('never follows a redirect (the key must not travel elsewhere)', async () => {
    const base = await serve((res) => { res.writeHead(307, { location: 'http://127.0.0.2:9/v1/chat/completions' }); res.end(); });
    expect(await failure(ask(base, { apiKey: 'k' }))).toMatchObject({ code: 'connection', transient: true });
    expect(seen).toHaveLength(1);
  });

  it('gives up at its deadline on a server that never answers', async () => {
    const base = await serve(() => undefined);
    expect(await failure(ask(base, { timeoutMs: 300 }))).toMatchObject({ code: 'timeout', transient: true });
  });

  it('says it cannot connect, naming the origin only', async () => {
    const base = await serve(json(200, {}));
    await new Promise<void>((r) => { server!.close(() => r()); });
    server = undefined;
    const f = await failure(ask(base));
    expect(f).toMatchObject({ code: 'connection' });
    expect(f.message).toMatch(/^no connection to http:\/\/127\.0\.0\.1:\d+/);
    expect(f.message).not.toContain('/v1');
  });
});
