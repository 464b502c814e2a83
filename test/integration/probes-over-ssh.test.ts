// Monitors with `from: host` probe through the host's SSH connection (a direct-tcpip channel made
// by the real sshd on 127.0.0.1; nothing runs there): HTTP with keyword, HTTPS with a self-signed
// certificate, TCP, a refused port, a silent server cut at the deadline, and a host with no login.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapters, type Adapters } from '../../src/adapters/index.js';
import { silentLogger } from '../../src/log.js';
import { monitorProbes } from '../../src/loop/monitors/start.js';
import type { Probes } from '../../src/loop/monitors/probe-task.js';
import { deadAddress } from '../support/backends.js';
import { tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';

let sshd: Sshd;
let adapters: Adapters;
let probes: Probes;
const servers: Server[] = [];
const held: Socket[] = [];
let closed = 0;
let http: number;
let https: number;
let silent: number;

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  sshd = await startSshd();
  const dir = tempDir('probes-ssh');
  writeFileSync(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '5', '-subj', '/CN=localhost', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'pipe' });
  const app = (_q: unknown, res: import('node:http').ServerResponse): void => { res.writeHead(200).end('served on the far side: warden-ok'); };
  http = await listen(createHttpServer(app));
  https = await listen(createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, app));
  silent = await listen(createNetServer((s) => {
    held.push(s);
    s.on('close', () => { closed += 1; });
    s.resume();
  }) as unknown as Server);
  adapters = createAdapters([
    { name: 'local' },
    { name: 'far', ssh: { address: sshd.host, port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: join(dir, 'known_hosts') } },
    { name: 'nologin' },
  ], silentLogger);
  probes = monitorProbes(adapters);
});

afterAll(async () => {
  for (const s of held) s.destroy();
  for (const s of servers) await new Promise((r) => { s.closeAllConnections?.(); s.close(r); });
  await adapters?.close();
  await sshd?.stop();
});

describe('probes from a host, through its SSH connection', () => {
  it('HTTP: GET through the channel, status and keyword checked', async () => {
    const r = await probes.http({ url: `http://127.0.0.1:${http}/health`, keyword: 'warden-ok' }, { timeoutMs: 5_000, from: 'far' });
    expect(r).toMatchObject({ up: true, status: 200, detail: `http://127.0.0.1:${http}/health answered 200 with "warden-ok"` });
  });

  it('HTTPS: TLS over the channel, the certificate read (self-signed, accepted only when asked)', async () => {
    const url = `https://localhost:${https}/`;
    const refused = await probes.http({ url }, { timeoutMs: 5_000, from: 'far' });
    expect(refused.up).toBe(false);
    expect(refused.detail).toMatch(/certificate does not verify/);
    const r = await probes.http({ url }, { timeoutMs: 5_000, from: 'far', ignoreTlsErrors: true });
    expect(r).toMatchObject({ up: true, status: 200, certificate: { subject: 'CN=localhost' } });
    expect(r.certificate!.daysLeft).toBeGreaterThanOrEqual(4);
  });

  it('TCP: up when the far side connects; a refused port is down, with sshd\'s reason', async () => {
    expect(await probes.tcp(`127.0.0.1:${http}`, { timeoutMs: 5_000, from: 'far' })).toMatchObject({ up: true, detail: `127.0.0.1:${http} accepted a connection` });
    const dead = await deadAddress();
    const r = await probes.tcp(dead, { timeoutMs: 5_000, from: 'far' });
    expect(r.up).toBe(false);
    expect(r.detail).toMatch(/Connection refused/i);
  });

  it('a server that accepts and never answers is down at the deadline, the channel closed', async () => {
    const r = await probes.http({ url: `http://127.0.0.1:${silent}/` }, { timeoutMs: 800, from: 'far' });
    expect(r).toMatchObject({ up: false, status: null });
    expect(r.detail).toMatch(/no complete answer within 800 ms/);
    const deadline = Date.now() + 5_000;
    while (closed < held.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(held.length).toBe(1);
    expect(closed).toBe(1);
  });

  it('a host without an SSH login is a failed probe that says why, never a thrown error', async () => {
    const r = await probes.http({ url: `http://127.0.0.1:${http}/` }, { timeoutMs: 1_000, from: 'nologin' });
    expect(r).toMatchObject({ up: false, detail: expect.stringMatching(/^cannot probe from host nologin: .*no SSH login/) });
  });
});
