// A real nginx on 127.0.0.1 and a random port, with its own prefix, config, pid file, logs and
// temp paths. `daemon off;` is in the config, so the process we spawn is the master and other code
// can still run `nginx -p <prefix> -c <conf> -s reload` or `-t` against the same files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { recordPid, startProcess, tempDir, waitFor } from './processes.js';

export const NGINX_BIN = '/usr/sbin/nginx';
export const DEFAULT_NGINX_BODY = 'location / { return 200 "warden-test v1\\n"; }';

export interface Nginx {
  port: number;
  prefix: string;
  confPath: string;
  pidFile: string;
  /** `http://127.0.0.1:PORT/` */
  url: string;
  /** The master's pid. */
  pid: number;
  /** Rewrites the config with `body` as the content of the one server block (listen is added), and `http` before that block (an upstream). */
  writeConfig(body: string, http?: string): void;
  /** `nginx -s reload` of this instance, waiting until the old workers are gone. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** `['-p', prefix, '-c', confPath]`: what any nginx command against this instance needs. */
export function nginxArgs(n: Pick<Nginx, 'prefix' | 'confPath'>): string[] {
  return ['-p', n.prefix, '-c', n.confPath];
}

/** The whole nginx.conf for one instance; `body` goes inside its only server block. */
export function nginxConfig(prefix: string, port: number, body: string, http = ''): string {
  const p = (rel: string): string => join(prefix, rel);
  return `# written by test/support/nginx.ts
daemon off;
master_process on;
user root;
worker_processes 1;
pid ${p('nginx.pid')};
lock_file ${p('nginx.lock')};
error_log ${p('logs/error.log')} info;
events { worker_connections 64; }
http {
  access_log ${p('logs/access.log')};
  client_body_temp_path ${p('tmp/client_body')};
  proxy_temp_path ${p('tmp/proxy')};
  fastcgi_temp_path ${p('tmp/fastcgi')};
  uwsgi_temp_path ${p('tmp/uwsgi')};
  scgi_temp_path ${p('tmp/scgi')};
  default_type text/plain;
${http}
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
${body}
  }
}
`;
}

async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return true;
}

/** Pids of the master's current children (its workers). */
export function nginxWorkers(masterPid: number): number[] {
  try {
    return readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { return []; }
}

/** SIGKILLs what is left in nginx's own process group (its workers); the group is ours alone. */
function killGroup(pgid: number): void {
  try { process.kill(-pgid, 'SIGKILL'); } catch { /* group already empty */ }
}

export async function startNginx(opts: { confBody?: string } = {}): Promise<Nginx> {
  const prefix = tempDir('nginx');
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'tmp'));
  const port = await freePort();
  const confPath = join(prefix, 'nginx.conf');
  const writeConfig = (body: string, http?: string): void => writeFileSync(confPath, nginxConfig(prefix, port, body, http));
  writeConfig(opts.confBody ?? DEFAULT_NGINX_BODY);
  const args = ['-p', prefix, '-c', confPath];
  try {
    execFileSync(NGINX_BIN, ['-q', '-t', ...args], { stdio: 'pipe' }); // a bad config fails here, loudly
  } catch (err) {
    rmSync(prefix, { recursive: true, force: true });
    throw err;
  }
  // Own process group: the master and its workers share it, so a stop can reach the workers.
  const started = startProcess(NGINX_BIN, ['-e', join(prefix, 'logs/error.log'), ...args], { detached: true });
  const url = `http://127.0.0.1:${port}/`;
  const stop = async (): Promise<void> => {
    await started.stop('SIGQUIT', 10_000); // graceful; SIGKILL after the grace period
    killGroup(started.pid);
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await waitFor(`nginx on 127.0.0.1:${port}`, () => answers(url), started);
  } catch (err) {
    await stop();
    throw err;
  }
  // Workers outlive a SIGKILLed master: let global teardown find them if this file crashes.
  // (Workers started by a later reload are reached by stop() through the process group only.)
  for (const pid of nginxWorkers(started.pid)) recordPid(pid);
  const reload = async (): Promise<void> => {
    const before = nginxWorkers(started.pid);
    execFileSync(NGINX_BIN, [...args, '-s', 'reload'], { stdio: 'pipe' });
    await waitFor('nginx to replace its workers', async () => {
      const now = nginxWorkers(started.pid);
      if (now.length === 0 || now.some((w) => before.includes(w))) throw new Error(`workers ${now.join(' ')}`);
      return true;
    }, started);
  };
  return { port, prefix, confPath, pidFile: join(prefix, 'nginx.pid'), url, pid: started.pid, writeConfig, reload, stop };
}
