// Data at rest: the data dir is 0700 and the database, its WAL and the audit anchor 0600 from
// their first write, whatever the umask; looser modes found at start are reported.
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { looseModes } from '../../src/store/db.js';
import { testRuntime } from '../support/warden.js';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

let umask: number;
beforeEach(() => { umask = process.umask(0o022); });
afterEach(() => { process.umask(umask); });

describe('data at rest', () => {
  it('creates the data dir 0700 and the database, WAL, shared memory, anchor and signing key 0600', async () => {
    const rt = testRuntime();
    try {
      rt.audit.append({ callId: 'c', principal: 'p', transport: 'cli', tool: 't', args: {}, argsHash: 'h', phase: 'requested' });
      const dir = rt.config.dataDir;
      expect([dir, 'warden.db', 'warden.db-wal', 'warden.db-shm', 'warden.db.head', 'audit.key'].map((f) => mode(f === dir ? dir : join(dir, f))))
        .toEqual(['700', '600', '600', '600', '600', '600']);
      expect(looseModes(dir)).toEqual([]);
    } finally {
      await rt.close();
    }
  });

  it('reports a data dir or database that others can read', async () => {
    const rt = testRuntime();
    const dir = rt.config.dataDir;
    await rt.close();
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'warden.db'), 0o644);
    expect(looseModes(dir)).toEqual([
      `${dir} is 0755, expected 0700 or stricter`,
      `${join(dir, 'warden.db')} is 0644, expected 0600 or stricter`,
    ]);
  });
});
