// Plain HTTP backends on 127.0.0.1 for nginx to proxy to: one that answers, one that answers
// wrongly, and a port nobody listens on. Closed by the caller.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from './ports.js';

export interface Backend {
  /** `127.0.0.1:PORT`, as nginx's server and proxy_pass write it. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Answers every request with `status` and `body`. */
export async function startBackend(status: number, body: string): Promise<Backend> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`, port,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A loopback address nothing listens on: nginx answers 502 for it. */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/**
 * One GET on a fresh connection (status and body). Tests that reload nginx use it: a pooled
 * keep-alive socket to a worker the reload retired fails with "other side closed".
 */
export function httpGet(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' }, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
