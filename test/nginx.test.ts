import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { NGINX_BIN, nginxArgs, nginxWorkers, startNginx, type Nginx } from './support/nginx.js';
import { waitFor } from './support/processes.js';

const run = promisify(execFile);
const started: Nginx[] = [];

async function fresh(): Promise<Nginx> {
  const n = await startNginx();
  started.push(n);
  return n;
}

async function body(n: Nginx): Promise<string> {
  return (await fetch(n.url)).text();
}

describe('test nginx', () => {
  afterAll(async () => {
    await Promise.all(started.map((n) => n.stop()));
  });

  it('serves the default body on its own loopback port', async () => {
    const n = await fresh();
    const res = await fetch(n.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('warden-test v1\n');
    expect(n.url).toBe(`http://127.0.0.1:${n.port}/`);
  });

  it('writes the master pid to the pid file named in its config', async () => {
    const n = await fresh();
    expect(Number(readFileSync(n.pidFile, 'utf8').trim())).toBe(n.pid);
    expect(readFileSync(n.confPath, 'utf8')).toContain(`pid ${n.pidFile};`);
  });

  it('serves a new body after writeConfig and nginx -s reload, same master', async () => {
    const n = await fresh();
    n.writeConfig('location / { return 200 "warden-test v2\\n"; }');
    await run(NGINX_BIN, [...nginxArgs(n), '-s', 'reload']);
    await waitFor('reloaded body', async () => (await body(n)) === 'warden-test v2\n', undefined, 10_000);
    expect(Number(readFileSync(n.pidFile, 'utf8').trim())).toBe(n.pid);
  });

  it('fails nginx -t on a broken config and keeps serving the old one', async () => {
    const n = await fresh();
    n.writeConfig('location / { return 200 "broken" }'); // no semicolon, unclosed braces
    const err = await run(NGINX_BIN, ['-t', ...nginxArgs(n)]).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/test failed/);
    expect(await body(n)).toBe('warden-test v1\n');
  });

  it('passes nginx -t on the config it started with', async () => {
    const n = await fresh();
    const { stderr } = await run(NGINX_BIN, ['-t', ...nginxArgs(n)]);
    expect(stderr).toMatch(/test is successful/);
  });

  it('leaves no master or worker behind after stop', async () => {
    const n = await fresh();
    const workers = nginxWorkers(n.pid);
    expect(workers.length).toBeGreaterThan(0);
    await n.stop();
    for (const pid of [n.pid, ...workers]) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('leaves no worker behind after stop, even workers a reload started', async () => {
    const n = await fresh();
    const before = nginxWorkers(n.pid);
    n.writeConfig('location / { return 200 "warden-test v3\\n"; }');
    await run(NGINX_BIN, [...nginxArgs(n), '-s', 'reload']);
    await waitFor('reloaded body', async () => (await body(n)) === 'warden-test v3\n', undefined, 10_000);
    const after = nginxWorkers(n.pid);
    expect(after.some((pid) => !before.includes(pid))).toBe(true);
    await n.stop();
    for (const pid of [n.pid, ...before, ...after]) expect(alive(pid), `pid ${pid}`).toBe(false);
  });
});

/** Live and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}
