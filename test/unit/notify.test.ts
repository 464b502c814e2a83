import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNotifier, formatBody } from '../../src/adapters/webhooks.js';
import type { Notification } from '../../src/shared/notifier.js';
import { silentLogger } from '../../src/log.js';

interface Hook { url: string; bodies: unknown[]; server: Server }
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A real webhook receiver on loopback; answers the given statuses in turn, then 200. */
async function receiver(statuses: number[] = []): Promise<Hook> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      bodies.push(JSON.parse(data));
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, server };
}

const note: Notification = { event: 'approval.requested', title: 'warden: restart held', fields: { approvalId: 'apr_x', token: 'hunter2' } };

describe('notifier', () => {
  it.each([
    ['generic', { event: 'approval.requested', title: 'warden: restart held', approvalId: 'apr_x' }],
    ['slack', { text: expect.stringMatching(/^\*warden: restart held\*\napprovalId: apr_x/) }],
    ['discord', { content: expect.stringMatching(/^\*\*warden: restart held\*\*\napprovalId: apr_x/) }],
  ] as const)('formats %s bodies', (format, shape) => {
    expect(formatBody(format, note)).toMatchObject(shape);
  });

  it('delivers, redacting secrets, and retries a 5xx with backoff', async () => {
    const hook = await receiver([503, 500]);
    const n = createNotifier([{ url: hook.url, format: 'generic' }], silentLogger, { baseDelayMs: 10 });
    n.send(note);
    await n.flush();
    expect(hook.bodies).toHaveLength(3);
    expect(hook.bodies[2]).toMatchObject({ approvalId: 'apr_x', token: '[REDACTED]' });
  });

  it('does not retry a 4xx and skips events a hook did not ask for', async () => {
    const hook = await receiver([400]);
    const other = await receiver();
    const n = createNotifier([{ url: hook.url, format: 'generic' }, { url: other.url, format: 'slack', events: ['escalation'] }], silentLogger, { baseDelayMs: 10 });
    n.send(note);
    await n.flush();
    expect(hook.bodies).toHaveLength(1);
    expect(other.bodies).toHaveLength(0);
  });

  it('gives up quietly when the hook is down', async () => {
    const hook = await receiver();
    await new Promise((r) => hook.server.close(r));
    servers.splice(servers.indexOf(hook.server), 1);
    const n = createNotifier([{ url: hook.url, format: 'generic' }], silentLogger, { retries: 2, baseDelayMs: 5 });
    n.send(note);
    await expect(n.flush()).resolves.toBeUndefined();
    expect(hook.bodies).toHaveLength(0);
  });
});
