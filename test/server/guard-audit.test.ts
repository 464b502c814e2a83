// How the guard audits each kind of call: a plain read once, after it ran, with its request; a
// write's 'requested' entry committed before its handler runs; overlapping calls sharing commits;
// no output of a read going out when its entry cannot be written; and one entry that cannot be
// written (too big for the room left on disk) failing alone, never the others of its batch.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Caller } from '../../src/policy/call.js';
import type { Runtime } from '../../src/server/runtime.js';
import type { Notification, Notifier } from '../../src/shared/notifier.js';
import { DB_FILE } from '../../src/store/db.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { linkClient, testRuntime } from '../support/warden.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const CALLER: Caller = { principal: 'alice', role: 'operator', transport: 'memory' };

function runtime(policy?: string, docker = new FakeDocker()) {
  const adapters = fakeAdapters(docker);
  const rt = compact(testRuntime({ policy, adapters }));
  open.push(rt);
  const commits: Array<[number, number]> = [];
  rt.audit.onAppend((head, count) => commits.push([head.seq, count]));
  return { rt, fake: adapters.fake, commits };
}

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;

/** A read with large (legal) arguments: query_inventory takes 10,000 characters of SQL. */
const BIG_READ = { sql: `SELECT '${'x'.repeat(9_500)}' AS a` };

/** A migration that rebuilds a table (20: tokens) leaves free pages behind; VACUUM gives them back. */
function compact(rt: Runtime): Runtime {
  rt.db.exec('VACUUM');
  return rt;
}

/**
 * The database has room for a small entry, not for an 8 kB one: as on a nearly full disk. It needs
 * compact(rt) first (before any other connection holds the lock): free pages are room too.
 */
function nearlyFull(rt: Runtime): void {
  const pages = rt.db.pragma('page_count', { simple: true }) as number;
  rt.db.pragma(`max_page_count = ${pages + 1}`);
}

/** Another warden process (a CLI command, the daemon's batch) holding the write lock until released. */
function otherProcessLock(rt: Runtime): { release(): void } {
  const other = new Database(join(rt.config.dataDir, DB_FILE));
  open.push(other);
  other.exec('BEGIN IMMEDIATE');
  return { release: () => other.exec('COMMIT') };
}

const queued = (rt: Runtime): number => (rt.audit as unknown as { queue: { size: number } }).queue.size;

describe('a plain read', () => {
  it('is one entry, written after it ran, carrying its request, decision and outcome', async () => {
    const { rt, commits } = runtime();
    const outcome = await rt.guard.call(CALLER, 'list_containers', {});
    expect(outcome.ok).toBe(true);
    expect(rt.audit.list()).toMatchObject([{
      seq: 1, callId: outcome.callId, phase: 'completed', tool: 'list_containers', principal: 'alice', transport: 'memory',
      target: 'local/*', args: '{"all":true,"host":"local"}', argsHash: expect.any(String), risk: 'read', decision: 'allow', rule: expect.any(String), durationMs: expect.any(Number),
      result: expect.stringMatching(/2 containers/),
    }]);
    expect(commits).toEqual([[1, 1]]);
    expect(rt.audit.verify({ requireAnchor: true }).ok).toBe(true);
  });

  it('that failed is one failed entry', async () => {
    const { rt } = runtime();
    const outcome = await rt.guard.call(CALLER, 'inspect_container', { container: 'ghost' });
    expect(outcome).toMatchObject({ ok: false, kind: 'invalid_input' });
    expect(rt.audit.list().map((e) => [e.phase, e.errorKind, e.decision])).toEqual([['failed', 'invalid_input', 'allow']]);
  });

  it('that is denied stays one denied entry, and nothing runs', async () => {
    const { rt, fake } = runtime('rules: [{ name: no-lists, tool: list_containers, decision: deny }]');
    const outcome = await rt.guard.call(CALLER, 'list_containers', {});
    expect(outcome).toMatchObject({ ok: false, kind: 'denied' });
    expect(fake.calls).toEqual([]);
    expect(rt.audit.list().map((e) => [e.phase, e.rule])).toEqual([['denied', 'no-lists']]);
  });

  it('whose tool a limit counts keeps its requested entry, and the limit holds', async () => {
    const { rt, fake } = runtime('limits: [{ name: lists, tool: list_containers, max: 2, then: deny }]');
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => rt.guard.call(CALLER, 'list_containers', {})));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(2);
    expect(fake.calls).toEqual(['list', 'list']);
    expect(rt.audit.list().filter((e) => e.phase === 'requested')).toHaveLength(2);
  });

  it("is answered unavailable, its output withheld, when its entry cannot be written; the audit says so", async () => {
    const { rt, fake } = runtime();
    rt.db.exec(`CREATE TRIGGER refuse_reads BEFORE INSERT ON audit WHEN new.tool = 'list_containers' AND new.phase = 'completed'
      BEGIN SELECT RAISE(ABORT, 'no room for reads'); END`);
    const linked = await linkClient(rt, CALLER);
    open.push(linked);
    const r = await linked.client.callTool({ name: 'list_containers', arguments: {} }) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^\[unavailable\] list_containers on local\/\* ran, but warden cannot write its audit log \(the database failed\), so its result is withheld/);
    expect(JSON.stringify(r)).not.toMatch(/web-1|postgres/);
    expect(r.structuredContent).toBeUndefined();
    expect(fake.calls).toEqual(['list']);
    await eventually(() => rt.audit.list().length === 1);
    expect(rt.audit.list()).toMatchObject([{ tool: 'list_containers', phase: 'failed', errorKind: 'unavailable', result: expect.stringMatching(/output was withheld/) }]);
  });

  it('whose entry is too big for the room left still leaves its call id in the audit: the withheld entry holds the hash of its arguments, not them', async () => {
    const { rt } = runtime();
    expect((await rt.guard.call(CALLER, 'list_containers', {})).ok).toBe(true);
    nearlyFull(rt);
    const read = await rt.guard.call(CALLER, 'query_inventory', BIG_READ);
    expect(read).toMatchObject({ ok: false, kind: 'unavailable' });
    await eventually(() => rt.audit.list({ callId: read.callId }).length > 0);
    const [withheld, ...more] = rt.audit.list({ callId: read.callId });
    expect(more).toEqual([]);
    expect(withheld).toMatchObject({ phase: 'failed', errorKind: 'unavailable', argsHash: expect.stringMatching(/^[0-9a-f]{64}$/), result: expect.stringMatching(/output was withheld/) });
    expect(JSON.parse(withheld!.args)).toEqual({ omitted: expect.stringMatching(/could not be written/) });
    expect((await rt.guard.call(CALLER, 'list_containers', {})).ok, 'small entries still fit').toBe(true);
  });

  it('counts toward a limit a policy reload adds on its tool, though it wrote no requested entry', async () => {
    const { rt } = runtime('rules: []\n');
    for (let i = 0; i < 3; i += 1) expect((await rt.guard.call(CALLER, 'list_containers', {})).ok).toBe(true);
    writeFileSync(rt.config.policyPath!, 'limits: [{ name: two-lists, tool: list_containers, max: 2, windowMinutes: 60, then: deny }]\n');
    await eventually(() => rt.policy.current().limits.length === 1, 10_000);
    expect(await rt.guard.call(CALLER, 'list_containers', {}), '3 lists ran this hour; the limit is 2').toMatchObject({ ok: false, kind: 'denied' });
  });

  it('refused for bad arguments (it never ran) does not count toward a limit', async () => {
    const { rt } = runtime('limits: [{ name: one-inspect, tool: inspect_container, max: 1, per: principal, windowMinutes: 60, then: deny }]\n');
    for (let i = 0; i < 3; i += 1) expect(await rt.guard.call(CALLER, 'inspect_container', { container: 7 })).toMatchObject({ ok: false, kind: 'invalid_input' });
    expect((await rt.guard.call(CALLER, 'inspect_container', { container: 'db' })).ok).toBe(true);
    expect(await rt.guard.call(CALLER, 'inspect_container', { container: 'db' })).toMatchObject({ ok: false, kind: 'denied' });
  });

  it('that the policy announces (notify) is in the audit before the announcement naming its call id goes out', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    class Slow extends FakeDocker {
      override async listContainers() {
        await gate;
        return super.listContainers();
      }
    }
    const sent: Notification[] = [];
    const notifier: Notifier = { send: (n) => { sent.push(n); }, flush: async () => undefined };
    const rt = testRuntime({ adapters: fakeAdapters(new Slow()), notifier, policy: 'rules: [{ name: watch-lists, tool: list_containers, decision: notify }]\n' });
    open.push(rt);
    const call = rt.guard.call(CALLER, 'list_containers', {});
    await eventually(() => sent.some((n) => n.event === 'notify'));
    const callId = String(sent.find((n) => n.event === 'notify')!.fields.callId);
    // Were warden killed now, the webhook would otherwise name a call the audit never heard of.
    const atAnnouncement = rt.audit.list({ callId }).map((e) => e.phase);
    release();
    expect((await call).ok).toBe(true);
    expect(atAnnouncement).toEqual(['requested']);
    expect(rt.audit.list({ callId }).map((e) => e.phase)).toEqual(['requested', 'completed']);
  });
});

describe('an entry that cannot be written', () => {
  it("fails alone: another call's outcome in its batch (a person's stop, answered ok) lands, and with it the stop intent", async () => {
    let releaseStop!: () => void;
    const stopGate = new Promise<void>((r) => { releaseStop = r; });
    class GatedStop extends FakeDocker {
      override async stopContainer(ref: string): Promise<void> {
        this.calls.push(`stop ${ref}`);
        await stopGate;
      }
    }
    const docker = new GatedStop();
    const rt = compact(testRuntime({ adapters: fakeAdapters(docker), serving: true, policy: 'rules: [{ name: stops-ok, tool: stop_container, decision: allow }]' }));
    open.push(rt);
    const stop = rt.guard.call(CALLER, 'stop_container', { container: 'web-1' });
    await eventually(() => docker.calls.includes('stop web-1'));
    const lock = otherProcessLock(rt);
    releaseStop();
    const big = rt.guard.call(CALLER, 'query_inventory', BIG_READ);
    await eventually(() => queued(rt) === 2, 10_000);
    nearlyFull(rt);
    lock.release();

    const [stopped, read] = await Promise.all([stop, big]);
    expect(stopped.ok).toBe(true);
    expect(read).toMatchObject({ ok: false, kind: 'unavailable' });
    expect(rt.audit.list({ callId: stopped.callId }).map((e) => e.phase), 'its client saw ok: its outcome is in the audit').toEqual(['requested', 'completed']);
    expect(rt.audit.stopIntent('local/web-1'), "migration 18's trigger keeps a person's stop from its completed entry").toMatchObject({ principal: 'alice' });
    await eventually(() => rt.audit.list({ callId: read.callId }).length === 1);
    expect(rt.audit.verify({ requireAnchor: true })).toMatchObject({ ok: true });
    expect(rt.audit.readCheckpoint()?.seq).toBe(rt.audit.list().at(-1)!.seq);
  }, 30_000);

  it('does not fail a synchronous append (a policy reload, an approval) that drained it into its transaction', async () => {
    const rt = compact(testRuntime({ adapters: fakeAdapters(), serving: true }));
    open.push(rt);
    const lock = otherProcessLock(rt);
    const big = rt.guard.call(CALLER, 'query_inventory', BIG_READ);
    await eventually(() => queued(rt) === 1, 10_000);
    nearlyFull(rt);
    lock.release();
    // Before the queue's retry timer fires, a synchronous append takes the queued entry into its transaction.
    const reload = rt.audit.append({ callId: 'policy-reload', principal: 'warden', transport: 'internal', tool: 'policy.reload', args: {}, argsHash: 'h', phase: 'completed', result: 'ok' });
    expect(reload.seq).toBe(1);
    expect(await big).toMatchObject({ ok: false, kind: 'unavailable' });
    expect(rt.audit.writeProblem(), '/healthz hears of the refused entry').toMatchObject({ error: expect.stringMatching(/full/) });
  }, 30_000);
});

describe('writes', () => {
  it("commit their 'requested' entry before the handler runs, visible to another process", async () => {
    const seen: number[] = [];
    let dbPath = '';
    class Watching extends FakeDocker {
      override async restartContainer(ref: string): Promise<void> {
        const other = new Database(dbPath, { readonly: true });
        try {
          seen.push((other.prepare(`SELECT count(*) AS n FROM audit WHERE tool = 'restart_container' AND phase = 'requested'`).get() as { n: number }).n);
        } finally {
          other.close();
        }
        await super.restartContainer(ref);
      }
    }
    const { rt } = runtime(undefined, new Watching());
    dbPath = join(rt.config.dataDir, DB_FILE);
    expect((await rt.guard.call(CALLER, 'restart_container', { container: 'db' })).ok).toBe(true);
    expect(seen).toEqual([1]);
    expect(rt.audit.list().map((e) => e.phase)).toEqual(['requested', 'completed']);
  });

  it('sent together cannot all slip under a limit', async () => {
    const { rt, fake } = runtime('limits: [{ name: two, tool: restart_container, max: 2, then: deny }]');
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => rt.guard.call(CALLER, 'restart_container', { container: 'db' })));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(2);
    expect(fake.calls.filter((c) => c.startsWith('restart'))).toHaveLength(2);
    expect(rt.audit.verify({ requireAnchor: true }).ok).toBe(true);
  });
});

describe('overlapping calls', () => {
  it('share commits and checkpoint writes, and every call has its entries in one valid chain', async () => {
    const { rt, commits } = runtime();
    const calls = [
      ...Array.from({ length: 12 }, () => rt.guard.call(CALLER, 'list_containers', {})),
      ...Array.from({ length: 4 }, (_, i) => rt.guard.call(CALLER, 'restart_container', { container: i % 2 ? 'db' : 'web-1' })),
    ];
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const entries = rt.audit.list();
    // 12 reads once each; 4 writes twice each.
    expect(entries).toHaveLength(12 + 8);
    for (const o of outcomes) expect(entries.filter((e) => e.callId === o.callId && (e.phase === 'completed'))).toHaveLength(1);
    expect(commits.reduce((n, [, count]) => n + count, 0)).toBe(20);
    expect(commits.length).toBeLessThan(20);
    expect(rt.audit.readCheckpoint()?.seq).toBe(20);
    expect(rt.audit.verify({ requireAnchor: true })).toMatchObject({ ok: true, entries: 20 });
  });
});

async function eventually(probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('never happened');
    await new Promise((r) => setTimeout(r, 10));
  }
}
