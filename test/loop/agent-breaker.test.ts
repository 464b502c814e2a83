// The agent when the Messages API misbehaves: a garbage answer is a model failure (the runbooks act),
// never an internal error; the API's own failures count on its circuit breaker, a refusal does not.
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerBoard } from '../../src/adapters/breakers.js';
import { modelBreaker } from '../../src/loop/agent.js';
import { agentWorld, type AgentWorld } from '../support/agent.js';
import { fakeAdapters } from '../support/fake-docker.js';
import type { ScriptedTurn } from '../support/messages-api.js';

const open: AgentWorld[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

async function world(script: ScriptedTurn[]): Promise<AgentWorld> {
  const w = await agentWorld({ script, adapters: fakeAdapters(), loop: { maxRetries: 0 } });
  open.push(w);
  return w;
}

const outcomes = (w: AgentWorld): string[] =>
  (w.rt.db.prepare('SELECT outcome FROM model_calls WHERE incident_id = ? ORDER BY id').all(w.incident.id) as { outcome: string }[]).map((r) => r.outcome);

describe('the agent and a misbehaving Messages API', () => {
  it.each([
    ['an HTML page from a proxy', { body: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' }],
    ['an empty JSON object', { body: '{}' }],
    ['JSON cut off mid-way', { body: '{"type":"message","content":[{"type":"te' }],
    ['a text block without its text', { body: JSON.stringify({ type: 'message', id: 'm', role: 'assistant', model: 'x', content: [{ type: 'text' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } }) }],
    ['a message without usage', { body: JSON.stringify({ type: 'message', id: 'm', role: 'assistant', model: 'x', content: [], stop_reason: 'end_turn' }) }],
  ])('treats %s as Claude being unreachable (the runbooks act), not as an internal error', async (_what, raw) => {
    const w = await world([{ raw }]);
    const r = await w.run();
    w.api.assertDone();
    expect(r).toMatchObject({ outcome: 'unreachable', turns: 0, actions: [], summary: expect.stringMatching(/^Claude could not be reached: the answer (is not a message|could not be read)/) });
    expect(outcomes(w)).toEqual(['error:garbage']);
  });

  it("counts the API's failures and garbage on its breaker; a refused request does not count; once open, no request is sent", async () => {
    const w = await world([
      { error: { status: 400, message: 'bad request' } },
      { error: { status: 500 } },
      { raw: { body: '{}' } },
      { error: { status: 503 } },
    ]);
    const board = new BreakerBoard({ failures: 3, halfOpenMs: 60_000 });
    const breaker = modelBreaker(board);
    expect((await w.run({ breaker })).outcome).toBe('refused');
    expect(breaker.view().failures).toBe(0);
    for (let i = 0; i < 3; i += 1) expect((await w.run({ breaker })).outcome).toBe('unreachable');
    expect(breaker.view()).toMatchObject({ state: 'open', failures: 3 });
    const r = await w.run({ breaker });
    expect(r).toMatchObject({ outcome: 'unreachable', summary: expect.stringMatching(/messages-api is failing \(3 failures in a row.*circuit breaker is open until/) });
    expect(w.api.requests).toHaveLength(4);
    expect(outcomes(w).at(-1)).toBe('error:breaker_open');
    w.api.assertDone();
  });
});
