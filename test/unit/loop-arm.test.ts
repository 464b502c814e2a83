// `warden loop arm --by NAME` refuses warden's reserved principals: the audit must never say the loop
// (or warden itself) re-armed the loop, the one thing safe mode promises never happens.
import { describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerLoopCommands } from '../../src/commands/loop.js';
import { loadConfig } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import { AuditLog } from '../../src/store/audit.js';
import { SafeModeStore } from '../../src/store/safe-mode.js';
import { switchEntry } from '../../src/loop/safe-mode.js';
import { tempDir } from '../support/processes.js';

describe('warden loop arm --by', () => {
  it('refuses the reserved principal "loop"', async () => {
    const dataDir = join(tempDir('review-arm'), 'data');
    const db = openDb(dataDir);
    const audit = new AuditLog(db, null);
    new SafeModeStore(db).set(true, 'warden', 'tripped', null, () => audit.append(switchEntry(true, 'warden', 'tripped', 'internal')));
    db.close();
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let refused = false;
    try {
      const program = new Command('warden').exitOverride();
      registerLoopCommands(program, () => loadConfig({ dataDir }, {}));
      program.commands.forEach((c) => { c.exitOverride(); c.commands.forEach((s) => s.exitOverride()); });
      await program.parseAsync(['node', 'warden', 'loop', 'arm', '--reason', 'x', '--by', 'loop']);
    } catch {
      refused = true;
    } finally {
      out.mockRestore();
    }
    const again = openDb(dataDir);
    const arms = new AuditLog(again, null).list().filter((e) => e.tool === 'loop.arm');
    again.close();
    expect({ refused, armedBy: arms.map((e) => e.principal) }).toEqual({ refused: true, armedBy: [] });
  });
});
