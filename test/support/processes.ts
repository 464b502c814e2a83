// Starts the real services the tests need and remembers every pid it started, so that
// global teardown can stop them by pid even when a test file crashes. Never kills by name.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import {
  appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Directory shared by every worker of one vitest run; set by test/support/global-setup.ts. */
export function runDir(): string {
  const dir = process.env.WARDEN_TEST_RUN_DIR ?? join(tmpdir(), 'warden-test-run');
  mkdirSync(dir, { recursive: true });
  return dir;
}

const pidFile = (): string => join(runDir(), 'pids');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(runDir(), `${prefix}-`));
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Last output lines, for a failure message that says why a service did not start. */
  output: () => string;
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<void>;
}

/** Spawns a long-running service and records its pid for global teardown. */
export function startProcess(cmd: string, args: string[], opts: SpawnOptions = {}): Started {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  const pid = child.pid;
  recordPid(pid);
  let out = '';
  const keep = (b: Buffer): void => { out = (out + b.toString()).slice(-8000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    pid,
    output: () => out,
    stop: async (signal = 'SIGTERM', graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try { process.kill(pid, signal); } catch { return; }
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'late') {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
        await exited;
      }
    },
  };
}

/** Polls until probe resolves true; throws with the service's own output when it never does. */
export async function waitFor(what: string, probe: () => Promise<boolean>, started?: Started, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (started && (started.child.exitCode !== null || started.child.signalCode !== null)) {
      throw new Error(`${what} exited before it answered:\n${started.output()}`);
    }
    try { if (await probe()) return; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${timeoutMs} ms:\n${started?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Kills every pid recorded in this run that is still alive, then what recordOwned() named
 * (pid files, processes by their private paths, mounts). Used by global teardown.
 */
export function killRecorded(): number {
  if (!existsSync(pidFile())) return 0;
  const killed = new Set<number>();
  const owned: Owned[] = [];
  for (const line of readFileSync(pidFile(), 'utf8').split('\n')) {
    if (line.startsWith('{')) {
      try { owned.push(JSON.parse(line) as Owned); } catch { /* torn write of a crashed worker */ }
      continue;
    }
    const [p, start] = line.split(' ');
    const pid = Number(p);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    // A recorded pid whose start time changed has exited and the number was reused: not ours.
    if (start !== undefined && procStartTicks(pid) !== Number(start)) continue;
    try { process.kill(pid, 'SIGKILL'); killed.add(pid); } catch { /* already gone */ }
  }
  for (const o of owned) for (const pid of cleanupOwned(o)) killed.add(pid);
  rmSync(pidFile(), { force: true });
  return killed.size;
}

// ---- Processes a service starts that are not our children (dockerd's containerd, its shims) ----

/**
 * What a service owns beyond the pid startProcess() recorded, for teardown after a crash.
 * Everything is keyed by paths inside the service's own temp dir, never by a program name.
 */
export interface Owned {
  /** Pid files; a `*` matches one path segment. A pid counts only if that process started before the file was written. */
  pidFiles?: string[];
  /** Processes with an argument (or `--flag=` value) equal to, or under, one of these paths (e.g. `-address DIR/containerd.sock`). */
  argvUnder?: string[];
  /** Unmount everything mounted at or below these paths (lazily, deepest first). */
  mountsUnder?: string[];
  /** Files (`*` as in pidFiles) that each hold one unix socket address (`unix:///run/x/s/HASH`): remove those sockets. */
  socketsNamedIn?: string[];
  /** Cgroups, relative to each hierarchy's root (e.g. `warden-dockerd-AbC123`): remove them, children first, once empty. */
  cgroups?: string[];
}

/** Records a pid that startProcess() did not spawn (e.g. a daemon's own child), with its start time. */
export function recordPid(pid: number): void {
  const start = procStartTicks(pid);
  appendFileSync(pidFile(), start === undefined ? `${pid}\n` : `${pid} ${start}\n`);
}

/** Records what cleanupOwned() should sweep at global teardown if the test file never does. */
export function recordOwned(owned: Owned): void {
  appendFileSync(pidFile(), `${JSON.stringify(owned)}\n`);
}

/**
 * SIGKILLs the processes `owned` names, waits (up to 5 s) until they are gone, then removes its
 * sockets, mounts and cgroups. Returns the pids it signalled.
 */
export function cleanupOwned(owned: Owned): number[] {
  const pids = new Set<number>();
  for (const pattern of owned.pidFiles ?? []) for (const pid of pidsFromFiles(pattern)) pids.add(pid);
  for (const pid of pidsWithArgvUnder(owned.argvUnder ?? [])) pids.add(pid);
  const killed: number[] = [];
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); killed.push(pid); } catch { /* already gone */ }
  }
  const deadline = Date.now() + 5_000;
  while (killed.some(isAlive) && Date.now() < deadline) sleepSync(20);
  for (const pattern of owned.socketsNamedIn ?? []) {
    for (const file of globSegments(pattern)) {
      try {
        const socket = readFileSync(file, 'utf8').trim().replace(/^unix:\/\//, '');
        if (socket.startsWith('/') && lstatSync(socket).isSocket()) unlinkSync(socket);
      } catch { /* gone already */ }
    }
  }
  for (const dir of owned.mountsUnder ?? []) unmountUnder(dir);
  for (const name of owned.cgroups ?? []) removeCgroup(name);
  return killed;
}

/** Removes cgroup `name` (and its children) from every mounted hierarchy; a cgroup that still has tasks stays. */
export function removeCgroup(name: string): void {
  const rel = name.replace(/^\/+|\/+$/g, '');
  if (rel === '' || rel.split('/').includes('..')) return;
  let info: string;
  try { info = readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return; }
  const roots = info.split('\n').map((line) => line.split(' '))
    .filter((f) => ['cgroup', 'cgroup2'].includes(f[f.indexOf('-') + 1] ?? ''))
    .map((f) => f[4] ?? '');
  const rmTree = (dir: string): void => {
    let children: string[];
    try { children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name); } catch { return; }
    for (const c of children) rmTree(join(dir, c));
    try { rmdirSync(dir); } catch { /* not empty, or already gone */ }
  };
  for (const root of roots) if (root !== '') rmTree(join(root, rel));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Pids of live processes that have an argument equal to, or under, one of `paths`. */
export function pidsWithArgvUnder(paths: string[]): number[] {
  if (paths.length === 0) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    let argv: string[];
    try { argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    const under = (a: string): boolean => paths.some((p) => a === p || a.startsWith(`${p}/`));
    // `-address DIR/x.sock` and `--exec-root=DIR/exec` both count.
    if (argv.some((a) => under(a) || under(a.slice(a.indexOf('=') + 1)))) found.push(pid);
  }
  return found;
}

/** Whether `pid` is a live process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}

/** Mount points at or below `dir`, deepest first, from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  let info: string;
  try { info = readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return []; }
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info.split('\n')
    .map((line) => unescape(line.split(' ')[4] ?? ''))
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything at or below `dir`, so that removing it cannot reach into a mount. */
export function unmountUnder(dir: string): void {
  for (const mp of mountsUnder(dir)) {
    try { execFileSync('umount', ['-l', mp], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
}

/** Start time of a process in clock ticks after boot (field 22 of /proc/PID/stat). */
function procStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch { return undefined; }
}

let bootMs: number | undefined;
function procStartMs(pid: number): number | undefined {
  const ticks = procStartTicks(pid);
  if (ticks === undefined) return undefined;
  bootMs ??= 1000 * Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
  return bootMs + ticks * 10; // USER_HZ is 100 on every Linux we run on
}

/** Pids from the files matching `pattern` whose process started before the file was last written. */
function pidsFromFiles(pattern: string): number[] {
  const pids: number[] = [];
  for (const file of globSegments(pattern)) {
    let pid: number;
    let mtimeMs: number;
    try {
      pid = Number(readFileSync(file, 'utf8').trim());
      mtimeMs = statSync(file).mtimeMs;
    } catch { continue; }
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    const startMs = procStartMs(pid);
    // btime has one-second resolution: allow 2 s. A reused pid starts after the file was written.
    if (startMs !== undefined && startMs <= mtimeMs + 2000) pids.push(pid);
  }
  return pids;
}

/** Paths matching an absolute pattern where `*` stands for one whole path segment. */
function globSegments(pattern: string): string[] {
  let paths = ['/'];
  for (const seg of pattern.split('/').filter((s) => s !== '')) {
    const next: string[] = [];
    for (const base of paths) {
      if (seg !== '*') { next.push(join(base, seg)); continue; }
      try {
        for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory()) next.push(join(base, e.name));
      } catch { /* no such dir */ }
    }
    paths = next;
  }
  return paths.filter((p) => existsSync(p));
}
