// A real dockerd (Debian package docker.io) for one test file: private socket, data root, exec root
// and pid file in a temp dir; no bridge and no iptables, so containers run with network `none` or
// `host` only. dockerd starts its own containerd under the exec root, and containerd starts one
// shim per container; none of those are our children, so they are recorded for global teardown by
// their pid files and by their arguments that point into our temp dir, never by program name.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { basename, delimiter, join } from 'node:path';
import { BUSYBOX_IMAGE, importBusyboxImage } from './busybox-image.js';
import {
  cleanupOwned, isAlive, recordOwned, recordPid, startProcess, tempDir, waitFor,
  type Owned, type Started,
} from './processes.js';

export interface Dockerd {
  socketPath: string;
  /** `unix:///...`, for DOCKER_HOST or the docker CLI's -H. */
  dockerHost: string;
  /** A busybox image with no Cmd: containers must give their own. */
  image: string;
  pid: number;
  /** Removes every container, stops dockerd, its containerd and shims, and removes the temp dir. */
  stop(): Promise<void>;
}

export interface DockerdOptions {
  /** Default: overlay2, falling back to vfs where overlayfs does not work (or $WARDEN_TEST_DOCKER_STORAGE_DRIVER). */
  storageDriver?: string;
}

/** Storage driver that worked in this worker, so later files do not try one that failed. */
let workingDriver: string | undefined;

class StorageDriverError extends Error {}

export async function startDockerd(options: DockerdOptions = {}): Promise<Dockerd> {
  const explicit = options.storageDriver ?? process.env.WARDEN_TEST_DOCKER_STORAGE_DRIVER;
  if (explicit) return startWith(explicit);
  const drivers = workingDriver !== undefined ? [workingDriver] : ['overlay2', 'vfs'];
  const failures: string[] = [];
  for (const driver of drivers) {
    try {
      const dockerd = await startWith(driver);
      workingDriver = driver;
      return dockerd;
    } catch (err) {
      if (!(err instanceof StorageDriverError)) throw err;
      failures.push((err as Error).message);
    }
  }
  throw new Error(failures.join('\n\n'));
}

async function startWith(storageDriver: string): Promise<Dockerd> {
  const dockerd = findDockerd();
  const dir = tempDir('dockerd');
  const exec = join(dir, 'exec');
  const socketPath = join(dir, 'docker.sock');
  // containerd's socket is the longest path a kernel sockaddr_un (108 bytes) must hold.
  if (join(exec, 'containerd', 'containerd.sock.ttrpc').length > 107) {
    throw new Error(`dockerd: temp dir ${dir} is too long for a unix socket path; set TMPDIR to a shorter dir`);
  }
  const cgroup = `warden-${basename(dir)}`; // containers' cgroups, apart from any system docker's /docker
  const configFile = join(dir, 'daemon.json');
  writeFileSync(configFile, '{}\n'); // not /etc/docker/daemon.json
  const tasks = join(exec, 'containerd', 'daemon', 'io.containerd.runtime.v2.task', '*', '*');
  const owned: Owned = {
    pidFiles: [join(dir, 'docker.pid'), join(exec, 'containerd', 'containerd.pid'), join(tasks, 'init.pid')],
    // dockerd, containerd (--config DIR/...) and every shim (-address DIR/.../containerd.sock).
    argvUnder: [dir],
    // dockerd bind-mounts the data root onto itself, and leaves netns mounts under the exec root.
    mountsUnder: [dir],
    // A shim that is killed leaves its socket in /run/containerd/s/; its task dir says which.
    socketsNamedIn: [join(tasks, 'address')],
    cgroups: [cgroup],
  };
  recordOwned(owned); // before spawning, so a worker that dies during start-up is covered too

  const started = startProcess(dockerd, [
    `--config-file=${configFile}`,
    `--host=unix://${socketPath}`,
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${exec}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    `--storage-driver=${storageDriver}`,
    '--exec-opt=native.cgroupdriver=cgroupfs', // not systemd's, even where systemd runs: a plain cgroup dir
    `--cgroup-parent=/${cgroup}`,
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-masq=false',
    '--userland-proxy=false',
    '--log-level=warn',
  ], { env: { ...process.env, PATH: withSbin(process.env.PATH) } });

  const cleanup = async (): Promise<void> => {
    await started.stop('SIGTERM', 5_000);
    await removeAll(dir, owned);
  };
  try {
    await waitFor('dockerd', () => ping(socketPath), started, 30_000);
  } catch {
    const output = started.output();
    await cleanup();
    const msg = `dockerd (storage driver ${storageDriver}) did not start; its last output:\n${lastLines(output, 25)}`;
    throw /graphdriver|storage.driver|driver not supported|overlay/i.test(output) ? new StorageDriverError(msg) : new Error(msg);
  }

  try {
    const containerdPid = Number(readFileSync(join(exec, 'containerd', 'containerd.pid'), 'utf8').trim());
    if (Number.isInteger(containerdPid) && containerdPid > 1) recordPid(containerdPid);
    await importBusyboxImage(socketPath, BUSYBOX_IMAGE);
  } catch (err) {
    const output = started.output();
    await cleanup();
    throw new Error(`dockerd started but setting it up failed: ${String(err)}\ndockerd's last output:\n${lastLines(output, 25)}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    socketPath,
    dockerHost: `unix://${socketPath}`,
    image: BUSYBOX_IMAGE,
    pid: started.pid,
    stop: () => (stopping ??= stopDockerd(socketPath, started, dir, owned)),
  };
}

async function stopDockerd(socketPath: string, started: Started, dir: string, owned: Owned): Promise<void> {
  // Containers first, through the API: their shims exit and unmount their rootfs cleanly.
  try {
    const list = await api(socketPath, 'GET', '/containers/json?all=1');
    const ids = (JSON.parse(list.body) as { Id: string }[]).map((c) => c.Id);
    await Promise.all(ids.map((id) => api(socketPath, 'DELETE', `/containers/${id}?force=1&v=1`).catch(() => undefined)));
  } catch { /* dockerd already gone: the sweep below still finds what it left */ }
  const containerdPid = readPid(join(dir, 'exec', 'containerd', 'containerd.pid'));
  await started.stop('SIGTERM', 10_000);
  // dockerd stops its containerd on the way out; give it a moment, then sweep whatever is left.
  if (containerdPid !== undefined) await until(() => !isAlive(containerdPid), 5_000);
  await removeAll(dir, owned);
}

/** SIGKILLs what is left of this dockerd's processes, unmounts under its dir and removes it. */
async function removeAll(dir: string, owned: Owned): Promise<void> {
  cleanupOwned(owned);
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function findDockerd(): string {
  for (const d of withSbin(process.env.PATH).split(delimiter)) {
    if (d !== '' && existsSync(join(d, 'dockerd'))) return join(d, 'dockerd');
  }
  throw new Error('dockerd not found on PATH or in /usr/sbin: install the Debian package docker.io');
}

/** dockerd finds containerd, runc and containerd-shim-runc-v2 on PATH; a non-login PATH may lack sbin. */
function withSbin(path: string | undefined): string {
  return [path ?? '', '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter((p) => p !== '').join(delimiter);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch { return undefined; }
}

async function ping(socketPath: string): Promise<boolean> {
  const res = await api(socketPath, 'GET', '/_ping');
  return res.status === 200 && res.body === 'OK';
}

function api(socketPath: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
