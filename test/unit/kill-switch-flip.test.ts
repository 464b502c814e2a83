// The kill switch thrown again in the state it already has (a double submit, a stale console page,
// two people at once, `warden killswitch on` twice) changes nothing: the standing switch keeps who
// set it and why, and no second audit entry or notification goes out.
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerKillSwitchCommands } from '../../src/commands/killswitch.js';
import { loadConfig } from '../../src/config.js';
import { flipKillSwitch } from '../../src/policy/switches.js';
import type { Notification } from '../../src/shared/notifier.js';
import { AuditLog } from '../../src/store/audit.js';
import { openDb } from '../../src/store/db.js';
import { KillSwitchStore } from '../../src/store/kill-switch.js';
import { tempDir } from '../support/processes.js';

function world() {
  const db = openDb(join(tempDir('kill-switch-flip'), 'data'));
  const audit = new AuditLog(db, null);
  const sent: Notification[] = [];
  const deps = { killSwitch: new KillSwitchStore(db, audit), audit, notifier: { send: (n: Notification) => { sent.push(n); }, flush: async () => undefined } };
  const switches = () => audit.list({ limit: 50 }).filter((e) => e.tool.startsWith('killswitch.')).map((e) => [e.tool, e.principal]);
  return { db, deps, sent, switches };
}

describe('flipKillSwitch', () => {
  it('is a no-op returning false when the switch is already in the asked state, on or off', () => {
    const w = world();
    expect(flipKillSwitch(w.deps, false, 'olga', 'never on', 'console')).toBe(false);
    expect(flipKillSwitch(w.deps, true, 'olga', 'db corruption', 'console')).toBe(true);
    expect(flipKillSwitch(w.deps, true, 'omar', 'x', 'console')).toBe(false);
    expect(w.deps.killSwitch.state()).toMatchObject({ on: true, by: 'olga', reason: 'db corruption' });
    expect(flipKillSwitch(w.deps, false, 'ada', 'fixed', 'cli')).toBe(true);
    expect(flipKillSwitch(w.deps, false, 'bob', 'again', 'cli')).toBe(false);
    expect(w.deps.killSwitch.state()).toMatchObject({ on: false, by: 'ada', reason: 'fixed' });
    expect(w.switches()).toEqual([['killswitch.on', 'olga'], ['killswitch.off', 'ada']]);
    expect(w.sent.map((n) => n.title)).toEqual(['warden: kill switch ON by olga: only read tools run', 'warden: kill switch off by ada']);
    expect(w.deps.audit.verify()).toMatchObject({ ok: true });
    w.db.close();
  });
});

async function cli(dataDir: string, args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { out.push(String(chunk)); return true; });
  try {
    const program = new Command('warden').exitOverride();
    registerKillSwitchCommands(program, () => loadConfig({ dataDir }, {}));
    await program.parseAsync(['node', 'warden', 'killswitch', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

describe('warden killswitch on, twice', () => {
  it('says the switch was already on, by whom and why (escaped), and --json says changed: false', async () => {
    const dataDir = join(tempDir('kill-switch-cli'), 'data');
    expect(await cli(dataDir, ['on', '--reason', 'disk\u001b[2J full', '--by', 'olga'])).toBe(`kill switch on (data dir ${dataDir})\n`);
    expect(await cli(dataDir, ['on', '--reason', 'x', '--by', 'omar'])).toMatch(/^kill switch already on \(set by olga at \S+: disk\\x1b\[2J full\); nothing changed \(data dir /);
    const again = JSON.parse(await cli(dataDir, ['on', '--reason', 'x', '--by', 'omar', '--json'])) as Record<string, unknown>;
    expect(again).toMatchObject({ on: true, by: 'olga', reason: 'disk\u001b[2J full', effective: true, changed: false });
    const status = JSON.parse(await cli(dataDir, ['status', '--json'])) as Record<string, unknown>;
    const { changed, ...rest } = again;
    expect([changed, rest]).toEqual([false, status]);
    expect(JSON.parse(await cli(dataDir, ['off', '--by', 'ada', '--json']))).toMatchObject({ on: false, by: 'ada', changed: true });
  });
});
