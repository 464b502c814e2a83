// Durable notifications end to end: a real SQLite outbox in a temp dir, real HTTP receivers on
// 127.0.0.1, and the real notifier between them. A hook that is down loses nothing and holds up no
// other hook; shutdown is bounded; another notifier on the same database delivers what is left.
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerBoard } from '../../src/adapters/breakers.js';
import { createNotifier, hookKey, type NotifierOptions } from '../../src/adapters/webhooks.js';
import { silentLogger } from '../../src/log.js';
import type { Notification, Notifier, WebhookConfig } from '../../src/shared/notifier.js';
import { openDb, type Db } from '../../src/store/db.js';
import { OutboxStore } from '../../src/store/outbox.js';
import { tempDir, waitFor } from '../support/processes.js';

interface Received { body: Record<string, unknown>; key: string | undefined; at: number }
type Answer = { status: number; headers?: Record<string, string> } | 'hang';
interface Receiver { url: string; port: number; got: Received[]; server: Server }
interface Row { id: number; key: string; hook: string; status: string; attempts: number; last_error: string | null; next_at: string; body: string }

const servers: Server[] = [];
const notifiers: Notifier[] = [];
const dbs: Db[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.flush(500)));
  for (const db of dbs.splice(0)) db.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A webhook receiver on loopback; `answer` decides each request (by its number, from 0), default 200. */
async function receiver(opts: { port?: number; answer?: (i: number) => Answer } = {}): Promise<Receiver> {
  const got: Received[] = [];
  let count = 0;
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      got.push({ body: JSON.parse(data) as Record<string, unknown>, key: req.headers['idempotency-key'] as string | undefined, at: Date.now() });
      const a = opts.answer?.(count++) ?? { status: 200 };
      if (a === 'hang') return;
      res.writeHead(a.status, a.headers ?? {});
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook/secret-token`, port, got, server };
}

/** A port that nothing listens on: reserved, then closed, so a receiver can come back on it later. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function database(): Db {
  const dir = tempDir('outbox');
  dirs.push(dir);
  const db = openDb(join(dir, 'data'));
  dbs.push(db);
  return db;
}

/** A second connection to the same file: what another process sees. */
function otherProcess(db: Db): Db {
  const other = openDb(dirname(db.name));
  dbs.push(other);
  return other;
}

function notifier(db: Db, hooks: WebhookConfig[], opts: Partial<NotifierOptions> = {}): Notifier {
  const n = createNotifier(hooks, silentLogger, {
    outbox: new OutboxStore(db), minDelayMs: 20, maxDelayMs: 200, pollMs: 50, timeoutMs: 2_000,
    breakers: new BreakerBoard({ failures: 1_000, halfOpenMs: 100 }), ...opts,
  });
  notifiers.push(n);
  return n;
}

const rows = (db: Db): Row[] => db.prepare('SELECT * FROM outbox ORDER BY id').all() as Row[];
const note = (title: string, fields: Notification['fields'] = {}): Notification => ({ event: 'notify', title, fields });
const generic = (url: string): WebhookConfig => ({ url, format: 'generic' });

describe('webhook outbox', () => {
  it('loses nothing while a hook is down and delivers everything in order, once each, when it returns', async () => {
    const db = database();
    const port = await closedPort();
    const n = notifier(db, [generic(`http://127.0.0.1:${port}/hook/secret-token`)]);
    for (let i = 0; i < 5; i += 1) n.send(note(`n${i}`, { token: 'hunter2', i }));
    await waitFor('several failed tries', async () => (rows(db)[0]?.attempts ?? 0) >= 3);
    expect(rows(db).map((r) => r.status)).toEqual(Array(5).fill('pending'));
    expect(rows(db)[0]!.last_error).toMatch(/ECONNREFUSED/);
    expect(rows(db)[1]!.attempts).toBe(0);

    const back = await receiver({ port });
    await waitFor('every notification delivered', async () => rows(db).every((r) => r.status === 'delivered'));
    expect(back.got.map((g) => g.body.title)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    const ids = back.got.map((g) => g.body.id);
    expect(new Set(ids).size).toBe(5);
    expect(back.got.map((g) => g.key)).toEqual(ids);
    // Stored and sent redacted, never in clear.
    expect(back.got[0]!.body).toMatchObject({ token: '[REDACTED]', i: 0 });
    expect(rows(db).some((r) => r.body.includes('hunter2'))).toBe(false);
  });

  it('sends the same Idempotency-Key and body id on every retry of one notification', async () => {
    const db = database();
    const hook = await receiver({ answer: (i) => ({ status: i < 2 ? 503 : 200 }) });
    const n = notifier(db, [generic(hook.url)]);
    n.send(note('once'));
    await waitFor('delivered after two 503s', async () => rows(db)[0]?.status === 'delivered');
    expect(hook.got).toHaveLength(3);
    const keys = new Set(hook.got.map((g) => g.key));
    expect(keys.size).toBe(1);
    expect(hook.got.every((g) => g.body.id === hook.got[0]!.key)).toBe(true);
    expect(rows(db)[0]!.attempts).toBe(3);
  });

  it.each([
    ['a 429 with Retry-After in seconds', 429, () => '1'],
    ['a 503 with Retry-After as an HTTP date', 503, () => new Date(Date.now() + 2_000).toUTCString()],
  ])('does not retry %s before it says', async (_what, status, after) => {
    const db = database();
    const hook = await receiver({ answer: (i) => (i === 0 ? { status, headers: { 'retry-after': after() } } : { status: 200 }) });
    const n = notifier(db, [generic(hook.url)]);
    n.send(note('later'));
    await waitFor('delivered after the wait', async () => rows(db)[0]?.status === 'delivered');
    expect(hook.got).toHaveLength(2);
    // An HTTP date has whole seconds: at least one of the two asked for is certain.
    expect(hook.got[1]!.at - hook.got[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('marks a 400 failed with its status, without retrying, and delivers the next one', async () => {
    const db = database();
    const hook = await receiver({ answer: (i) => ({ status: i === 0 ? 400 : 200 }) });
    const n = notifier(db, [generic(hook.url)]);
    n.send(note('bad'));
    n.send(note('good'));
    await waitFor('the second delivered', async () => rows(db)[1]?.status === 'delivered');
    expect(hook.got.map((g) => g.body.title)).toEqual(['bad', 'good']);
    expect(rows(db)[0]).toMatchObject({ status: 'failed', attempts: 1, last_error: 'refused: HTTP 400' });
  });

  it('never follows a redirect: the notification stays with the hook it was meant for, marked failed with the status', async () => {
    const db = database();
    const elsewhere = await receiver();
    const hook = await receiver({ answer: () => ({ status: 307, headers: { location: elsewhere.url } }) });
    const n = notifier(db, [generic(hook.url)]);
    n.send(note('secret escalation'));
    await waitFor('the row finished', async () => rows(db)[0]?.status === 'failed');
    expect(rows(db)[0]).toMatchObject({ last_error: 'refused: HTTP 307' });
    expect(elsewhere.got).toEqual([]);
  });

  it('keeps delivering to a second hook while the first is down', async () => {
    const db = database();
    const down = await closedPort();
    const up = await receiver();
    const n = notifier(db, [generic(`http://127.0.0.1:${down}/x`), { url: up.url, format: 'slack' }]);
    for (let i = 0; i < 3; i += 1) n.send(note(`n${i}`));
    // The receiver counts a request before it answers, and the row is marked after the answer.
    await waitFor('the live hook got all three, and their rows are marked delivered', async () =>
      up.got.length === 3 && rows(db).filter((r) => r.status === 'delivered').length === 3);
    expect(up.got.map((g) => g.body.text)).toEqual(['*n0*\n', '*n1*\n', '*n2*\n']);
    const downKey = hookKey(generic(`http://127.0.0.1:${down}/x`));
    expect(rows(db).filter((r) => r.status === 'pending').map((r) => r.hook)).toEqual([downKey, downKey, downKey]);
  });

  it('stops at its close deadline behind a hanging hook, leaves the row pending, and another notifier delivers it', async () => {
    const db = database();
    let hanging = true;
    const hook = await receiver({ answer: () => (hanging ? 'hang' : { status: 200 }) });
    const n = notifier(db, [generic(hook.url)], { timeoutMs: 30_000 });
    n.send(note('stuck'));
    await waitFor('the request is in flight', async () => hook.got.length === 1);
    const started = Date.now();
    await n.flush(1_000);
    // Far below the 30 s the request itself would be allowed: the deadline, not the hook, ended it.
    expect(Date.now() - started).toBeLessThan(5_000);
    const [row] = rows(db);
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect(row!.next_at <= new Date().toISOString()).toBe(true);

    hanging = false;
    notifier(otherProcess(db), [generic(hook.url)]);
    await waitFor('delivered by the next notifier', async () => rows(db)[0]?.status === 'delivered');
    expect(hook.got).toHaveLength(2);
    expect(hook.got[1]!.key).toBe(hook.got[0]!.key);
  });

  it("delivers a one-shot command's notification within its own flush", async () => {
    const db = database();
    const hook = await receiver();
    const n = notifier(db, [generic(hook.url)], { pollMs: 60_000 });
    n.send(note('killswitch on'));
    await n.flush(3_000);
    expect(hook.got.map((g) => g.body.title)).toEqual(['killswitch on']);
    expect(rows(db)[0]!.status).toBe('delivered');
  });

  it('opens the hook breaker after N failures, sends nothing while it is open, and the trial delivers', async () => {
    const db = database();
    const port = await closedPort();
    const breakers = new BreakerBoard({ failures: 3, halfOpenMs: 1_500 });
    const n = notifier(db, [generic(`http://127.0.0.1:${port}/hook/secret-token`)], { breakers });
    n.send(note('alarm'));
    await waitFor('the breaker opens', async () => breakers.find('webhook:0:127.0.0.1')?.view().state === 'open');
    expect(breakers.views()).toMatchObject([{ name: 'webhook:0:127.0.0.1', kind: 'webhook', state: 'open', failures: 3 }]);
    expect(JSON.stringify(breakers.views())).not.toContain('secret-token');
    await new Promise((r) => setTimeout(r, 400));
    expect(rows(db)[0]!.attempts).toBe(3);

    const back = await receiver({ port });
    await waitFor('the trial delivers', async () => rows(db)[0]?.status === 'delivered');
    expect(back.got).toHaveLength(1);
    expect(breakers.find('webhook:0:127.0.0.1')?.view().state).toBe('closed');
  });

  it('delivers rows two processes wrote, in order, each once, whoever sends them', async () => {
    const db = database();
    const hook = await receiver();
    const a = notifier(db, [generic(hook.url)]);
    const b = notifier(otherProcess(db), [generic(hook.url)]);
    for (let i = 0; i < 10; i += 1) (i % 2 === 0 ? a : b).send(note(`n${i}`));
    await waitFor('all ten delivered', async () => rows(db).length === 10 && rows(db).every((r) => r.status === 'delivered'));
    const order = rows(db).map((r) => JSON.parse(r.body).title as string);
    expect(hook.got.map((g) => g.body.title)).toEqual(order);
  });

  it('gives up a row still pending past the give-up age and marks it failed', async () => {
    const db = database();
    const port = await closedPort();
    notifier(db, [generic(`http://127.0.0.1:${port}/x`)], { giveUpMs: 200 }).send(note('too late'));
    await waitFor('given up', async () => rows(db)[0]?.status === 'failed');
    expect(rows(db)[0]!.last_error).toMatch(/^given up: still undelivered after/);
  });
});
