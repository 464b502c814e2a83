// SIGKILL between apply and verify: `warden serve` is killed while an nginx_set_upstream change is
// in 'verifying', and the next start finishes it through rollback_change as principal `warden`:
// kept when its check passes, rolled back when it fails. Real nginx, real processes, the real DB.
import Database from 'better-sqlite3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dbPath } from '../../src/store/db.js';
import { deadAddress, httpGet } from '../support/backends.js';
import { CLI, warden, readyUrl } from '../support/cli.js';
import { connectHttp } from '../support/http-gateway.js';
import { writeInventory } from '../support/inventory.js';
import { startNginx } from '../support/nginx.js';
import { startProcess, tempDir, waitFor, type Started } from '../support/processes.js';

/**
 * Short enough that recovery, which holds the check for the change's whole verifySeconds again,
 * stays quick; long enough that the poller below sees 'verifying' well before the check ends.
 */
const VERIFY_S = 10;
const PROXY = 'location / { proxy_pass http://app; proxy_connect_timeout 2s; }';
const upstream = (address: string): string => `  upstream app {\n    server ${address} max_fails=0; # the app\n  }`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean().catch(() => undefined);
});

/** A backend on loopback whose answer the test can change while nginx proxies to it. */
async function switchableBackend(): Promise<{ address: string; answer(status: number, body: string): void }> {
  let reply = { status: 200, body: 'app ok\n' };
  const server = createServer((_req, res) => {
    res.writeHead(reply.status, { 'content-type': 'text/plain' });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, answer: (status, body) => { reply = { status, body }; } };
}

interface ChangeRow { id: string; status: string; owner: string }
interface AuditRow { tool: string; phase: string; principal: string; args: string }

/** Reads the data dir's database the way an operator's sqlite3 would: read-only, beside the server. */
function query<T>(dataDir: string, sql: string): T[] {
  const db = new Database(dbPath(dataDir), { readonly: true, fileMustExist: true });
  try { return db.prepare(sql).all() as T[]; } finally { db.close(); }
}

const theChange = (dataDir: string): ChangeRow | undefined =>
  query<ChangeRow>(dataDir, `SELECT id, status, owner FROM changes WHERE service = 'site'`)[0];

/**
 * nginx on loopback proxying service "site" to a dead port (it answers 502), and a data dir whose
 * inventory declares the site with its health check, a policy allowing the change and its
 * rollback, and an operator token.
 */
async function world(backend: string) {
  const nginx = await startNginx();
  cleanups.push(() => nginx.stop());
  nginx.writeConfig(PROXY, upstream(await deadAddress()));
  await nginx.reload();
  const dir = tempDir('change-recovery');
  const inventory = writeInventory({
    'site.yaml': `services:\n  - name: site\n    host: local\n    healthCheck: { http: "${nginx.url}", status: 200, keyword: "app ok" }\n    nginx:\n      confPath: ${nginx.confPath}\n      prefix: ${nginx.prefix}\n      backends: [${backend}]\n`,
  }, join(dir, 'inventory'));
  writeFileSync(join(dir, 'policy.yaml'), 'rules:\n  - { tool: [nginx_set_upstream, rollback_change], decision: allow }\n');
  const dataDir = join(dir, 'data');
  const env = { WARDEN_DATA_DIR: dataDir, WARDEN_POLICY: join(dir, 'policy.yaml') };
  expect(warden(['inventory', 'load', inventory, '--by', 'test'], env).status).toBe(0);
  const made = warden(['tokens', 'create', '--principal', 'ops', '--role', 'operator', '--by', 'test', '--json'], env);
  expect(made.status, made.stderr).toBe(0);
  const { token } = JSON.parse(made.stdout) as { token: string };

  /** `warden serve --no-loop` on this data dir; resolves once it said where it listens. */
  const serve = async (): Promise<Started & { url: string; exited: Promise<void> }> => {
    const s = startProcess(process.execPath, [CLI, 'serve', '--port', '0', '--no-loop'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ...env },
    });
    const exited = new Promise<void>((resolve) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) resolve();
      else s.child.once('exit', () => resolve());
    });
    cleanups.push(() => s.stop('SIGTERM', 10_000));
    const url = await readyUrl(s);
    return Object.assign(s, { url, exited });
  };

  /**
   * Starts nginx_set_upstream to `server` over HTTP without waiting for its answer, and SIGKILLs
   * the server as soon as the change row says 'verifying'. Returns the row as the kill left it.
   */
  const killWhileVerifying = async (server: string): Promise<ChangeRow> => {
    const first = await serve();
    const client = await connectHttp(first.url, token);
    cleanups.push(() => client.close());
    // The call dies with its server: its rejection is expected, and must not go unhandled.
    void client.client.callTool({ name: 'nginx_set_upstream', arguments: { service: 'site', server, verifySeconds: VERIFY_S } }).catch(() => undefined);
    await waitFor('the change to reach verifying', async () => theChange(dataDir)?.status === 'verifying', first, 20_000);
    process.kill(first.pid, 'SIGKILL');
    await first.exited; // reaped: a zombie would still count as a live owner
    expect(first.child.signalCode).toBe('SIGKILL');
    await client.close().catch(() => undefined);
    return theChange(dataDir)!;
  };

  const site = (): Promise<{ status: number; text: string }> => httpGet(nginx.url);

  return { nginx, dataDir, serve, killWhileVerifying, site };
}

const recoveryEntries = (dataDir: string, changeId: string): Array<[string, string]> =>
  query<AuditRow>(dataDir, `SELECT tool, phase, principal, args FROM audit WHERE tool = 'rollback_change' ORDER BY seq`)
    .filter((e) => e.principal === 'warden' && e.args.includes(changeId))
    .map((e) => [e.tool, e.phase]);

describe('a change left verifying by a SIGKILLed warden serve', () => {
  /** A site answering 502, and a change to `backend` left verifying by a SIGKILLed serve (owned by a process that is gone). */
  async function killedMidCheck() {
    const backend = await switchableBackend();
    const w = await world(backend.address);
    const before = readFileSync(w.nginx.confPath, 'utf8');
    expect((await w.site()).status).toBe(502);
    const killed = await w.killWhileVerifying(backend.address);
    expect(killed.status).toBe('verifying');
    return { backend, w, before, killed };
  }

  it('is checked again on the next start and kept when its check passes: verified, the new address in effect', async () => {
    const { backend, w, before, killed } = await killedMidCheck();

    const second = await w.serve();
    await waitFor('recovery to verify the change', async () => theChange(w.dataDir)?.status !== 'verifying', second, (VERIFY_S + 30) * 1_000);
    expect(theChange(w.dataDir)).toMatchObject({ id: killed.id, status: 'verified', owner: expect.stringMatching(new RegExp(`:${second.pid}:`)) });
    const after = readFileSync(w.nginx.confPath, 'utf8');
    expect(after).not.toBe(before);
    expect(after).toContain(`server ${backend.address} max_fails=0;`);
    expect(await w.site()).toEqual({ status: 200, text: 'app ok\n' });
    await waitFor('the audit outcome', async () => recoveryEntries(w.dataDir, killed.id).length === 2);
    expect(recoveryEntries(w.dataDir, killed.id)).toEqual([['rollback_change', 'requested'], ['rollback_change', 'completed']]);
  }, 90_000);

  it('is rolled back on the next start when its check now fails: the config as before, the site answering 502 as before', async () => {
    const { backend, w, before, killed } = await killedMidCheck();
    // Only now, with nobody checking: the backend the change points at breaks.
    backend.answer(500, 'broken\n');
    expect(readFileSync(w.nginx.confPath, 'utf8')).not.toBe(before);

    const second = await w.serve();
    await waitFor('recovery to finish the change', async () => !['verifying', 'rolling_back'].includes(theChange(w.dataDir)?.status ?? ''), second, (VERIFY_S + 30) * 1_000);
    expect(theChange(w.dataDir)).toMatchObject({ id: killed.id, status: 'rolled_back' });
    expect(readFileSync(w.nginx.confPath, 'utf8')).toBe(before);
    expect((await w.site()).status).toBe(502);
    // A recovery that rolled back cleanly is a success, not an alarm.
    await waitFor('the audit outcome', async () => recoveryEntries(w.dataDir, killed.id).length === 2);
    expect(recoveryEntries(w.dataDir, killed.id)).toEqual([['rollback_change', 'requested'], ['rollback_change', 'completed']]);
    expect(second.output()).not.toMatch(/could not be finished/);
  }, 90_000);
});
