// Only `warden chaos run` speaks as principal chaos: a token of a reserved name made before the name
// was reserved (chaos and loop-n1 came later) is refused at sign-in, and never rotated into a new one.
import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { ContainerState } from '../../src/adapters/docker.js';
import { rotateToken } from '../../src/server/auth.js';
import { TokenStore } from '../../src/store/tokens.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { connectHttp, useGateways, type HttpClient } from '../support/http-gateway.js';

/** web-1 opted in, as docs/chaos.md asks. */
class OptedIn extends FakeDocker {
  override async containerState(ref: string): Promise<ContainerState> {
    const s = await super.containerState(ref);
    return { ...s, labels: { 'warden.chaos': 'true' } };
  }
}

// The rules docs/chaos.md gives: chaos may inject, nobody else.
const POLICY = [
  'rules:',
  '  - { name: chaos-may-inject, principal: chaos, tool: inject_fault, decision: allow }',
  '  - { name: nobody-else-injects, tool: inject_fault, decision: deny }',
].join('\n');

const gateways = useGateways();
const clients: HttpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

describe('a token named after a reserved principal', () => {
  it('made before the name was reserved cannot inject a fault as principal chaos over HTTP', async () => {
    const docker = new OptedIn();
    const g = await gateways.custom({ adapters: fakeAdapters(docker), config: 'tools:\n  enabled: [inject_fault]\n', policy: POLICY });
    // As `warden tokens create --principal chaos` stored it before b9f9f95: the store itself takes any name.
    const old = new TokenStore(g.rt.db).create('chaos', 'operator', null);
    let refused = false;
    try {
      const c = await connectHttp(g.url, old.token);
      clients.push(c);
      const r = (await c.client.callTool({ name: 'inject_fault', arguments: { container: 'web-1', fault: 'kill' } })) as CallToolResult;
      refused = r.isError === true;
    } catch {
      refused = true; // a 401 at connect is the right answer
    }
    expect(docker.calls.filter((x) => x.startsWith('kill')), 'a client over HTTP killed a container as principal chaos').toEqual([]);
    expect(refused).toBe(true);
  });

  it('is not rotated into a fresh token for the reserved principal', async () => {
    const g = await gateways();
    const tokens = new TokenStore(g.rt.db);
    tokens.create('loop-n1', 'operator', null);
    expect(() => rotateToken({ tokens, audit: g.rt.audit }, { principal: 'loop-n1', overlapMs: 0, by: 'test' })).toThrow(/reserved/);
  });
});
