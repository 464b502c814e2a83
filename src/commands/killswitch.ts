// `warden killswitch on | off | status`: the switch every running warden process (stdio, serve,
// the loop) reads at its next call, held in the database. Switching is audited and notified.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import type { Runtime } from '../server/runtime.js';
import { loadRecordsRuntime } from './load-runtime.js';
import { byOption, cell, printJson, printLines } from './output.js';

/** The switch in the database and in the policy file, and whether writes are stopped. */
function switchState(rt: Runtime) {
  const s = rt.killSwitch.state();
  const file = rt.policy.current().killSwitch;
  return { ...s, policyFile: file, effective: s.on || file };
}

export function registerKillSwitchCommands(program: Command, loadConfig: ConfigLoader): void {
  const ks = program.command('killswitch').description('stop every write in every running warden process at its next call (reads still run)')
    .addHelpText('after', '\nExamples:\n  warden killswitch on --reason "bad deploy, hands off"\n  warden killswitch status\n  warden killswitch off --reason "fixed"\n');
  for (const state of ['on', 'off'] as const) {
    ks.command(state)
      .description(state === 'on' ? 'deny every non-read call from now on' : 'let the policy decide writes again (a killSwitch in the policy file still holds)')
      .option('--reason <text>', 'why, for the audit and the notification')
      .addOption(byOption('who switches, for the audit'))
      .option('--json', 'machine-readable output: the switch as killswitch status --json shows it, and changed (false: it was already so)')
      .action(async (opts: { reason?: string; by: string; json?: boolean }) => {
        const rt = await loadRecordsRuntime(loadConfig());
        try {
          const { flipKillSwitch } = await import('../policy/switches.js');
          // Already in that state: nothing written, the standing switch keeps its author and reason. Still exit 0: what was asked holds.
          const changed = flipKillSwitch(rt, state === 'on', opts.by, opts.reason ?? null, 'cli');
          const now = switchState(rt);
          if (opts.json) return printJson({ ...now, changed });
          // The data dir is named: a switch flipped in another directory's database holds nothing that runs.
          const standing = now.by ? ` (set by ${cell(now.by)} at ${now.at}${now.reason ? `: ${cell(now.reason)}` : ''})` : '';
          printLines([changed ? `kill switch ${state} (data dir ${rt.config.dataDir})` : `kill switch already ${state}${standing}; nothing changed (data dir ${rt.config.dataDir})`]);
        } finally {
          await rt.close();
        }
      });
  }
  ks.command('status')
    .description('whether the switch is on, in the database or in the policy file')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        const s = switchState(rt);
        if (opts.json) return printJson(s);
        printLines([
          `kill switch ${s.effective ? 'ON' : 'off'}`,
          `  database: ${s.on ? 'on' : 'off'}${s.by ? ` (set by ${s.by} at ${s.at}${s.reason ? `: ${s.reason}` : ''})` : ''}`,
          `  policy file: ${rt.policy.lastError() !== undefined ? `invalid, so every write is denied (${rt.policy.lastError()})` : s.policyFile ? 'on (killSwitch: true)' : 'off'}`,
        ]);
      } finally {
        await rt.close();
      }
    });
}
