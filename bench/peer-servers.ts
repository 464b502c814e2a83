// The three MCP servers bench/peers.ts compares, each started over stdio by the same v1 SDK
// client against the bench's private dockerd: warden, docker-mcp (npm, dockerode) and
// podman-mcp-server (npm, a Go binary driving a `podman` CLI). The peers are installed into a
// directory the bench owns, never into the project; nothing here kills by name or touches the
// host's /run: docker-mcp's fixed socket path is redirected inside a private mount namespace.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, symlinkSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { CLI } from '../test/support/cli.js';
import { recordPid } from '../test/support/processes.js';

export type ServerName = 'warden' | 'docker-mcp' | 'podman-mcp-server';
export const SERVERS: ServerName[] = ['warden', 'docker-mcp', 'podman-mcp-server'];

/** How to start one server: argv and environment, and the program whose pid is the server's. */
export interface Launch {
  name: ServerName;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Basename of /proc/PID/exe of the real server (node, or the Go binary), for its RSS. */
  exe: string;
  /** The same program's `--help`, for its wall time. */
  help: { command: string; args: string[]; env: Record<string, string> };
}

export interface Running {
  client: Client;
  /** The server process itself (under unshare, the node that unshare and sh exec'd into). */
  pid: number;
  tools: Tool[];
  /** From spawn to the tools/list answer, ms. */
  startMs: number;
  stderr: () => string;
  close(): Promise<void>;
}

export interface PeerInstall {
  dir: string;
  dockerMcp?: { entry: string; version: string };
  podman?: { binary: string; version: string };
  /** Why a peer is missing, per peer. */
  missing: Partial<Record<ServerName, string>>;
}

/** Installs both peers under dir with npm (skipped where dir already holds them). */
export function installPeers(dir: string): PeerInstall {
  const modules = join(dir, 'node_modules');
  const have = (): boolean => existsSync(join(modules, 'docker-mcp', 'package.json')) && existsSync(join(modules, 'podman-mcp-server', 'package.json'));
  let why = '';
  if (!have()) {
    const r = spawnSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', 'docker-mcp', 'podman-mcp-server'], {
      encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (r.status !== 0) why = `npm install failed (${r.error?.message ?? `exit ${r.status}`}): ${lastLines(`${r.stdout}${r.stderr}`, 5)}`;
  }
  const out: PeerInstall = { dir, missing: {} };
  const dockerMcp = join(modules, 'docker-mcp');
  const entry = join(dockerMcp, 'dist', 'index.js');
  if (existsSync(entry)) out.dockerMcp = { entry, version: versionOf(dockerMcp) };
  else out.missing['docker-mcp'] = why || `${entry} not found after npm install`;
  // The npm package is a node wrapper that spawns the binary from an optional dependency; the
  // bench starts the binary itself so that start time and RSS are the Go server's own.
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `podman-mcp-server-${process.platform}-${arch}`;
  const binary = join(modules, pkg, 'bin', pkg);
  if (existsSync(binary)) out.podman = { binary, version: versionOf(join(modules, 'podman-mcp-server')) };
  else out.missing['podman-mcp-server'] = why || `${binary} not found (optional dependency ${pkg} not installed for this platform)`;
  return out;
}

function versionOf(pkgDir: string): string {
  try { return (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version; } catch { return '?'; }
}

export function wardenLaunch(env: { dockerHost: string; dataDir: string }): Launch {
  const e = { ...baseEnv(), DOCKER_HOST: env.dockerHost, WARDEN_DATA_DIR: env.dataDir, WARDEN_LOG_LEVEL: 'warn' };
  return {
    name: 'warden', command: process.execPath, args: [CLI, 'stdio'], env: e, exe: basename(process.execPath),
    help: { command: process.execPath, args: [CLI, '--help'], env: e },
  };
}

/**
 * docker-mcp connects to /var/run/docker.sock and nothing else for a local daemon. It runs in a
 * mount namespace of its own (unshare -m, private propagation) with a tmpfs over the directory
 * /var/run resolves to, holding one symlink to the bench socket; the host's /run is untouched.
 * unshare and sh exec into node, so the spawned pid is the server's.
 */
export function dockerMcpLaunch(entry: string, socketPath: string): Launch | string {
  const unshare = findOnPath('unshare');
  if (unshare === undefined) return 'unshare not found on PATH (util-linux)';
  const probe = spawnSync(unshare, ['-m', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) return `unshare -m failed (needs root or CAP_SYS_ADMIN): ${(probe.stderr || probe.error?.message || '').trim()}`;
  const runDir = realpathSync('/var/run');
  const script = 'mount -t tmpfs -o size=64k,mode=755 bench-run "$1" && ln -s "$2" "$1/docker.sock" && shift 2 && exec "$@"';
  const env = baseEnv();
  return {
    name: 'docker-mcp', command: unshare, args: ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', runDir, socketPath, process.execPath, entry],
    env, exe: basename(process.execPath),
    help: { command: process.execPath, args: [entry, '--help'], env },
  };
}

/**
 * podman-mcp-server's CLI implementation runs `podman` from PATH (after `podman version`
 * succeeds); a `podman` symlink to the docker CLI, first on PATH, with DOCKER_HOST on the bench
 * daemon, serves its ps/inspect/logs. `--podman-impl cli` so it never probes for a podman socket.
 */
export function podmanLaunch(binary: string, dockerHost: string, scratch: string): Launch | string {
  const docker = findOnPath('docker');
  if (docker === undefined) return 'the docker CLI is not on PATH';
  const bin = join(scratch, 'podman-bin');
  mkdirSync(bin, { recursive: true });
  const link = join(bin, 'podman');
  if (!existsSync(link)) symlinkSync(docker, link);
  else if (readlinkSync(link) !== docker) return `${link} exists and does not point at ${docker}`;
  const dockerConfig = join(scratch, 'docker-config'); // not ~/.docker: no contexts or credentials of the host
  mkdirSync(dockerConfig, { recursive: true });
  const env = { ...baseEnv(), PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, DOCKER_HOST: dockerHost, DOCKER_CONFIG: dockerConfig };
  return {
    name: 'podman-mcp-server', command: binary, args: ['--podman-impl', 'cli'], env, exe: basename(binary),
    help: { command: binary, args: ['--help'], env },
  };
}

function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
}

function findOnPath(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d !== '' && existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
}

/** Spawns the server, completes initialize and one tools/list, and times spawn -> that answer. */
export async function startServer(launch: Launch): Promise<Running> {
  const transport = new StdioClientTransport({ command: launch.command, args: launch.args, env: launch.env, stderr: 'pipe' });
  let stderrText = '';
  (transport.stderr as Readable | null)?.on('data', (b: Buffer) => { stderrText = (stderrText + b.toString()).slice(-8000); });
  const client = new Client({ name: 'warden-bench-peers', version: '1' });
  const t0 = performance.now();
  try {
    await client.connect(transport);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new Error(`${launch.name} did not start: ${String(err)}\n${lastLines(stderrText, 8)}`);
  }
  const pid = transport.pid!;
  recordPid(pid);
  const listed = await client.listTools();
  const startMs = performance.now() - t0;
  return {
    client, pid: serverPid(pid, launch.exe), tools: listed.tools, startMs,
    stderr: () => stderrText,
    close: () => client.close(),
  };
}

/** The pid whose /proc/PID/exe is `exe`: the spawned one, or a descendant where something forked. */
function serverPid(spawned: number, exe: string): number {
  const exeOf = (pid: number): string => { try { return basename(readlinkSync(`/proc/${pid}/exe`)); } catch { return ''; } };
  if (exeOf(spawned) === exe) return spawned;
  for (const child of descendants(spawned)) if (exeOf(child) === exe) return child;
  return spawned;
}

function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* exited meanwhile */ }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const [pid, ppid] of parentOf) if (ppid === p) { found.push(pid); queue.push(pid); }
  }
  return found;
}

/** VmRSS of a live process, in MiB. */
export function rssMiB(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch { return undefined; }
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
