// A key or known_hosts file that cannot be read names the inventory field and the path, before
// anything is dialled: whoever reads the error knows which entry to fix.
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostFileError } from '../../src/adapters/hosts.js';
import { SshPool } from '../../src/adapters/ssh.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../support/processes.js';

const spec = (keyPath: string, knownHostsPath?: string) => ({ address: '127.0.0.1', port: 1, user: 'ops', keyPath, ...(knownHostsPath ? { knownHostsPath } : {}) });

describe('SSH key files that cannot be read', () => {
  it('a missing key file names hosts.NAME.ssh.keyPath and the path', async () => {
    const path = join(tempDir('keys'), 'id_x');
    const pool = new SshPool(silentLogger);
    await expect(pool.connection('web-1', spec(path))).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining(`hosts.web-1.ssh.keyPath: ${path}: no such file`),
    });
    await pool.close();
  });

  it('a missing known_hosts file names hosts.NAME.ssh.knownHostsPath and the path', async () => {
    const dir = tempDir('keys');
    writeFileSync(join(dir, 'id_x'), 'not a key');
    const pool = new SshPool(silentLogger);
    await expect(pool.connection('web-1', spec(join(dir, 'id_x'), join(dir, 'known')))).rejects.toMatchObject({
      message: expect.stringContaining(`hosts.web-1.ssh.knownHostsPath: ${join(dir, 'known')}: no such file`),
    });
    await pool.close();
  });
});

describe('hostFileError', () => {
  it.each([
    ['ENOENT', 'no such file'],
    ['EACCES', 'permission denied'],
    ['EISDIR', 'a directory, not a file'],
    ['EIO', 'cannot read (EIO)'],
  ])('%s reads as "%s"', (code, words) => {
    expect(hostFileError('h', 'dockerTls.key', '/k', Object.assign(new Error('x'), { code }))).toBe(`hosts.h.dockerTls.key: /k: ${words}`);
  });

  it('a key path that is a directory is named as one when read', async () => {
    const dir = join(tempDir('keys'), 'd');
    mkdirSync(dir);
    const pool = new SshPool(silentLogger);
    await expect(pool.connection('web-1', spec(dir))).rejects.toMatchObject({ message: expect.stringContaining(`${dir}: a directory, not a file`) });
    await pool.close();
  });
});
