// The outbox while another process holds SQLite's write lock (`warden approvals approve`, a backup, a
// second warden). A notification whose insert meets the lock waits for it on a timer, and everything
// this process sends meanwhile waits behind it: each hook still gets its notifications in the order
// send() was called (approval.requested before approval.decided), and send() never waits for the
// lock. At the close deadline, what is still unwritten gets one last synchronous write of at most
// NOTIFIER_LAST_WRITE_MS: when the lock frees within it, the notification stays pending for the next
// process; only when the lock outlasts it too is the notification logged as lost.
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerBoard } from '../../src/adapters/breakers.js';
import { createNotifier } from '../../src/adapters/webhooks.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { NOTIFIER_LAST_WRITE_MS, type NewOutboxEntry, type NotificationOutbox, type Notifier, type WebhookConfig } from '../../src/shared/notifier.js';
import { SERVER_BUSY_TIMEOUT_MS } from '../../src/store/busy.js';
import { openDb, type Db } from '../../src/store/db.js';
import { OutboxStore } from '../../src/store/outbox.js';
import { startProcess, tempDir, waitFor } from '../support/processes.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });

/** A server's connection (short busy timeout, the lock waited for on a timer), as `warden serve` opens it; null: a command's. */
function serverDb(busyTimeoutMs: number | null = SERVER_BUSY_TIMEOUT_MS): Db {
  const dir = tempDir('outbox-lock');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDb(join(dir, 'data'), busyTimeoutMs === null ? {} : { busyTimeoutMs });
  cleanup.push(() => { db.close(); });
  return db;
}

/** A second connection to the same file, in this process: what another process's lock looks like. */
function otherProcess(db: Db): Db {
  const other = openDb(dirname(db.name));
  cleanup.push(() => { if (other.inTransaction) other.exec('ROLLBACK'); other.close(); });
  return other;
}

function notifier(outbox: NotificationOutbox, hooks: WebhookConfig[], log: Logger = silentLogger): Notifier {
  const n = createNotifier(hooks, log, {
    outbox, minDelayMs: 20, maxDelayMs: 200, pollMs: 50, timeoutMs: 2_000, breakers: new BreakerBoard({ failures: 1_000, halfOpenMs: 100 }),
  });
  cleanup.push(() => n.flush(500));
  return n;
}

function logLines(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: pino({ level: 'debug' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } })) };
}

const titles = (db: Db): string[] => (db.prepare('SELECT body FROM outbox ORDER BY id').all() as Array<{ body: string }>).map((r) => (JSON.parse(r.body) as { title: string }).title);

const HOLDER = `
import { createRequire } from 'node:module';
const [root, file] = process.argv.slice(2);
const Database = createRequire(root + '/package.json')('better-sqlite3');
const db = new Database(file);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
// A line on stdin: let go that many ms later.
process.stdin.once('data', (b) => setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); process.exit(0); }, Number(String(b).trim())));
`;

/** Another process that holds the write lock until told to let it go. */
async function holdWriteLock(file: string): Promise<{ releaseIn(ms: number): void; released: Promise<void> }> {
  const script = join(tempDir('lock-holder'), 'hold.mjs');
  writeFileSync(script, HOLDER);
  const p = startProcess(process.execPath, [script, process.cwd(), file], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanup.push(() => p.stop());
  const line = (text: string): Promise<void> => new Promise((resolve) => {
    p.child.stdout?.on('data', (b: Buffer) => { if (b.toString().includes(text)) resolve(); });
  });
  const released = line('released');
  await line('locked');
  return { released, releaseIn: (ms) => { p.child.stdin?.write(`${ms}\n`); } };
}

describe('webhook outbox under another process\'s write lock', () => {
  it('delivers in the order send() was called, though the first insert met the lock, and send() never waits for it', async () => {
    const got: string[] = [];
    const server: Server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => { data += c; });
      req.on('end', () => { got.push((JSON.parse(data) as { title: string }).title); res.end(); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const db = serverDb();
    const other = otherProcess(db);
    const n = notifier(new OutboxStore(db), [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, format: 'generic' }]);

    other.exec('BEGIN IMMEDIATE'); // `warden approvals approve` in another process, a backup...
    const started = Date.now();
    n.send({ event: 'approval.requested', title: 'first: approval requested', fields: {} });
    n.send({ event: 'notify', title: 'second: sent while locked', fields: {} });
    // Only the first send tried the lock (two tries of the server's short busy timeout); the second
    // queued behind it. Neither waited for the lock, which is still held.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(titles(db)).toEqual([]);
    other.exec('COMMIT'); // ...lets go a moment later
    n.send({ event: 'approval.decided', title: 'third: approval decided', fields: {} });
    await waitFor('all three delivered', async () => got.length === 3);
    expect(got).toEqual(['first: approval requested', 'second: sent while locked', 'third: approval decided']);
    expect(titles(db)).toEqual(got);
  });

  it('writes a notification whose insert still waits at the close deadline in one last write, when the lock frees within it', async () => {
    const db = serverDb();
    const holder = await holdWriteLock(db.name);
    const waits: number[] = [];
    // The holder lets go 50 ms into the last write: that write must wait for it, not fail at once.
    class LastWriteSpy extends OutboxStore {
      override addNow(entries: NewOutboxEntry[], waitMs: number): void {
        waits.push(waitMs);
        holder.releaseIn(50);
        super.addNow(entries, waitMs);
      }
    }
    const { log, lines } = logLines();
    const n = notifier(new LastWriteSpy(db), [{ url: 'http://127.0.0.1:9/hook', format: 'generic', events: ['audit.checkpoint'] }], log);
    n.send({ event: 'audit.checkpoint', title: 'warden audit checkpoint: entry 42', fields: { seq: 42 } });
    const started = Date.now();
    await n.flush(400);
    expect(Date.now() - started).toBeLessThan(400 + NOTIFIER_LAST_WRITE_MS + 250);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(NOTIFIER_LAST_WRITE_MS - 50);
    await holder.released;
    expect(db.prepare('SELECT status FROM outbox').all()).toEqual([{ status: 'pending' }]);
    expect(lines.join('')).not.toContain('NOTIFICATION LOST');
    // The connection keeps its own busy timeout: the last write's was for that one statement.
    expect(db.pragma('busy_timeout', { simple: true })).toBe(SERVER_BUSY_TIMEOUT_MS);
  });

  it('logs a notification lost only when the lock outlasts the last write too, and returns within the deadline plus NOTIFIER_LAST_WRITE_MS', async () => {
    const db = serverDb();
    const other = otherProcess(db);
    const { log, lines } = logLines();
    const n = notifier(new OutboxStore(db), [{ url: 'http://127.0.0.1:9/hook', format: 'generic', events: ['audit.checkpoint'] }], log);
    other.exec('BEGIN IMMEDIATE');
    n.send({ event: 'audit.checkpoint', title: 'cp 1', fields: { seq: 1 } });
    n.send({ event: 'audit.checkpoint', title: 'cp 2', fields: { seq: 2 } });
    const started = Date.now();
    await n.flush(400);
    const took = Date.now() - started;
    other.exec('COMMIT');
    // Deliveries are cut at 300 ms (the deadline less its grace), then one wait of NOTIFIER_LAST_WRITE_MS,
    // shared by both (the second gets what is left of it: nothing); never more than that past the deadline.
    expect(took).toBeGreaterThanOrEqual(300 + NOTIFIER_LAST_WRITE_MS - 50);
    expect(took).toBeLessThan(400 + NOTIFIER_LAST_WRITE_MS + 250);
    expect(titles(db)).toEqual([]);
    const lost = lines.filter((l) => l.includes('NOTIFICATION LOST')).map((l) => (JSON.parse(l) as { title: string }).title);
    expect(lost).toEqual(['cp 1', 'cp 2']);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(SERVER_BUSY_TIMEOUT_MS);
  });

  it("bounds the last write by its own wait on a command's connection too (busy timeout 5 s), and restores that", () => {
    const db = serverDb(null);
    const other = otherProcess(db);
    const entry: NewOutboxEntry = { key: 'n-1/h', createdAt: new Date().toISOString(), hook: 'h', event: 'notify', body: '{}' };
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    expect(() => new OutboxStore(db).addNow([entry], 100)).toThrow(/locked|busy/i);
    expect(Date.now() - started).toBeLessThan(1_000);
    other.exec('COMMIT');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5_000);
    new OutboxStore(db).addNow([entry], 100);
    expect(titles(db)).toHaveLength(1);
  });
});
