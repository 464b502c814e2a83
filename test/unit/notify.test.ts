// Notification bodies, the hook's outbox key, Retry-After, and the outbox store's rules: a hook's
// rows come out oldest first, one holder at a time, and only finished rows are ever pruned.
// Delivery over HTTP is test/integration/webhook-outbox.test.ts.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatBody, hookKey, listensFor, retryAfterMs } from '../../src/adapters/webhooks.js';
import type { NewOutboxEntry, Notification } from '../../src/shared/notifier.js';
import { openDb, type Db } from '../../src/store/db.js';
import { OutboxStore } from '../../src/store/outbox.js';
import { tempDir } from '../support/processes.js';

const note: Notification = { event: 'approval.requested', title: 'warden: restart held', fields: { approvalId: 'apr_x', token: 'hunter2' } };

describe('formatBody', () => {
  it.each([
    ['generic', { event: 'approval.requested', title: 'warden: restart held', approvalId: 'apr_x', id: 'n-1', time: '2026-01-01T00:00:00.000Z' }],
    ['slack', { text: expect.stringMatching(/^\*warden: restart held\*\napprovalId: apr_x/) }],
    // Discord's markdown escaped in fields (webhook-links.test.ts): apr_x shows as apr_x.
    ['discord', { content: expect.stringMatching(/^\*\*warden: restart held\*\*\napprovalId: apr\\_x/) }],
  ] as const)('formats %s bodies', (format, shape) => {
    expect(formatBody(format, note, { id: 'n-1', time: '2026-01-01T00:00:00.000Z' })).toMatchObject(shape);
  });

  it("keeps the notification's title and an escalation's incident title side by side", () => {
    const body = formatBody('generic', { event: 'escalation', title: 'warden: incident 7 needs a human', fields: { incident: 7, title: 'web is down', id: 'x', event: 'y' } }, { id: 'n-2' });
    expect(body).toMatchObject({ event: 'escalation', title: 'warden: incident 7 needs a human', id: 'n-2', fieldTitle: 'web is down', fieldId: 'x', fieldEvent: 'y', incident: 7 });
  });

  it("passes a signed checkpoint's own time through unchanged", () => {
    const signed = '2026-02-03T04:05:06.789Z';
    const body = formatBody('generic', { event: 'audit.checkpoint', title: 'cp', fields: { seq: 3, time: signed } }, { id: 'n-3', time: '2030-01-01T00:00:00.000Z' });
    expect(body).toMatchObject({ time: signed, seq: 3 });
  });

  it('gives a hook without events everything but audit checkpoints', () => {
    expect(listensFor({ url: 'http://h/x', format: 'slack' }, 'escalation')).toBe(true);
    expect(listensFor({ url: 'http://h/x', format: 'slack' }, 'audit.checkpoint')).toBe(false);
    expect(listensFor({ url: 'http://h/x', format: 'generic', events: ['audit.checkpoint'] }, 'audit.checkpoint')).toBe(true);
  });
});

describe('hookKey', () => {
  it('names a hook by hostname and a digest, never by the secret in its path', () => {
    const key = hookKey({ url: 'https://hooks.slack.com/services/T000/B000/XXXXsecret', format: 'slack' });
    expect(key).toMatch(/^hooks\.slack\.com#[0-9a-f]{12}$/);
    expect(hookKey({ url: 'https://hooks.slack.com/services/T000/B000/other', format: 'slack' })).not.toBe(key);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    [null, 0],
    ['', 0],
    ['3', 3_000],
    ['1.5', 1_500],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
    ['99999', 600_000],
    ['soon', 0],
  ])('reads %j as %i ms (capped at 10 min)', (value, ms) => {
    expect(retryAfterMs(value, 600_000, now)).toBe(ms);
  });
});

describe('OutboxStore', () => {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function store(): { db: Db; outbox: OutboxStore; other: OutboxStore } {
    const dir = tempDir('outbox-store');
    dirs.push(dir);
    const db = openDb(join(dir, 'data'));
    const second = openDb(join(dir, 'data'));
    dbs.push(db, second);
    return { db, outbox: new OutboxStore(db), other: new OutboxStore(second) };
  }

  const entry = (n: number, hook = 'h#1', createdAt = new Date().toISOString()): NewOutboxEntry =>
    ({ key: `n${n}/${hook}`, createdAt, hook, event: 'notify', body: JSON.stringify({ n }) });

  it('hands out only the oldest pending row of a hook, to one holder at a time', async () => {
    const { outbox, other } = store();
    await outbox.add([entry(1), entry(1, 'h#2')]);
    await outbox.add([entry(2)]);
    const first = await outbox.claim('h#1', 60_000);
    expect(first.entry).toMatchObject({ key: 'n1/h#1', attempts: 0 });
    // The head is leased: no one gets it, nor the row behind it.
    const blocked = await other.claim('h#1', 60_000);
    if (blocked.entry) throw new Error('a leased head was handed out twice');
    expect(blocked.nextAt! > new Date().toISOString()).toBe(true);
    // Another hook's queue is its own.
    expect((await other.claim('h#2', 60_000)).entry?.key).toBe('n1/h#2');
    expect(await outbox.delivered(first.entry!.id)).toBe(true);
    expect((await other.claim('h#1', 60_000)).entry?.key).toBe('n2/h#1');
    expect(await other.claim('h#3', 60_000)).toEqual({ nextAt: null });
  });

  it('records a failed try, refuses a finished row, and lets a released row be taken at once', async () => {
    const { outbox, other } = store();
    await outbox.add([entry(1)]);
    const { entry: e } = await outbox.claim('h#1', 60_000);
    expect(await outbox.hold(e!.id, new Date(Date.now() + 60_000), { error: 'HTTP 503', counted: true })).toBe(true);
    await outbox.release(e!.id);
    const again = await other.claim('h#1', 60_000);
    expect(again.entry).toMatchObject({ id: e!.id, attempts: 1 });
    expect(await other.refused(e!.id, 'refused: HTTP 400')).toBe(true);
    expect(await outbox.delivered(e!.id)).toBe(false);
    expect(await outbox.hold(e!.id, new Date())).toBe(false);
  });

  it('summarises, prunes only finished rows, and gives up old pending ones', async () => {
    const { outbox } = store();
    const old = '2026-01-01T00:00:00.000Z';
    await outbox.add([entry(1, 'h#1', old), entry(1, 'h#2', old)]);
    await outbox.add([entry(2, 'h#1', old)]);
    await outbox.add([entry(3, 'h#1')]);
    const { entry: a } = await outbox.claim('h#1', 60_000);
    await outbox.delivered(a!.id);
    const { entry: b } = await outbox.claim('h#2', 60_000);
    await outbox.refused(b!.id, 'refused: HTTP 404');
    expect(outbox.summary()).toEqual({ pending: 2, oldestPending: old, failed: 1 });

    expect(outbox.prune(new Date('2026-02-01T00:00:00Z'))).toBe(2);
    expect(outbox.summary()).toEqual({ pending: 2, oldestPending: old, failed: 0 });
    expect(await outbox.expire(new Date('2026-02-01T00:00:00Z'))).toBe(1);
    expect(outbox.summary()).toMatchObject({ pending: 1, failed: 1 });
    expect(await outbox.expire(new Date('2026-02-01T00:00:00Z'))).toBe(0);
  });

  it('writes all rows of a notification or none', async () => {
    const { db, outbox } = store();
    await outbox.add([entry(1)]);
    await expect(outbox.add([entry(2), entry(1)])).rejects.toThrow(/UNIQUE/);
    expect((db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n).toBe(1);
  });
});
