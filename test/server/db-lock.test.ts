// Another process holds SQLite's write lock (a backup, a CLI command, a second warden): the
// server keeps answering. A call whose 'requested' entry cannot be written is refused, and no
// write runs before its 'requested' entry is committed.
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { failureOf } from '../../src/shared/failure-meta.js';
import { dbPath } from '../../src/store/db.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { connectHttp, request, useGateways } from '../support/http-gateway.js';
import { startProcess, tempDir, waitFor } from '../support/processes.js';

const gateways = useGateways();

const HOLDER = `
import { createRequire } from 'node:module';
const [root, file, ms] = process.argv.slice(2);
const Database = createRequire(root + '/package.json')('better-sqlite3');
const db = new Database(file);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); }, Number(ms));
`;

function holdWriteLock(file: string, ms: number): { locked: Promise<void>; released: Promise<void>; stop(): Promise<void> } {
  const script = join(tempDir('lock-holder'), 'hold.mjs');
  writeFileSync(script, HOLDER);
  const p = startProcess(process.execPath, [script, process.cwd(), file, String(ms)]);
  const line = (text: string): Promise<void> => new Promise((resolve) => {
    p.child.stdout?.on('data', (b: Buffer) => { if (b.toString().includes(text)) resolve(); });
  });
  const locked = line('locked');
  const released = line('released');
  return { locked, released, stop: () => p.stop() };
}

function kindOf(r: CallToolResult): string {
  return r.isError ? failureOf(r).kind ?? 'error' : 'ok';
}

describe('a database write lock held by another process', () => {
  it('leaves /healthz, /metrics, new sessions and read calls answering, and runs no write before its requested entry', async () => {
    const adapters = fakeAdapters();
    const g = await gateways.custom({ adapters, serving: true, policy: 'rules: [{ tool: restart_container, decision: allow }]\n' });
    const file = dbPath(g.rt.config.dataDir);
    // What a restart finds committed when it runs, read by another connection as an auditor would.
    const ranAfter: number[] = [];
    const restart = adapters.fake.restartContainer.bind(adapters.fake);
    adapters.fake.restartContainer = async (ref) => {
      const ro = new Database(file, { readonly: true });
      try {
        ranAfter.push((ro.prepare(`SELECT count(*) AS n FROM audit WHERE tool = 'restart_container' AND phase = 'requested'`).get() as { n: number }).n);
      } finally {
        ro.close();
      }
      return restart(ref);
    };
    const ops = await connectHttp(g.url, g.token('ops', 'operator'));
    const admin = g.token('admin', 'admin');
    const late = g.token('late', 'readonly');

    const holder = holdWriteLock(file, 8_000);
    try {
      await holder.locked;
      const events: string[] = [];
      const released = holder.released.then(() => events.push('released'));
      const healthz = request(g.url, '/healthz').then((r) => events.push(`healthz ${r.status}`));
      const metrics = request(g.url, '/metrics', { token: admin }).then((r) => events.push(`metrics ${r.status}`));
      const session = connectHttp(g.url, late).then(async (c) => { events.push('session'); await c.close(); });
      const read = ops.client.callTool({ name: 'list_containers', arguments: {} }).then((r) => { events.push(`read ${kindOf(r as CallToolResult)}`); return r as CallToolResult; });
      const write = ops.client.callTool({ name: 'restart_container', arguments: { container: 'web-1', waitSeconds: 0 } }).then((r) => { events.push(`write ${kindOf(r as CallToolResult)}`); return r as CallToolResult; });
      await Promise.all([healthz, metrics, session, read, write, released]);

      const before = events.slice(0, events.indexOf('released'));
      expect(before).toEqual(expect.arrayContaining(['healthz 200', 'metrics 200', 'session']));
      // The calls answered while the lock was held: refused, naming the lock, nothing run.
      expect(before).toEqual(expect.arrayContaining(['read unavailable', 'write unavailable']));
      expect(((await write).content[0] as { text: string }).text).toMatch(/locked by another process.*Nothing ran; retry/s);
      expect(ranAfter).toEqual([]);
    } finally {
      await holder.stop();
    }

    // Free again: the write runs, its 'requested' entry committed first; the refusals were audited late, not lost.
    const again = (await ops.client.callTool({ name: 'restart_container', arguments: { container: 'web-1', waitSeconds: 0 } })) as CallToolResult;
    expect(kindOf(again)).toBe('ok');
    expect(ranAfter).toEqual([1]);
    await waitFor('the busy refusals in the audit', async () =>
      g.rt.audit.list().filter((e) => e.phase === 'failed' && e.errorKind === 'unavailable').length === 2);
    expect(g.rt.audit.verify()).toMatchObject({ ok: true });
    await ops.close();
  }, 30_000);
});
