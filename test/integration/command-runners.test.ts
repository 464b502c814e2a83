// The two CommandRunners against real programs: the local one (no shell) and the SSH one (a real
// sshd on 127.0.0.1, every argument quoted for the remote shell). Both must honour one contract.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { CommandRunner } from '../../src/adapters/commands.js';
import type { SshSpec } from '../../src/adapters/hosts.js';
import { localCommandRunner } from '../../src/adapters/local-commands.js';
import { SshPool, sshCommandRunner } from '../../src/adapters/ssh.js';
import { silentLogger } from '../../src/log.js';
import { freePort } from '../support/ports.js';
import { tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { failureOf } from '../support/failures.js';

let sshd: Sshd;
let login: SshSpec;
let dir: string;
const pools: SshPool[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  dir = tempDir('runners');
  writeFileSync(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  login = { address: sshd.host, port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: join(dir, 'known_hosts') };
});

afterAll(async () => {
  for (const p of pools) await p.close();
  await sshd?.stop();
});

function pool(log = silentLogger): SshPool {
  const p = new SshPool(log);
  pools.push(p);
  return p;
}

const RUNNERS: Array<[string, () => CommandRunner]> = [
  ['local', () => localCommandRunner()],
  ['ssh', () => sshCommandRunner(pool(), 'remote', login)],
];
// Read-only commands: over SSH the runner may run one again when sshd cut its session before its exit.
const RUN = { timeoutMs: 10_000, readOnly: true };

describe.each(RUNNERS)('%s runner', (_name, make) => {
  it('returns stdout, stderr and the exit code', async () => {
    const res = await make().run(['sh', '-c', 'echo out; echo err >&2; exit 3'], RUN);
    expect(res).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', truncated: false });
  });

  it('passes every argument through literally, shell syntax included', async () => {
    const args = ['x; touch /tmp/pwned', '$(id)', '`id`', 'a\nb', "it's", '', '--help', '$HOME', '*'];
    const res = await make().run(['printf', '<%s>\\n', ...args], RUN);
    expect([...res.stdout.matchAll(/<([\s\S]*?)>\n/g)].map((m) => m[1])).toEqual(args);
  });

  it('keeps the head of a large output, marks it truncated and keeps the real exit code', async () => {
    const res = await make().run(['head', '-c', '3000000', '/dev/zero'], { ...RUN, maxOutputBytes: 1000 });
    expect(res).toMatchObject({ exitCode: 0, truncated: true });
    expect(res.stdout).toHaveLength(1000);
  });

  it('reports a program killed by a signal as 128 + its number', async () => {
    const res = await make().run(['sh', '-c', 'kill -KILL $$'], RUN);
    expect(res).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
  });

  it('reports a missing program as exit 127, as a shell would', async () => {
    const res = await make().run(['/nonexistent/program', '--version'], RUN);
    expect(res.exitCode).toBe(127);
    expect(res.stderr).toMatch(/not found|No such file/);
  });

  it('gives up after the timeout with unavailable', async () => {
    const runner = make();
    const started = Date.now();
    await expect(runner.run(['sleep', '5'], { timeoutMs: 300 })).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/sleep.*timed out after 300 ms/) });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await runner.run(['true'], RUN)).exitCode).toBe(0); // the runner (and its connection) still works
  });

  it('stops when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(make().run(['sleep', '5'], { timeoutMs: 10_000, signal: ac.signal })).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/cancelled/) });
  });
});

describe('local runner environment', () => {
  it('adds opts.env to the inherited environment', async () => {
    const res = await localCommandRunner().run(['sh', '-c', 'echo "$WARDEN_TEST_VAR:${PATH:+has-path}"'], { ...RUN, env: { WARDEN_TEST_VAR: 'x' } });
    expect(res.stdout).toBe('x:has-path\n');
  });
});


describe('SSH connections', () => {
  it('shares one connection per host and reconnects after it drops', async () => {
    const p = pool();
    const runner = sshCommandRunner(p, 'remote', login);
    await runner.run(['true'], RUN);
    const first = await p.connection('remote', login);
    expect(await p.connection('remote', login)).toBe(first);
    await new Promise<void>((resolve) => { first.connection!.once('close', () => resolve()); first.connection!.end(); });
    expect((await runner.run(['echo', 'again'], RUN)).stdout).toBe('again\n');
    expect(await p.connection('remote', login)).not.toBe(first);
  });

  it('queues commands beyond sshd\'s MaxSessions (10) instead of failing them', async () => {
    const runner = sshCommandRunner(pool(), 'remote', login);
    const results = await Promise.all(Array.from({ length: 14 }, (_, i) => runner.run(['sh', '-c', `sleep 0.3; echo ${i}`], RUN)));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 14 }, (_, i) => `${i}\n`));
  });

  it('refuses a host whose key differs from known_hosts', async () => {
    const other = join(dir, 'other_known_hosts');
    writeFileSync(other, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n`);
    const f = await failureOf(sshCommandRunner(pool(), 'remote', { ...login, knownHostsPath: other }).run(['true'], RUN));
    expect(f.kind).toBe('unavailable');
    expect(f.message).toMatch(/host remote during connect: the host key does not match known_hosts/);
  });

  it('refuses a host that known_hosts does not list', async () => {
    const empty = join(dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const f = await failureOf(sshCommandRunner(pool(), 'remote', { ...login, knownHostsPath: empty }).run(['true'], RUN));
    expect(f.message).toMatch(/no key for 127\.0\.0\.1:\d+; refusing to connect/);
  });

  it('reports a refused login as unavailable, naming host and step', async () => {
    const wrong = join(dir, 'wrong_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong], { stdio: 'pipe' });
    const f = await failureOf(sshCommandRunner(pool(), 'remote', { ...login, keyPath: wrong }).run(['true'], RUN));
    expect(f.kind).toBe('unavailable');
    expect(f.message).toMatch(/SSH to host remote during connect: the login was refused/);
  });

  it('reports a closed port as unreachable', async () => {
    const f = await failureOf(sshCommandRunner(pool(), 'remote', { ...login, port: await freePort(), knownHostsPath: undefined }).run(['true'], RUN));
    expect(f.message).toMatch(/SSH to host remote during connect: it is unreachable \(ECONNREFUSED\)/);
  });

  it('warns once per host when the host key is not pinned', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
    const runner = sshCommandRunner(pool(log), 'remote', { ...login, knownHostsPath: undefined });
    await runner.run(['true'], RUN);
    const conn = await (pools.at(-1)!).connection('remote', login);
    conn.dispose();
    await runner.run(['true'], RUN); // reconnects
    expect(lines.filter((l) => l.includes('not pinned'))).toHaveLength(1);
  });
});
