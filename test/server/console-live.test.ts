// The console's live stream: a page hears `changed` when anything it shows moved in the database
// (here an audit entry, as every state change leaves one), from any process; one session cannot
// hold every stream; closing the gateway ends the streams.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signIn } from '../support/console-client.js';
import { useGateways } from '../support/http-gateway.js';

const gateway = useGateways();

/** Reads SSE events from a streaming response until `want` of them arrived. */
async function readEvents(res: Response, want: number, timeoutMs = 10_000): Promise<string[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  const events = (): string[] => [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]!);
  while (events().length < want && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), deadline - Date.now()))]);
    if (!chunk || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  await reader.cancel();
  return events();
}

describe('console live events', () => {
  it('says hello, then changed when an audit entry is written', async () => {
    const g = await gateway();
    const { client } = await signIn(g.url, g.token('ops', 'operator'));
    const res = await fetch(new URL('/console/events', g.url), { headers: { cookie: `warden_session=${client.cookie()}`, accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    setTimeout(() => g.rt.audit.append({
      callId: `t:${randomUUID()}`, principal: 'someone', transport: 'cli', tool: 'killswitch.on', target: 'killswitch', args: {}, argsHash: '', phase: 'completed', result: 'x',
    }), 1_500);
    expect(await readEvents(res, 2)).toEqual(['hello', 'changed']);
  });

  it('gives one session at most six streams', async () => {
    const g = await gateway();
    const { client } = await signIn(g.url, g.token('ops', 'operator'));
    const open = (): Promise<Response> => fetch(new URL('/console/events', g.url), { headers: { cookie: `warden_session=${client.cookie()}`, accept: 'text/event-stream' } });
    const first = await Promise.all(Array.from({ length: 6 }, open));
    expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const seventh = await open();
    expect(seventh.status).toBe(503);
    const other = await signIn(g.url, g.token('other', 'readonly'));
    const theirs = await fetch(new URL('/console/events', g.url), { headers: { cookie: `warden_session=${other.client.cookie()}`, accept: 'text/event-stream' } });
    expect(theirs.status).toBe(200);
    await Promise.all([...first, theirs].map((r) => r.body!.cancel()));
  });
});
