import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isPinned, knownHostsName, pinnedKeys } from '../../src/adapters/known-hosts.js';

const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts pinning', () => {
  it('names a non-default port as [addr]:port and port 22 as the bare address', () => {
    expect(knownHostsName('10.0.0.5', 22)).toBe('10.0.0.5');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('accepts the key listed for the exact host and port only', () => {
    const text = `[127.0.0.1]:2222 ssh-ed25519 ${KEY_A}\n127.0.0.1 ssh-ed25519 ${KEY_B}\n`;
    expect(pinnedKeys(text, '127.0.0.1', 2222).accepted).toEqual([KEY_A]);
    expect(pinnedKeys(text, '127.0.0.1', 22).accepted).toEqual([KEY_B]);
    expect(pinnedKeys(text, '127.0.0.1', 2200).accepted).toEqual([]);
  });

  it('matches hashed host names (HashKnownHosts yes)', () => {
    const text = `${hashed('[127.0.0.1]:2222')} ssh-ed25519 ${KEY_A}\n`;
    expect(pinnedKeys(text, '127.0.0.1', 2222).accepted).toEqual([KEY_A]);
    expect(pinnedKeys(text, '127.0.0.2', 2222).accepted).toEqual([]);
  });

  it('honours comma lists, wildcards and negation', () => {
    const text = `gpu-*.lab,!gpu-9.lab,web ssh-ed25519 ${KEY_A}\n`;
    expect(pinnedKeys(text, 'gpu-1.lab', 22).accepted).toEqual([KEY_A]);
    expect(pinnedKeys(text, 'web', 22).accepted).toEqual([KEY_A]);
    expect(pinnedKeys(text, 'gpu-9.lab', 22).accepted).toEqual([]);
  });

  it('refuses a revoked key even where another line accepts it', () => {
    const keys = pinnedKeys(`web ssh-ed25519 ${KEY_A}\n@revoked * ssh-ed25519 ${KEY_A}\n`, 'web', 22);
    expect(isPinned(keys, Buffer.from(KEY_A, 'base64'))).toBe(false);
  });

  it('ignores comments, blank lines and @cert-authority lines', () => {
    const text = `# comment\n\n@cert-authority * ssh-ed25519 ${KEY_B}\nweb ssh-ed25519 ${KEY_A} user@box\n`;
    expect(pinnedKeys(text, 'web', 22).accepted).toEqual([KEY_A]);
  });

  it('compares the presented key blob with the pinned base64', () => {
    const keys = pinnedKeys(`web ssh-ed25519 ${KEY_A}\n`, 'web', 22);
    expect(isPinned(keys, Buffer.from(KEY_A, 'base64'))).toBe(true);
    expect(isPinned(keys, Buffer.from(KEY_B, 'base64'))).toBe(false);
  });
});
