// The dead man's switch against a real HTTP receiver on 127.0.0.1 that counts the GETs: the ping
// itself (redirects, deadlines, the token kept out of every result and log line), and the loop's
// heartbeat stopping while the loop is wedged (another connection holds SQLite's write lock while
// Docker reports a death, so the alert cannot be recorded) and resuming once the lock is released.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { pingHeartbeat } from '../../src/adapters/heartbeat-ping.js';
import type { Logger } from '../../src/log.js';
import { Heartbeat, type LoopHealth } from '../../src/loop/heartbeat.js';
import { startLoop, type LoopService } from '../../src/loop/loop-service.js';
import type { Runtime } from '../../src/server/runtime.js';
import { dbPath } from '../../src/store/db.js';
import { HealthStateStore } from '../../src/store/health-states.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { testRuntime } from '../support/warden.js';

const TOKEN = 'hb-secret-7f3a9c';

interface Receiver {
  /** http://127.0.0.1:PORT */
  base: string;
  /** Paths (with query) of every request, in order. */
  hits: string[];
  /** Answers a path differently (a redirect, a hang); default 200. */
  routes: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(): Promise<Receiver> {
  const hits: string[] = [];
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const route = routes.get((req.url ?? '').split('?')[0]!);
    if (route) route(req, res);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r: Receiver = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits, routes,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  cleanups.push(() => r.close());
  return r;
}

async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A logger whose lines the test reads. */
function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino<never>({ level: 'debug' }, { write: (line: string) => { lines.push(line); } }), lines };
}

describe('heartbeat ping (adapter)', () => {
  it('sends one GET to the push URL, and says nothing of its path or query', async () => {
    const r = await receiver();
    const res = await pingHeartbeat(`${r.base}/api/push/${TOKEN}?status=up&msg=OK`, { timeoutMs: 2_000 });
    expect(res).toMatchObject({ ok: true, status: 200, detail: 'HTTP 200' });
    expect(r.hits).toEqual([`/api/push/${TOKEN}?status=up&msg=OK`]);
  });

  it('follows a redirect on the same host', async () => {
    const r = await receiver();
    r.routes.set(`/old/${TOKEN}`, (_req, res) => res.writeHead(302, { location: `/new/${TOKEN}` }).end());
    expect(await pingHeartbeat(`${r.base}/old/${TOKEN}`, { timeoutMs: 2_000 })).toMatchObject({ ok: true, status: 200 });
    expect(r.hits).toEqual([`/old/${TOKEN}`, `/new/${TOKEN}`]);
  });

  it('refuses a redirect to another host: the token is not sent there', async () => {
    const r = await receiver();
    const other = await receiver();
    r.routes.set(`/${TOKEN}`, (_req, res) => res.writeHead(307, { location: `${other.base.replace('127.0.0.1', 'localhost')}/${TOKEN}` }).end());
    const res = await pingHeartbeat(`${r.base}/${TOKEN}`, { timeoutMs: 2_000 });
    expect(res).toMatchObject({ ok: false, status: 307, detail: expect.stringMatching(/a redirect to another host .* is not followed/) });
    expect(res.detail).not.toContain(TOKEN);
    expect(other.hits).toEqual([]);
  });

  it('gives up at its deadline on a receiver that never answers', async () => {
    const r = await receiver();
    r.routes.set(`/${TOKEN}`, () => undefined);
    expect(await pingHeartbeat(`${r.base}/${TOKEN}?k=${TOKEN}`, { timeoutMs: 300 })).toMatchObject({ ok: false, status: null, detail: 'no answer within 300 ms' });
  });

  it('reports a refusal and an unreachable receiver without the URL', async () => {
    const r = await receiver();
    r.routes.set(`/${TOKEN}`, (_req, res) => res.writeHead(404).end('no such check'));
    expect(await pingHeartbeat(`${r.base}/${TOKEN}`, { timeoutMs: 2_000 })).toMatchObject({ ok: false, status: 404, detail: 'HTTP 404: the receiver refused the ping' });
    await r.close();
    const down = await pingHeartbeat(`${r.base}/${TOKEN}?t=${TOKEN}`, { timeoutMs: 2_000 });
    expect(down).toMatchObject({ ok: false, status: null, detail: 'the receiver could not be reached (ECONNREFUSED)' });
  });
});

describe('heartbeat (timer, health, record)', () => {
  it('beats while healthy, withholds while not, says why in its row, and logs only the origin of the URL', async () => {
    const r = await receiver();
    const rt = testRuntime();
    cleanups.push(() => rt.close());
    const { log, lines } = recordingLogger();
    let health: LoopHealth = { ok: true, problems: [] };
    const beats = new Heartbeat({ url: `${r.base}/api/push/${TOKEN}?status=up`, intervalMs: 50, health: () => health, ping: pingHeartbeat, watches: new HealthStateStore(rt.db), log });
    cleanups.push(() => beats.stop());
    const row = () => new HealthStateStore(rt.db).watches().find((w) => w.name === 'heartbeat');
    beats.start();
    // The receiver counts a beat when it arrives, before warden has its answer and writes the row:
    // wait for the row of a beat that was answered, not only for the hits.
    await until('two beats, the last answered', () => r.hits.length >= 2 && /^sent:/.test(row()?.detail ?? ''));
    expect(row()).toMatchObject({ ok: true, detail: expect.stringMatching(/^sent: HTTP 200 in \d+ ms$/) });
    health = { ok: false, problems: ["the runner's approval poll last ran 40 s ago (every 2 s)"] };
    await until('a withheld beat', () => row()?.ok === false);
    expect(row()!.detail).toBe("withheld: the runner's approval poll last ran 40 s ago (every 2 s)");
    const withheld = r.hits.length;
    expect(await beats.beat()).toEqual({ sent: false, problems: health.problems });
    expect(r.hits).toHaveLength(withheld);
    health = { ok: true, problems: [] };
    await until('beats again', () => r.hits.length >= withheld + 2);
    await beats.stop();
    const text = lines.join('');
    expect(text).toContain(r.base);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('status=up');
  });
});

describe('heartbeat (the write check)', () => {
  it('withholds a beat while the database accepts no write, even when everything else looks healthy', async () => {
    const r = await receiver();
    const rt = testRuntime({ serving: true });
    cleanups.push(() => rt.close());
    const beats = new Heartbeat({ url: `${r.base}/${TOKEN}`, intervalMs: 200, health: () => ({ ok: true, problems: [] }), ping: pingHeartbeat, watches: new HealthStateStore(rt.db), log: recordingLogger().log });
    const other = new Database(dbPath(rt.config.dataDir));
    cleanups.push(() => { if (other.inTransaction) other.exec('ROLLBACK'); other.close(); });
    other.exec('BEGIN IMMEDIATE');
    expect(await beats.beat()).toEqual({ sent: false, problems: [expect.stringMatching(/^the database accepts no write \(the database is locked by another process \(waited \d+ ms\)\)$/)] });
    expect(r.hits).toEqual([]);
    other.exec('ROLLBACK');
    expect(await beats.beat()).toMatchObject({ sent: true, result: { ok: true } });
    expect(r.hits).toHaveLength(1);
  });
});

describe('heartbeat of the loop', () => {
  it('stops while the loop is wedged (another connection holds the write lock while Docker reports a death) and resumes once it is released', async () => {
    const r = await receiver();
    const docker = new FakeDocker();
    const rt: Runtime = testRuntime({
      adapters: fakeAdapters(docker), serving: true,
      config: `loop:\n  monitors: false\n  settleSeconds: 0.2\n  heartbeat: { url: "${r.base}/api/push/${TOKEN}?status=up&msg=OK", intervalSeconds: 0.1 }\n`,
    });
    cleanups.push(() => rt.close());
    const loop: LoopService = await startLoop(rt, { approvalPollMs: 50, ingestStuckMs: 300, runner: { watchdogMs: 100 } });
    cleanups.push(() => loop.stop());
    await loop.ready();
    await until('beats while healthy', () => r.hits.length >= 3);
    expect(loop.health()).toEqual({ ok: true, problems: [] });

    const other = new Database(dbPath(rt.config.dataDir));
    cleanups.push(() => { if (other.inTransaction) other.exec('ROLLBACK'); other.close(); });
    other.exec('BEGIN IMMEDIATE');
    docker.emitEvent({ type: 'container', action: 'die', id: 'bbb', name: 'db', attributes: { name: 'db', image: 'postgres', exitCode: '1' }, timeNano: Date.now() * 1e6 });
    await until('the loop to call itself unhealthy', () => !loop.health().ok);
    expect(loop.health().problems).toEqual([expect.stringMatching(/^an alert has waited \d+ ms to be recorded \(1 payload in line\): the database may be locked by another process$/)]);
    const stopped = r.hits.length;
    // Ten intervals: no beat while the lock is held.
    await new Promise((res) => setTimeout(res, 1_000));
    expect(r.hits).toHaveLength(stopped);
    expect(loop.incidents.list()).toEqual([]);

    other.exec('ROLLBACK');
    await until('beats again', () => r.hits.length >= stopped + 2);
    expect(loop.health()).toEqual({ ok: true, problems: [] });
    // The alert that waited is recorded, not lost.
    await until('the death to become an incident', () => loop.incidents.list().some((i) => i.target === 'local/db'));
    expect(new HealthStateStore(rt.db).watches().find((w) => w.name === 'heartbeat')).toMatchObject({ ok: true });
    expect(r.hits.every((h) => h === `/api/push/${TOKEN}?status=up&msg=OK`)).toBe(true);
  });

  it('sends nothing once the loop stops', async () => {
    const r = await receiver();
    const rt = testRuntime({ adapters: fakeAdapters(new FakeDocker()), serving: true, config: `loop:\n  monitors: false\n  heartbeat: { url: "${r.base}/${TOKEN}", intervalSeconds: 0.05 }\n` });
    cleanups.push(() => rt.close());
    const loop = await startLoop(rt, { approvalPollMs: 50 });
    cleanups.push(() => loop.stop());
    await until('a beat', () => r.hits.length >= 1);
    await loop.stop();
    const sent = r.hits.length;
    await new Promise((res) => setTimeout(res, 300));
    expect(r.hits).toHaveLength(sent);
  });
});
