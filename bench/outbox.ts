// What the durable outbox costs, measured in one run: every notification is committed to SQLite
// before delivery is tried, so a tool call or the loop pays for that insert and nothing else.
//   send     the time send() itself takes on the caller (it schedules the insert; never waits on a hook);
//   deliver  from send() to the receiver getting it, with one hook up (a loopback receiver answering 204);
//   down     the same with a second hook down (a closed port): the up hook must not be held up;
//   spaced   notifications 20 ms apart, as a daemon sends them: the latency one notification sees.
// Prints median/p99 in µs or ms, throughput, peak RSS and the machine's load. Asserts nothing; not a test.
//
// Run: npm run bench:outbox [-- --notifications 2000]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BreakerBoard } from '../src/adapters/breakers.js';
import { createNotifier } from '../src/adapters/webhooks.js';
import { silentLogger } from '../src/log.js';
import type { WebhookConfig } from '../src/shared/notifier.js';
import { openDb } from '../src/store/db.js';
import { OutboxStore } from '../src/store/outbox.js';

const { values: flags } = parseArgs({ options: { notifications: { type: 'string', default: '2000' } } });
const N = Number(flags.notifications);

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

async function receiver(arrived: Map<string, number>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      arrived.set(String((JSON.parse(body) as { title: string }).title), performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function run(label: string, withDownHook: boolean, count = N, spacingMs = 0): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-outbox-'));
  const db = openDb(join(dir, 'data'));
  const arrived = new Map<string, number>();
  const up = await receiver(arrived);
  const hooks: WebhookConfig[] = [{ url: up.url, format: 'generic' }];
  if (withDownHook) hooks.push({ url: `http://127.0.0.1:${await closedPort()}/hook`, format: 'generic' });
  const notifier = createNotifier(hooks, silentLogger, { outbox: new OutboxStore(db), breakers: new BreakerBoard(), minDelayMs: 50, maxDelayMs: 500, pollMs: 200 });
  const sentAt = new Map<string, number>();
  const sendUs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const title = `n${i}`;
    const t0 = performance.now();
    notifier.send({ event: 'notify', title, fields: { i } });
    sendUs.push((performance.now() - t0) * 1_000);
    sentAt.set(title, t0);
    // A burst yields to the event loop now and then, as a busy daemon would; spaced ones wait between sends.
    if (spacingMs > 0) await new Promise((r) => setTimeout(r, spacingMs));
    else if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  const deadline = Date.now() + 120_000;
  while (arrived.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1_000;
  const latencyMs = [...arrived].map(([t, at]) => at - sentAt.get(t)!);
  console.log(`${label.padEnd(28)} send p50 ${quantile(sendUs, 0.5).toFixed(1).padStart(6)} µs  p99 ${quantile(sendUs, 0.99).toFixed(1).padStart(7)} µs  `
    + `delivered ${arrived.size}/${count} in ${seconds.toFixed(2)} s (${(arrived.size / seconds).toFixed(0)}/s)  `
    + `send->receipt p50 ${quantile(latencyMs, 0.5).toFixed(1)} ms  p99 ${quantile(latencyMs, 0.99).toFixed(1)} ms`);
  await notifier.flush(500);
  db.close();
  await new Promise((r) => { up.server.closeAllConnections(); up.server.close(r); });
  rmSync(dir, { recursive: true, force: true });
}

console.log(`outbox: ${N} notifications per run; ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await run('one hook up', false);
await run('one up, one down (closed)', true);
await run('200 spaced 20 ms apart', false, 200, 20);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
