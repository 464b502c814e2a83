import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { apiKeyOf, startMessagesApi, type MessagesApi, type ScriptedTurn } from './support/messages-api.js';

const MODEL = 'claude-test-model';
const TOOLS: Anthropic.Tool[] = [
  { name: 'list_containers', description: 'List containers', input_schema: { type: 'object', properties: { all: { type: 'boolean' } } } },
  { name: 'restart_container', description: 'Restart one', input_schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
];
const ASK: Anthropic.MessageParam[] = [{ role: 'user', content: 'web is down, fix it' }];
const TOOL_TURN: ScriptedTurn = {
  content: [
    { type: 'text', text: 'Let me check the containers first.' },
    { type: 'tool_use', id: 'toolu_01TEST', name: 'list_containers', input: { all: true, filter: { label: 'app=web' } } },
  ],
  usage: { input_tokens: 321, output_tokens: 45 },
};

const servers: MessagesApi[] = [];
async function api(script: ScriptedTurn[]): Promise<{ server: MessagesApi; client: Anthropic }> {
  const server = await startMessagesApi(script);
  servers.push(server);
  return { server, client: new Anthropic({ baseURL: server.baseURL, apiKey: 'test' }) };
}

describe('scripted Messages API', () => {
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('answers a non-streaming request with the scripted tool_use', async () => {
    const { server, client } = await api([TOOL_TURN]);
    const msg = await client.messages.create({ model: MODEL, max_tokens: 1024, tools: TOOLS, messages: ASK });
    expect(msg).toMatchObject({ type: 'message', role: 'assistant', model: MODEL, stop_reason: 'tool_use', usage: { input_tokens: 321, output_tokens: 45 } });
    expect(msg.id).toMatch(/^msg_01/);
    expect(msg.content).toEqual([
      { type: 'text', text: 'Let me check the containers first.' },
      { type: 'tool_use', id: 'toolu_01TEST', name: 'list_containers', input: { all: true, filter: { label: 'app=web' } } },
    ]);
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/v1/messages', stream: false });
    expect(apiKeyOf(server.requests[0]!)).toBe('test');
    expect(server.requests[0]?.body.tools.map((t: Anthropic.Tool) => t.name)).toEqual(['list_containers', 'restart_container']);
    server.assertDone();
  });

  it('streams the scripted tool_use as SSE that finalMessage() assembles', async () => {
    const { server, client } = await api([TOOL_TURN]);
    const stream = client.messages.stream({ model: MODEL, max_tokens: 1024, tools: TOOLS, messages: ASK });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const msg = await stream.finalMessage();
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.usage).toMatchObject({ input_tokens: 321, output_tokens: 45 });
    expect(msg.content[0]).toEqual({ type: 'text', text: 'Let me check the containers first.' });
    expect(msg.content[1]).toEqual({ type: 'tool_use', id: 'toolu_01TEST', name: 'list_containers', input: { all: true, filter: { label: 'app=web' } } });
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.join('')).toBe('Let me check the containers first.');
    expect(server.requests[0]?.stream).toBe(true);
    server.assertDone();
  });

  it('is retried by the SDK after a 429 with retry-after, then succeeds', async () => {
    const { server, client } = await api([
      { error: { status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', retryAfter: '0.05' } },
      { content: [{ type: 'text', text: 'ok' }] },
    ]);
    const msg = await client.messages.create({ model: MODEL, max_tokens: 64, messages: ASK });
    expect(msg.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
    server.assertDone();
  });

  it('surfaces an overloaded 529 with the API error shape once retries run out', async () => {
    const { server, client } = await api([{ error: { status: 529, retryAfter: '0.01' } }]);
    const err = await client.messages.create({ model: MODEL, max_tokens: 64, messages: ASK }, { maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 529, error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    expect((err as APIError).requestID).toMatch(/^req_/);
    server.assertDone();
  });

  it('reports an overload sent mid-stream as an SSE error event', async () => {
    const { server, client } = await api([{ error: { status: 529, midStream: true } }]);
    const err = await client.messages.stream({ model: MODEL, max_tokens: 64, messages: ASK }).finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    expect(server.requests.map((r) => r.status)).toEqual([200]);
    server.assertDone();
  });

  it('checks a turn expectation against the last tool_result', async () => {
    const { server, client } = await api([
      TOOL_TURN,
      { expect: { toolsInclude: ['restart_container'], lastToolResult: { toolUseId: 'toolu_01TEST', content: /web.*exited/ } }, content: [{ type: 'text', text: 'done' }] },
    ]);
    const first = await client.messages.create({ model: MODEL, max_tokens: 64, tools: TOOLS, messages: ASK });
    await client.messages.create({
      model: MODEL, max_tokens: 64, tools: TOOLS,
      messages: [...ASK, { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01TEST', content: [{ type: 'text', text: 'web: exited (1)' }] }] }],
    });
    server.assertDone();
  });

  it('fails loudly when a turn expectation is not met', async () => {
    const { server, client } = await api([{ expect: { tools: ['gpu_reset'] }, content: [{ type: 'text', text: 'x' }] }]);
    await expect(client.messages.create({ model: MODEL, max_tokens: 64, tools: TOOLS, messages: ASK })).rejects.toThrow(/turn 0: tools offered/);
    expect(() => server.assertDone()).toThrow(/not exactly \[gpu_reset\]/);
  });

  it('fails loudly when the script names a tool the request did not offer', async () => {
    const { server, client } = await api([{ content: [{ type: 'tool_use', name: 'gpu_reset', input: { index: 0 } }] }]);
    await expect(client.messages.create({ model: MODEL, max_tokens: 64, tools: TOOLS, messages: ASK })).rejects.toThrow(/gpu_reset/);
    expect(() => server.assertDone()).toThrow(/tool_use \[gpu_reset\] but the request offered only \[list_containers,restart_container\]/);
  });

  it('fails loudly, without SDK retries, when the script runs out', async () => {
    const { server, client } = await api([{ content: [{ type: 'text', text: 'only turn' }] }]);
    await client.messages.create({ model: MODEL, max_tokens: 64, messages: ASK });
    expect(server.remaining()).toBe(0);
    await expect(client.messages.create({ model: MODEL, max_tokens: 64, messages: ASK })).rejects.toThrow(/script exhausted/);
    expect(server.requests).toHaveLength(2);
    expect(() => server.assertDone()).toThrow(/script exhausted/);
  });

  it('fails assertDone when scripted turns were never requested', async () => {
    const { server } = await api([{ content: [{ type: 'text', text: 'never asked' }] }]);
    expect(server.remaining()).toBe(1);
    expect(() => server.assertDone()).toThrow(/1 of 1 turn\(s\) never requested/);
  });

  it('rejects a tool_use left without its tool_result, like the API', async () => {
    const { server, client } = await api([TOOL_TURN, { content: [{ type: 'text', text: 'x' }] }]);
    const first = await client.messages.create({ model: MODEL, max_tokens: 64, tools: TOOLS, messages: ASK });
    const err = await client.messages.create({
      model: MODEL, max_tokens: 64, tools: TOOLS,
      messages: [...ASK, { role: 'assistant', content: first.content }, { role: 'user', content: 'and?' }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400 });
    expect(() => server.assertDone()).toThrow(/tool_use` ids were found without `tool_result`/);
  });
});
