import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeSSH } from 'node-ssh';
import { startSshd, type Sshd } from './support/sshd.js';

describe('test sshd', () => {
  let sshd: Sshd;
  const ssh = new NodeSSH();

  beforeAll(async () => {
    sshd = await startSshd();
    await ssh.connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.privateKey });
  });

  afterAll(async () => {
    ssh.dispose();
    await sshd?.stop();
  });

  it('runs commands on this Linux machine over a real SSH session', async () => {
    const res = await ssh.execCommand('uname -s');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('Linux');
  });

  it('logs in as root with the throwaway key', async () => {
    const res = await ssh.execCommand('id -u');
    expect(res.stdout).toBe('0');
  });

  it('presents the host key named in knownHostsLine', async () => {
    const seen: string[] = [];
    const probe = new NodeSSH();
    await probe.connect({
      host: sshd.host, port: sshd.port, username: sshd.user, privateKey: sshd.privateKey,
      hostVerifier: (key: Buffer) => { seen.push(key.toString('base64')); return true; },
    });
    probe.dispose();
    expect(sshd.knownHostsLine).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
    expect(sshd.knownHostsLine.split(' ')[2]).toBe(seen[0]);
  });

  it('refuses a key it was not given', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      .export({ format: 'pem', type: 'pkcs1' }).toString();
    const probe = new NodeSSH();
    await expect(probe.connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: other }))
      .rejects.toThrow(/authentication/i);
    probe.dispose();
  });
});
