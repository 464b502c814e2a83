// When checkpoints are sent (every N entries, every M minutes with news, at close), that the
// audit log tells its listener only of committed entries, and how verify holds the log to one.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listensFor } from '../../src/adapters/webhooks.js';
import type { Notification, Notifier } from '../../src/shared/notifier.js';
import { AuditLog, type AuditInput, type Checkpoint } from '../../src/store/audit.js';
import { checkpointSignatureProblem, parseSignedCheckpoint, signCheckpoint } from '../../src/store/audit-key.js';
import { CheckpointEmitter } from '../../src/store/checkpoint-emitter.js';
import { openDb } from '../../src/store/db.js';

const key = generateKeyPairSync('ed25519').privateKey;
const head = (seq: number): Checkpoint => ({ seq, hash: String(seq % 10).repeat(64) });

/** A notifier that keeps what it is given. */
function recorder(): Notifier & { sent: Notification[] } {
  const sent: Notification[] = [];
  return { sent, send: (n) => { sent.push(n); }, flush: async () => {} };
}

const emitters: CheckpointEmitter[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const e of emitters.splice(0)) e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function emitter(everyEntries: number, everyMinutes = 10) {
  const notifier = recorder();
  const errors: unknown[] = [];
  const e = new CheckpointEmitter({ notifier, sign: (h) => signCheckpoint(key, h), everyEntries, everyMinutes, onError: (err) => errors.push(err) });
  emitters.push(e);
  return { e, notifier, errors, seqs: () => notifier.sent.map((n) => n.fields.seq) };
}

describe('checkpoint emitter', () => {
  it('sends after every N entries, counting batches whole, and at close only when there is news', () => {
    const { e, notifier, seqs } = emitter(3);
    for (let seq = 1; seq <= 7; seq += 1) e.appended(head(seq));
    expect(seqs()).toEqual([3, 6]);
    e.appended(head(9), 2);
    expect(seqs()).toEqual([3, 6, 9]);
    e.close();
    expect(seqs()).toEqual([3, 6, 9]);
    e.appended(head(10));
    e.close();
    expect(seqs()).toEqual([3, 6, 9, 10]);
    const n = notifier.sent[0]!;
    expect(n).toMatchObject({ event: 'audit.checkpoint', title: 'warden audit checkpoint: entry 3', fields: { seq: 3, hash: head(3).hash } });
    expect(checkpointSignatureProblem(key, parseSignedCheckpoint(n.fields))).toBeNull();
  });

  it('never goes back: a head older than one seen (another path committed later) is not signed', () => {
    const { e, seqs } = emitter(2);
    e.appended(head(5));
    e.appended(head(4));
    expect(seqs()).toEqual([5]);
  });

  it('sends on the timer only when entries were appended since the last checkpoint', async () => {
    const { e, seqs } = emitter(1_000, 0.001);
    await new Promise((r) => setTimeout(r, 250));
    expect(seqs()).toEqual([]);
    e.appended(head(1));
    await new Promise((r) => setTimeout(r, 250));
    expect(seqs()).toEqual([1]);
    await new Promise((r) => setTimeout(r, 250));
    expect(seqs()).toEqual([1]);
  });

  it('reports a signing failure and carries on', () => {
    const notifier = recorder();
    const errors: unknown[] = [];
    const e = new CheckpointEmitter({ notifier, sign: () => { throw new Error('no key'); }, everyEntries: 1, everyMinutes: 10, onError: (err) => errors.push(err) });
    emitters.push(e);
    expect(() => e.appended(head(1))).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(notifier.sent).toEqual([]);
  });

  it('goes only to the hooks that name audit.checkpoint', () => {
    expect(listensFor({ url: 'http://x', format: 'generic' }, 'audit.checkpoint')).toBe(false);
    expect(listensFor({ url: 'http://x', format: 'generic' }, 'notify')).toBe(true);
    expect(listensFor({ url: 'http://x', format: 'generic', events: ['audit.checkpoint'] }, 'audit.checkpoint')).toBe(true);
  });
});

describe('the audit log and signed checkpoints', () => {
  const entry = (i: number): AuditInput => ({
    callId: `c${i}`, principal: 'local', transport: 'stdio', tool: 'list_containers', args: {}, argsHash: 'h', phase: 'requested',
  });

  function fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cp-'));
    dirs.push(dir);
    const db = openDb(dir);
    const audit = new AuditLog(db, join(dir, 'warden.db.head'));
    const heard: Array<[number, number]> = [];
    audit.onAppend((h, count) => heard.push([h.seq, count]));
    return { db, audit, heard };
  }

  it('tells its listener of each commit: one append, or a batch once it commits', () => {
    const { audit, heard } = fresh();
    audit.append(entry(1));
    audit.atomically(() => { audit.append(entry(2)); audit.append(entry(3)); });
    expect(() => audit.atomically(() => { audit.append(entry(4)); throw new Error('rolled back'); })).toThrow();
    audit.append(entry(5));
    expect(heard).toEqual([[1, 1], [3, 2], [4, 1]]);
  });

  it('verify holds the log to kept checkpoints: a different hash or a missing entry names the entry', () => {
    const { audit } = fresh();
    for (let i = 1; i <= 3; i += 1) audit.append(entry(i));
    const [, second] = audit.list();
    expect(audit.verify({ kept: [{ seq: 2, hash: second!.hash }] })).toMatchObject({ ok: true, entries: 3 });
    expect(audit.verify({ kept: [{ seq: 2, hash: 'f'.repeat(64) }] })).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringMatching(/^entry 2 differs from the signed checkpoint/) });
    expect(audit.verify({ kept: [{ seq: 5, hash: 'f'.repeat(64) }] })).toMatchObject({ ok: false, brokenAt: 4, reason: expect.stringMatching(/entries 4\.\.5 are missing: the signed checkpoint names entry 5/) });
  });
});
