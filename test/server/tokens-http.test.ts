// Several tokens of one principal at the gateway, in-process over real HTTP: both work, a rotation
// keeps the old one until its overlap ends (on an injected clock, no sleeps), a revocation by id
// leaves the other working.
import { describe, expect, it } from 'vitest';
import { issueToken, revokeToken, rotateToken } from '../../src/server/auth.js';
import { TokenStore } from '../../src/store/tokens.js';
import { INITIALIZE, request, useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();
const HOUR = 3_600_000;
const deps = (g: TestGateway) => ({ tokens: new TokenStore(g.rt.db), audit: g.rt.audit });
const status = async (g: TestGateway, token: string): Promise<number> => (await request(g.url, '/mcp', { body: INITIALIZE, token })).status;

describe('several tokens of one principal over HTTP', () => {
  it('accepts two active tokens of one principal', async () => {
    const g = await gateway();
    const a = g.token('ci', 'operator');
    const b = g.token('ci', 'operator');
    expect([await status(g, a), await status(g, b)]).toEqual([200, 200]);
    expect(new TokenStore(g.rt.db).active('ci')).toHaveLength(2);
  });

  it('keeps the old token working through the overlap of a rotation, and refuses it once the overlap has ended', async () => {
    const g = await gateway();
    const old = g.token('ci', 'operator');
    const now = Date.now();
    const rotated = rotateToken(deps(g), { principal: 'ci', overlapMs: HOUR, by: 'bob' }, new Date(now));
    expect([await status(g, old), await status(g, rotated.token)]).toEqual([200, 200]);
    // A rotation an hour and a second ago: its overlap has ended.
    const again = rotateToken(deps(g), { principal: 'ci', overlapMs: HOUR, by: 'bob' }, new Date(now - HOUR - 1_000));
    const refused = await request(g.url, '/mcp', { body: INITIALIZE, token: rotated.token });
    expect([refused.status, refused.json().reason]).toEqual([401, 'token expired']);
    expect(await status(g, old)).toBe(401);
    expect(await status(g, again.token)).toBe(200);
  });

  it('revokes one token by id and leaves the principal\'s other token working', async () => {
    const g = await gateway();
    const a = issueToken(deps(g), { principal: 'ci', role: 'operator', by: 'test' });
    const b = g.token('ci', 'operator');
    revokeToken(deps(g), { id: a.record.id }, 'bob');
    const refused = await request(g.url, '/mcp', { body: INITIALIZE, token: a.token });
    expect([refused.status, refused.json().reason]).toEqual([401, 'token revoked']);
    expect(await status(g, b)).toBe(200);
  });
});
