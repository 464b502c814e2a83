// SSH to inventory hosts: one pooled connection per host (commands and Docker forwarding share it),
// host keys pinned against known_hosts, and the one place SSH errors become ToolFailure kinds.
// Remote commands are argv arrays; every argument is quoted, so none can become shell syntax.
import type { Duplex } from 'node:stream';
import { readFile } from 'node:fs/promises';
import pRetry from 'p-retry';
import { openAsFailure, sshBreaker, type BreakerBoard } from './breakers.js';
import type { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { ToolFailure, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { redactText } from '../shared/redact.js';
import { CappedOutput, boundRun } from './capped-output.js';
import type { CommandResult, CommandRunner, RunOptions } from './commands.js';
import { hostFileError, type SshSpec } from './hosts.js';
import { isPinned, pinnedKeys, type PinnedKeys } from './known-hosts.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Quotes every argument for a POSIX shell (the remote login shell runs the command line) and
 * joins them: 'arg', with each ' written as '\''. Inside single quotes nothing is special, so
 * `;`, `$(...)`, backticks, globs and newlines stay literal text. NUL cannot be passed at all.
 */
export function shellQuoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new ToolFailure('internal', 'empty argv');
  return argv
    .map((arg) => {
      if (arg.includes('\0')) throw new ToolFailure('invalid_input', 'an argument contains a NUL byte, which no remote command can receive');
      return `'${arg.replace(/'/g, `'\\''`)}'`;
    })
    .join(' ');
}

/** Translates an ssh2/node-ssh error: every SSH problem is `unavailable`, naming host and step. */
export function sshFailure(err: unknown, host: string, step: string): ToolFailure {
  if (err instanceof ToolFailure) return err;
  const e = err as { level?: string; code?: string };
  const said = redactText(errorMessage(err)).slice(0, 200);
  const why =
    e.level === 'client-authentication' ? 'the login was refused (authentication failed for the configured key)'
    : e.level === 'client-timeout' ? 'it timed out'
    : /Host denied/.test(said) ? 'the host key does not match known_hosts (refusing to connect: possible impersonation)'
    : /privateKey|private key/i.test(said) ? 'its key file is not a usable private key'
    : e.code ? `it is unreachable (${e.code})`
    : `it failed: ${said}`;
  return new ToolFailure('unavailable', `SSH to host ${host} during ${step}: ${why}; retry later or check the inventory entry`, {}, err);
}

const CUT_BEFORE_EXIT = /closed before the command reported its exit/;
const refusedChannel = (err: unknown): boolean => /Channel open failure/.test(errorMessage(err));

/** OpenSSH allows 10 sessions per connection by default (MaxSessions); stay below it. */
const MAX_SESSIONS_PER_HOST = 8;

class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

interface Pooled {
  ready: Promise<NodeSSH>;
  ssh?: NodeSSH;
}

export class SshPool {
  private readonly pool = new Map<string, Pooled>();
  private readonly warnedUnpinned = new Set<string>();
  private readonly slots = new Map<string, Slots>();

  /** `breakers`: each host's connects pass its breaker, so a host that is down (or refuses the login) is not dialled again and again. */
  constructor(private readonly log: Logger, private readonly breakers?: BreakerBoard) {}

  /** The connection to `host`, opened on first use and again after it dropped. */
  connection(host: string, spec: SshSpec): Promise<NodeSSH> {
    const entry = this.pool.get(host);
    if (entry && (!entry.ssh || entry.ssh.isConnected())) return entry.ready;
    const ready = this.breakers
      ? sshBreaker(this.breakers, host).run(() => this.connect(host, spec)).catch((err: unknown) => { throw openAsFailure(err, `SSH to host ${host}`); })
      : this.connect(host, spec);
    const fresh: Pooled = { ready };
    this.pool.set(host, fresh);
    fresh.ready.then(
      (ssh) => { fresh.ssh = ssh; },
      () => { if (this.pool.get(host) === fresh) this.pool.delete(host); },
    );
    return fresh.ready;
  }

  /**
   * Opens a channel with `open` on the host's connection. A connection that died quietly is
   * replaced once (nothing reached the host yet); a channel refused on a live connection is not,
   * since dropping that connection would cut the other calls using it.
   */
  async open<T>(host: string, spec: SshSpec, step: string, open: (ssh: NodeSSH) => Promise<T>): Promise<T> {
    const ssh = await this.connection(host, spec);
    try {
      return await open(ssh);
    } catch (err) {
      if (ssh.isConnected() && refusedChannel(err)) {
        // sshd frees a session slot a moment after the previous channel closed: a few more tries on
        // the same connection, a little apart, before the call is refused.
        return pRetry(() => open(ssh), { retries: 3, minTimeout: 50, factor: 2, shouldRetry: refusedChannel })
          .catch((last: unknown) => { throw sshFailure(last, host, step); });
      }
      this.forget(host, ssh);
    }
    const again = await this.connection(host, spec);
    try {
      return await open(again);
    } catch (err) {
      throw sshFailure(err, host, step);
    }
  }

  /** Waits for one of the host's exec session slots; call the result to give it back. */
  sessionSlot(host: string): Promise<() => void> {
    let slots = this.slots.get(host);
    if (!slots) {
      slots = new Slots(MAX_SESSIONS_PER_HOST);
      this.slots.set(host, slots);
    }
    return slots.acquire();
  }

  /** Drops a connection that failed under a caller, so the next call reconnects. */
  forget(host: string, ssh: NodeSSH): void {
    const entry = this.pool.get(host);
    if (entry?.ssh === ssh) this.pool.delete(host);
    ssh.dispose();
  }

  async close(): Promise<void> {
    const entries = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(entries.map((e) => e.ready.then((ssh) => ssh.dispose(), () => undefined)));
  }

  private async connect(host: string, spec: SshSpec): Promise<NodeSSH> {
    const privateKey = await readFile(spec.keyPath, 'utf8').catch((err: unknown) => {
      throw new ToolFailure('unavailable', `SSH to host ${host} during connect: cannot read its key file ${hostFileError(host, 'ssh.keyPath', spec.keyPath, err)}; check the inventory entry`, {}, err);
    });
    const pinned = await this.pinned(host, spec);
    // Loaded with the first connection: a warden without SSH hosts never loads node-ssh and ssh2.
    const { NodeSSH: Ssh } = await import('node-ssh');
    const ssh = new Ssh();
    try {
      await ssh.connect({
        host: spec.address, port: spec.port, username: spec.user, privateKey,
        readyTimeout: spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        keepaliveInterval: 15_000,
        ...(pinned ? { hostVerifier: (key: Buffer) => isPinned(pinned, key) } : {}),
      });
    } catch (err) {
      ssh.dispose();
      throw sshFailure(err, host, 'connect');
    }
    // node-ssh stops listening for errors once connected; an unheard 'error' would crash warden.
    ssh.connection?.on('error', (err) => this.log.warn({ host, err: errorMessage(err) }, 'ssh connection error; will reconnect'));
    return ssh;
  }

  private async pinned(host: string, spec: SshSpec): Promise<PinnedKeys | undefined> {
    if (!spec.knownHostsPath) {
      if (!this.warnedUnpinned.has(host)) {
        this.warnedUnpinned.add(host);
        this.log.warn({ host }, 'ssh host key not pinned (no knownHostsPath): any key is accepted for this host');
      }
      return undefined;
    }
    const text = await readFile(spec.knownHostsPath, 'utf8').catch((err: unknown) => {
      throw new ToolFailure('unavailable', `SSH to host ${host} during connect: cannot read its known_hosts file ${hostFileError(host, 'ssh.knownHostsPath', spec.knownHostsPath!, err)}; check the inventory entry`, {}, err);
    });
    const keys = pinnedKeys(text, spec.address, spec.port);
    if (keys.accepted.length === 0) {
      throw new ToolFailure('unavailable', `SSH to host ${host} during connect: its known_hosts file has no key for ${spec.address}:${spec.port}; refusing to connect`);
    }
    return keys;
  }
}

/** A CommandRunner on `host` over its pooled SSH connection. Extra environment is not sent (sshd refuses most). */
export function sshCommandRunner(pool: SshPool, host: string, spec: SshSpec): CommandRunner {
  return {
    host,
    remote: true,
    async run(argv, opts) {
      const command = shellQuoteArgv(argv);
      const once = async (): Promise<CommandResult> => {
        const release = await pool.sessionSlot(host);
        try {
          const channel = await pool.open(host, spec, `exec ${argv[0]}`, (ssh) => openExec(ssh, command));
          return await collect(channel, host, argv[0]!, opts);
        } finally {
          release();
        }
      };
      // A busy sshd now and then closes a session before its exit status: a command that changes
      // nothing is simply run again; any other is reported, since it may have run.
      if (!opts.readOnly) return once();
      return pRetry(once, { retries: 1, minTimeout: 50, shouldRetry: (err) => err instanceof ToolFailure && CUT_BEFORE_EXIT.test(err.message) });
    },
  };
}

function openExec(ssh: NodeSSH, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const conn = ssh.connection;
    if (!conn) return reject(new Error('not connected'));
    conn.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

function collect(channel: ClientChannel, host: string, program: string, opts: RunOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const out = new CappedOutput(opts.maxOutputBytes);
    let exit: { code: number | null; signal?: string } | undefined;
    // Closing the channel is all SSH reliably offers: ssh2 sends no signal request after stdin EOF
    // and OpenSSH does not act on one for these sessions. The remote program gets SIGPIPE on its
    // next write; one that never writes again runs on until it ends by itself.
    const { finish } = boundRun(opts, { host, program }, () => channel.close(), reject);

    channel.on('data', (b: Buffer) => out.push('stdout', b));
    channel.stderr.on('data', (b: Buffer) => out.push('stderr', b));
    channel.on('exit', (code: number | null, signal?: string) => { exit = { code, signal: signal ?? undefined }; });
    channel.on('error', (err: Error) => finish(() => reject(sshFailure(err, host, `exec ${program}`))));
    channel.on('close', () => finish(() => {
      if (!exit) return reject(new ToolFailure('unavailable', `SSH to host ${host} during exec ${program}: the connection closed before the command reported its exit; retry later`));
      resolve(out.result(exit.code, exit.signal));
    }));
    channel.end(); // no stdin: a program that reads it sees EOF at once instead of hanging
  });
}

/** Opens a byte stream to `host:port` as seen from somewhere: directly, or from a remote host through SSH. */
export type Dial = (host: string, port: number) => Promise<Duplex>;

/**
 * A TCP connection made by the remote host's sshd (a direct-tcpip channel on the pooled connection),
 * so a monitor can probe what listens on that host's loopback. Nothing runs there: no command, no
 * shell. A refused or unreachable port is the answer, not retried.
 */
export function sshDial(pool: SshPool, host: string, spec: SshSpec): Dial {
  return async (dstHost, dstPort) => {
    const ssh = await pool.connection(host, spec);
    return ssh.forwardOut('127.0.0.1', 0, dstHost, dstPort);
  };
}

/** Node's http client may call socket tuning methods (setTimeout for a request timeout) that an SSH channel lacks; they mean nothing here. */
export function asSocket(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  for (const m of ['setTimeout', 'setNoDelay', 'setKeepAlive', 'ref', 'unref']) {
    if (typeof s[m] !== 'function') s[m] = () => stream;
  }
  return stream;
}
