// /healthz (no token) shares one Docker ping among the requests that arrive while it is under way, so a
// wedged dockerd (accepts connections, never answers) cannot collect a socket per anonymous request.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthCheck } from '../../src/server/health.js';
import type { Runtime } from '../../src/server/runtime.js';
import { testRuntime } from '../support/warden.js';

const open: Runtime[] = [];
let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise((r) => server?.close(r));
});

describe('/healthz against a wedged dockerd', () => {
  it('keeps at most one Docker ping in flight', async () => {
    server = createServer((s) => { sockets.push(s); }); // accepts, never answers
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const rt = testRuntime({ dockerHost: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}` });
    open.push(rt);
    const health = createHealthCheck(rt);
    const answers = await Promise.all(Array.from({ length: 50 }, () => health()));
    expect(answers.every((h) => h.docker.local === 'unreachable')).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(sockets.length).toBeLessThanOrEqual(1);
  }, 20_000);
});
