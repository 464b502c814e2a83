// While another process holds the database's write lock, /healthz does not try its write probe at every
// request (each try would block the event loop for the server's busy timeout): the last answer stands.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthCheck } from '../../src/server/health.js';
import type { Runtime } from '../../src/server/runtime.js';
import { testRuntime } from '../support/warden.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';

const open: Runtime[] = [];
afterEach(async () => { for (const rt of open.splice(0)) await rt.close(); });

describe('/healthz while another process holds the write lock', () => {
  it('probes at most once per interval, not on every request', async () => {
    const rt = testRuntime({ adapters: fakeAdapters(new FakeDocker()), serving: true });
    open.push(rt);
    const health = createHealthCheck(rt);
    expect((await health()).status).toBe('ok'); // first probe, committed
    const other = new Database(join(rt.config.dataDir, 'warden.db'));
    other.exec('BEGIN IMMEDIATE'); // a CLI, a backup: holds the write lock
    try {
      // Past the probe interval: the next request probes, finds the lock busy...
      const realNow = Date.now;
      Date.now = () => realNow() + 6_000;
      try {
        const started = performance.now();
        for (let i = 0; i < 40; i += 1) await health();
        const blockedMs = performance.now() - started;
        // ...and so does every request after it: ~40 x 25 ms of synchronous waiting.
        expect(blockedMs).toBeLessThan(300);
      } finally {
        Date.now = realNow;
      }
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });
});
