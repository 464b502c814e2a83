// The monitors' probes against real servers on 127.0.0.1 started here: HTTP answers judged by
// status and keyword, a deadline that bounds the whole probe (a silent or trickling server fails at
// it), TCP connects, and HTTPS with a self-signed certificate made by the openssl CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeExpecting } from '../../src/adapters/http-probe.js';
import { KEYWORD_WINDOW_BYTES, probeHttp, probeTcp } from '../../src/adapters/probes.js';
import { deadAddress } from '../support/backends.js';

const TIMEOUT_MS = 600;
/** Generous: the assertion is that the deadline ended the probe, not how precisely. */
const SLACK_MS = 2_500;

const sockets = new Set<Socket>();
const closers: Array<() => Promise<void>> = [];
let tmp = '';
let http = '';
let silent = '';
let trickle = '';
let tls = '';

/** Keeps each accepted socket for afterAll; a probe hanging up mid-write is expected, not an error. */
function track(server: HttpServer | NetServer): void {
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); });
}

async function listen(server: HttpServer | NetServer): Promise<string> {
  track(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Writes `text` one byte every 50 ms until the socket closes. */
function dribble(socket: { write(b: string): unknown; on(ev: 'close', f: () => void): unknown }, text: string): void {
  let i = 0;
  const timer = setInterval(() => { socket.write(text[i % text.length]!); i += 1; }, 50);
  socket.on('close', () => clearInterval(timer));
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'warden-probes-'));
  const key = join(tmp, 'key.pem');
  const cert = join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'pipe' });

  const app = (req: { url?: string }, res: import('node:http').ServerResponse): void => {
    if (req.url === '/ok') res.writeHead(200).end('hello, warden ok');
    else if (req.url === '/fail') res.writeHead(500).end('down');
    else if (req.url === '/teapot') res.writeHead(418).end('short and stout');
    else if (req.url === '/moved') res.writeHead(302, { location: '/ok' }).end();
    else if (req.url === '/late-keyword') res.writeHead(200).end(`${'x'.repeat(KEYWORD_WINDOW_BYTES)}warden ok`);
    else if (req.url === '/slow-body') { res.writeHead(200); dribble(res, 'zzz'); }
    else res.writeHead(404).end();
  };
  http = await listen(createHttpServer(app));
  silent = await listen(createNetServer(() => { /* accepts, never answers */ }));
  trickle = await listen(createNetServer((s) => { s.write('HTTP/1.1 200 OK\r\n'); dribble(s, 'X-Slow: y'); }));
  tls = await listen(createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, app));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const close of closers.splice(0)) await close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const opts = { timeoutMs: TIMEOUT_MS };

describe('probeHttp', () => {
  it('is up on a 200 and reports the status and a latency', async () => {
    const r = await probeHttp({ url: `http://${http}/ok` }, opts);
    expect(r).toMatchObject({ up: true, status: 200, detail: `http://${http}/ok answered 200` });
    expect(r.latencyMs).toBeGreaterThan(0);
    expect(r.certificate).toBeUndefined();
  });

  it('is down on a 500, saying what was expected', async () => {
    expect(await probeHttp({ url: `http://${http}/fail` }, opts)).toMatchObject({ up: false, status: 500, detail: `http://${http}/fail answered 500, expected 2xx` });
  });

  it('is up when the answer holds the keyword', async () => {
    expect(await probeHttp({ url: `http://${http}/ok`, keyword: 'warden ok' }, opts)).toMatchObject({ up: true, detail: expect.stringMatching(/answered 200 with "warden ok"$/) });
  });

  it('is down on a wrong keyword, and the body never appears in the detail', async () => {
    const r = await probeHttp({ url: `http://${http}/ok`, keyword: 'nginx ok' }, opts);
    expect(r).toMatchObject({ up: false, status: 200, detail: expect.stringMatching(/answered 200 without "nginx ok" in its first 65536 bytes$/) });
    expect(r.detail).not.toContain('hello');
  });

  it('looks for the keyword only within the first 64 KiB', async () => {
    expect(await probeHttp({ url: `http://${http}/late-keyword`, keyword: 'warden ok' }, opts)).toMatchObject({ up: false, status: 200 });
  });

  it('is up on the expected status even when it is not 2xx, and down on a 200 then', async () => {
    expect(await probeHttp({ url: `http://${http}/teapot`, status: 418 }, opts)).toMatchObject({ up: true, status: 418 });
    expect(await probeHttp({ url: `http://${http}/ok`, status: 418 }, opts)).toMatchObject({ up: false, detail: expect.stringMatching(/answered 200, expected 418$/) });
  });

  it('does not follow a redirect', async () => {
    expect(await probeHttp({ url: `http://${http}/moved` }, opts)).toMatchObject({ up: false, status: 302 });
  });

  it('is down at the deadline when the server accepts and never answers', async () => {
    const started = performance.now();
    const r = await probeHttp({ url: `http://${silent}/` }, opts);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(r).toMatchObject({ up: false, status: null, detail: expect.stringMatching(/no complete answer within 600 ms \(connected, response headers incomplete\)/) });
    expect(r.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(r.latencyMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  it('is down at the deadline when the headers trickle in a byte at a time', async () => {
    const r = await probeHttp({ url: `http://${trickle}/` }, opts);
    expect(r).toMatchObject({ up: false, status: null, detail: expect.stringMatching(/no complete answer within 600 ms/) });
    expect(r.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(r.latencyMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  it('is down at the deadline when the body trickles and the keyword has not come', async () => {
    const r = await probeHttp({ url: `http://${http}/slow-body`, keyword: 'warden ok' }, opts);
    expect(r).toMatchObject({ up: false, status: 200, detail: expect.stringMatching(/no complete answer within 600 ms \(answered 200, keyword not seen in the \d+ bytes read\)/) });
    expect(r.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(r.latencyMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  it('is down fast on a port nobody listens on', async () => {
    const dead = await deadAddress();
    const r = await probeHttp({ url: `http://${dead}/` }, { timeoutMs: 10_000 });
    expect(r).toMatchObject({ up: false, status: null, detail: `http://${dead}/: connection refused (ECONNREFUSED)` });
    expect(r.latencyMs).toBeLessThan(2_000);
  });

  it('stops when its signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await probeHttp({ url: `http://${silent}/` }, { timeoutMs: 10_000, signal: ac.signal });
    expect(r).toMatchObject({ up: false, detail: expect.stringMatching(/probe cancelled/) });
    expect(r.latencyMs).toBeLessThan(2_000);
  });

  it('is down on an invalid URL without throwing', async () => {
    expect(await probeHttp({ url: 'not a url' }, opts)).toMatchObject({ up: false, status: null, detail: 'not a url: not a valid URL' });
  });
});

describe('probeHttp over TLS with a self-signed certificate', () => {
  it('is down when the certificate does not verify', async () => {
    const r = await probeHttp({ url: `https://${tls}/ok` }, opts);
    expect(r).toMatchObject({ up: false, status: null, detail: expect.stringMatching(/certificate does not verify/) });
  });

  it('is up with ignoreTlsErrors, says the certificate was not trusted, and reads its expiry', async () => {
    const r = await probeHttp({ url: `https://${tls}/ok`, keyword: 'warden ok' }, { ...opts, ignoreTlsErrors: true });
    expect(r).toMatchObject({ up: true, status: 200, detail: expect.stringMatching(/answered 200 with "warden ok"; certificate does not verify \(.+\), ignored as asked$/) });
    expect(r.certificate).toMatchObject({ subject: 'CN=localhost', issuer: 'CN=localhost' });
    expect([2, 3]).toContain(r.certificate!.daysLeft);
    expect(new Date(r.certificate!.validTo).toISOString()).toBe(r.certificate!.validTo);
  });
});

describe('probeTcp', () => {
  it('is up when the connection opens', async () => {
    expect(await probeTcp(http, opts)).toMatchObject({ up: true, status: null, detail: `${http} accepted a connection` });
  });

  it('is down fast on a port nobody listens on', async () => {
    const dead = await deadAddress();
    const r = await probeTcp(dead, { timeoutMs: 10_000 });
    expect(r).toMatchObject({ up: false, detail: `${dead}: connection refused (ECONNREFUSED)` });
    expect(r.latencyMs).toBeLessThan(2_000);
  });

  it('is down on an address that is not host:port', async () => {
    expect(await probeTcp('127.0.0.1', opts)).toMatchObject({ up: false, detail: '127.0.0.1: not host:port or [v6]:port' });
  });
});

describe('probeExpecting, the health check the change tools and the loop use', () => {
  it('keeps its shape: passed, status and detail', async () => {
    expect(await probeExpecting(`http://${http}/ok`, { keyword: 'warden ok' }, TIMEOUT_MS)).toEqual({ passed: true, status: 200, detail: `http://${http}/ok answered 200 with "warden ok"` });
  });

  it('is bounded as a whole by its timeout', async () => {
    const started = performance.now();
    expect(await probeExpecting(`http://${trickle}/`, {}, TIMEOUT_MS)).toMatchObject({ passed: false, status: null });
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });
});
