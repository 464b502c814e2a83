// A real OpenSSH sshd on 127.0.0.1 and a random port, with throwaway host and user keys.
// We run as root, so the login user is root, allowed by key only, through an
// authorized_keys file in the temp dir (StrictModes off: the temp dir is not 0700-owned).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { NodeSSH } from 'node-ssh';
import { freePort } from './ports.js';
import { startProcess, tempDir, waitFor } from './processes.js';

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  user: string;
  privateKeyPath: string;
  privateKey: string;
  hostKeyPath: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA...`, a line for a known_hosts file. */
  knownHostsLine: string;
  pid: number;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

function keygen(path: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'pipe' });
}

function sshdConfig(dir: string, port: number, user: string): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    `AllowUsers ${user}`,
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'X11Forwarding no',
    'MaxStartups 50:30:100',
    // Debian's bash sources ~/.bashrc for a command sshd runs unless SHLVL says it is nested: the
    // tests must not depend on (or pay for) what the login user's rc files do on this machine.
    'SetEnv SHLVL=1',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n');
}

/** One real SSH login that runs `true`; resolves true when it exits 0. */
async function canLogin(port: number, user: string, privateKey: string): Promise<boolean> {
  const ssh = new NodeSSH();
  try {
    await ssh.connect({ host: '127.0.0.1', port, username: user, privateKey, readyTimeout: 5_000 });
    const res = await ssh.execCommand('true');
    return res.code === 0;
  } finally {
    ssh.dispose();
  }
}

export async function startSshd(): Promise<Sshd> {
  const user = userInfo().username;
  if (user !== 'root') throw new Error(`startSshd: tests must run as root (running as ${user})`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const dir = tempDir('sshd');
  const hostKeyPath = join(dir, 'host_ed25519');
  const privateKeyPath = join(dir, 'user_ed25519');
  keygen(hostKeyPath, 'warden-test-host');
  keygen(privateKeyPath, 'warden-test-user');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${privateKeyPath}.pub`), { mode: 0o600 });
  const port = await freePort();
  const confPath = join(dir, 'sshd_config');
  writeFileSync(confPath, sshdConfig(dir, port, user));
  try {
    execFileSync(SSHD, ['-t', '-f', confPath], { stdio: 'pipe' }); // fails loudly with sshd's own words
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const started = startProcess(SSHD, ['-D', '-e', '-f', confPath]);
  const privateKey = readFileSync(privateKeyPath, 'utf8');
  const stop = async (): Promise<void> => {
    await started.stop('SIGTERM', 5_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`sshd on 127.0.0.1:${port}`, () => canLogin(port, user, privateKey), started);
  } catch (err) {
    await stop();
    throw err;
  }
  const hostPub = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim().split(/\s+/);
  return {
    host: '127.0.0.1', port, user, privateKeyPath, privateKey, hostKeyPath,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}`,
    pid: started.pid,
    stop,
  };
}
