import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { decide } from '../../src/policy/decide.js';
import { defaultPolicy } from '../../src/policy/default-policy.js';
import { armLoop, SafeMode, tripEvidence, type SafeModeSettings } from '../../src/loop/safe-mode.js';
import { silentLogger } from '../../src/log.js';
import type { Notification } from '../../src/shared/notifier.js';
import { AuditLog } from '../../src/store/audit.js';
import { openDb } from '../../src/store/db.js';
import { SafeModeStore, type LoopOutcome } from '../../src/store/safe-mode.js';
import { tempDir } from '../support/processes.js';

const SETTINGS: SafeModeSettings = { enabled: true, windowMinutes: 30, minWrites: 4, failureRate: 0.5, consecutive: 5 };
const NOW = new Date('2026-11-30T12:00:00Z');
const at = (minutesAgo: number): string => new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
const outcome = (minutesAgo: number, ok: boolean): LoopOutcome => ({ time: at(minutesAgo), incidentId: 'inc_1', tool: 'restart_container', target: 'local/web', ok, stage: 'verify', detail: ok ? 'running' : 'exited (1)' });
const seq = (pattern: string, spacingMin = 1): LoopOutcome[] => [...pattern].map((c, i) => outcome((pattern.length - i) * spacingMin, c === 'o'));

describe('tripEvidence', () => {
  it.each([
    ['3 of 4 failed in the window', 'xxox', true],
    ['half of 4 failed: not more than half', 'xoxo', false],
    ['3 failed, but fewer than minWrites judged', 'xxx', false],
    ['all 4 ok', 'oooo', false],
    ['3 of 5 failed', 'oxxox', true],
  ])('%s -> %s', (_why, pattern, trips) => {
    expect(tripEvidence(seq(pattern), SETTINGS, NOW) !== undefined).toBe(trips);
  });

  it('counts only the window for the rate, but consecutive failures however far apart', () => {
    const spread = seq('xxxx', 20); // 80, 60, 40, 20 minutes ago: only one in the 30-minute window
    expect(tripEvidence(spread, SETTINGS, NOW)).toBeUndefined();
    const five = seq('xxxxx', 20);
    expect(tripEvidence(five, SETTINGS, NOW)).toMatchObject({ rule: '5 of the loop\'s writes in a row failed', failed: 5, judged: 5 });
  });

  it('keeps the evidence: each outcome judged, as one line', () => {
    const ev = tripEvidence(seq('xxox'), SETTINGS, NOW)!;
    expect(ev.rule).toMatch(/^3 of the loop's last 4 writes in 30 min failed \(more than 50 %\)$/);
    expect(ev.outcomes).toHaveLength(4);
    expect(ev.outcomes[0]).toMatch(/FAILED verify restart_container on local\/web \(inc_1\): exited \(1\)$/);
  });
});

function world(settings: Partial<SafeModeSettings> = {}) {
  const db = openDb(join(tempDir('safe-mode'), 'data'));
  const store = new SafeModeStore(db);
  const audit = new AuditLog(db, null);
  const sent: Notification[] = [];
  const notifier = { send: (n: Notification) => { sent.push(n); }, flush: async () => undefined };
  const safe = new SafeMode({ store, audit, notifier, log: silentLogger, settings: { ...SETTINGS, ...settings } });
  return { db, store, audit, sent, notifier, safe };
}

const write = (ok: boolean) => ({ incidentId: 'inc_2', tool: 'restart_container', target: 'local/api', ok, stage: 'verify' as const, detail: ok ? 'running' : 'exited (1)' });

describe('SafeMode', () => {
  it('switches itself on at the 5th failure in a row: once, audited with the rule, notified with the evidence', () => {
    const w = world({ minWrites: 100 });
    for (let i = 0; i < 4; i += 1) w.safe.record(write(false));
    expect(w.store.isOn()).toBe(false);
    w.safe.record(write(false));
    w.safe.record(write(false));
    expect(w.store.state()).toMatchObject({ on: true, by: 'warden', reason: "5 of the loop's writes in a row failed" });
    const entries = w.audit.list().filter((e) => e.tool === 'loop.safe_mode');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ principal: 'warden', transport: 'internal', target: 'loop', phase: 'completed' });
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]).toMatchObject({ event: 'escalation', title: expect.stringMatching(/SAFE MODE.*warden loop arm/) });
    expect(String(w.sent[0]!.fields.evidence).split('\n')).toHaveLength(5);
    w.db.close();
  });

  it('judges only what happened since the last re-arm, and re-arming is audited and notified', () => {
    const w = world({ minWrites: 100 });
    for (let i = 0; i < 5; i += 1) w.safe.record(write(false));
    expect(armLoop(w, 'alice', 'disk replaced', 'cli')).toBe(true);
    expect(w.store.state()).toMatchObject({ on: false, by: 'alice', reason: 'disk replaced' });
    expect(w.audit.list().filter((e) => e.tool === 'loop.arm')[0]).toMatchObject({ principal: 'alice', transport: 'cli', result: 'disk replaced' });
    w.safe.record(write(false));
    expect(w.store.isOn()).toBe(false);
    expect(armLoop(w, 'alice', 'again', 'cli')).toBe(false);
    expect(w.audit.list().filter((e) => e.tool === 'loop.arm')).toHaveLength(1);
    expect(w.audit.verify()).toMatchObject({ ok: true });
    w.db.close();
  });

  it('never trips while disabled, and successes break a run of failures', () => {
    const off = world({ enabled: false });
    for (let i = 0; i < 10; i += 1) off.safe.record(write(false));
    expect(off.store.isOn()).toBe(false);
    const mixed = world({ minWrites: 100 });
    for (const ok of [false, false, false, false, true, false, false, false, false]) mixed.safe.record(write(ok));
    expect(mixed.store.isOn()).toBe(false);
    off.db.close();
    mixed.db.close();
  });
});

describe('decide in safe mode', () => {
  const req = { principal: 'loop', role: 'operator' as const, tool: 'restart_container', risk: 'low' as const, effect: 'restart' as const, target: 'local/web', info: {} };

  it.each([
    ['a write of the loop becomes a dry run', { safeMode: true }, { decision: 'notify', dryRun: true, safeMode: true }],
    ['a read is untouched', { safeMode: true, tool: 'list_containers', risk: 'read' as const, effect: undefined }, { decision: 'allow', dryRun: false }],
    ['without safe mode it runs', {}, { decision: 'notify', dryRun: false }],
    ['the kill switch still denies', { safeMode: true, killSwitch: true }, { decision: 'deny', dryRun: false }],
  ])('%s', (_why, extra, want) => {
    const got = decide(defaultPolicy(), { ...req, ...extra });
    expect(got).toMatchObject(want);
    if (!('safeMode' in want)) expect(got.safeMode).toBeUndefined();
  });
});
