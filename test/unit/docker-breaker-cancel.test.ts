// A caller that cancels (or times out) a container_logs read while Docker is streaming makes Node
// destroy the response, which surfaces as ECONNRESET: such abandoned calls never count on the host's
// Docker breaker, so no client (a readonly token is enough) can open it on a healthy host.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerBoard } from '../../src/adapters/breakers.js';
import { dockerBehindBreaker, dockerBreaker } from '../../src/adapters/breaker-wrap.js';
import { DockerodeAdapter } from '../../src/adapters/docker.js';

let server: Server | undefined;
afterEach(async () => { server?.closeAllConnections(); await new Promise((r) => server?.close(r)); });

describe('a healthy Docker endpoint and cancelled reads', () => {
  it('cancelled log reads do not open the host\'s Docker breaker', async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/containers/web/json') || req.url?.startsWith('/v') && req.url.includes('/containers/web/json')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ Id: 'abc123', Name: '/web', Config: { Tty: true, Labels: {} }, State: { Running: true }, HostConfig: {} }));
        return;
      }
      if (req.url?.includes('/logs')) {
        // A big log, streamed: headers at once, then lines.
        res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
        const t = setInterval(() => res.write('a log line\n'), 20);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (req.url?.includes('/_ping')) { res.end('OK'); return; }
      res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const board = new BreakerBoard({ failures: 5, halfOpenMs: 60_000 });
    const docker = dockerBehindBreaker(new DockerodeAdapter('local', `tcp://127.0.0.1:${port}`), dockerBreaker(board, 'local'));
    const errors: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await docker.containerLogs('web', { tail: 100, timestamps: false, stream: 'both', signal: ac.signal, maxReadBytes: 10_000_000 } as never)
        .catch((e: unknown) => errors.push(String((e as Error).message)));
    }
    expect(errors.length).toBe(5);
    // Docker answers; the caller only gave up.
    await expect(docker.ping()).resolves.toBeUndefined();
    expect(board.views().find((v) => v.name === 'docker:local')?.state ?? 'closed', errors.join('\n')).toBe('closed');
  }, 20_000);
});
