// `warden loop arm | pause | status`: the loop's safe mode. The loop switches itself to dry run when
// its writes keep failing; a person may also pause it; only a person lifts it, with a reason, and
// every switch is audited and notified.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { InputError } from '../errors.js';
import { loadRecordsRuntime } from './load-runtime.js';
import { byOption, printJson, printLines } from './output.js';

export function registerLoopCommands(program: Command, loadConfig: ConfigLoader): void {
  const loop = program.command('loop').description("the autonomous loop's safe mode: its writes become dry runs when they keep failing or a person pauses it, until a human re-arms it");
  // arm and pause: the same person-made switch of safe mode, either way, audited and notified.
  const SWITCHES = {
    arm: {
      description: 'lift safe mode: the loop acts again as the policy decides (audited as loop.arm, notified)',
      reason: 'why it is safe to act again, for the audit and the notification', emptyReason: 'say why it is safe to act again', by: 'who re-arms, for the audit', field: 'armed',
      done: () => 'the loop is armed: its writes run again as the policy decides', same: () => 'the loop was not in safe mode: nothing to re-arm',
    },
    pause: {
      description: 'put the loop in safe mode by hand: its writes become dry runs, it still investigates and escalates (audited as loop.pause, notified)',
      reason: 'why, for the audit and the notification', emptyReason: 'say why the loop should stop acting', by: 'who pauses, for the audit', field: 'paused',
      done: () => 'the loop is paused: its writes are dry runs until warden loop arm', same: (reason: string | null) => `the loop was already in safe mode (${reason ?? ''}): nothing changed`,
    },
  } as const;
  for (const [name, sw] of Object.entries(SWITCHES) as Array<[keyof typeof SWITCHES, (typeof SWITCHES)[keyof typeof SWITCHES]]>) {
    loop.command(name)
      .description(sw.description)
      .requiredOption('--reason <text>', sw.reason)
      .addOption(byOption(sw.by))
      .option('--json', `machine-readable output: {${sw.field}, safeMode}`)
      .action(async (opts: { reason: string; by: string; json?: boolean }) => {
        if (!opts.reason.trim()) throw new InputError(`--reason: ${sw.emptyReason}`);
        // A person switches the loop: never the loop, nor warden itself, in the audit.
        const { checkPrincipalName } = await import('../server/auth.js');
        checkPrincipalName(opts.by, '--by');
        const rt = await loadRecordsRuntime(loadConfig());
        try {
          const { armLoop, pauseLoop } = await import('../policy/switches.js');
          const flip = name === 'arm' ? armLoop : pauseLoop;
          const changed = flip({ store: rt.safeMode, audit: rt.audit, notifier: rt.notifier }, opts.by, opts.reason.trim(), 'cli');
          if (opts.json) return printJson({ [sw.field]: changed, safeMode: rt.safeMode.state() });
          printLines([changed ? sw.done() : sw.same(rt.safeMode.state().reason)]);
        } finally {
          await rt.close();
        }
      });
  }
  loop.command('status')
    .description('whether the loop is in safe mode, why, and its recent write outcomes')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        const s = rt.safeMode.state();
        const since = new Date(Date.now() - rt.config.loop.safeMode.windowMinutes * 60_000).toISOString();
        const recent = rt.safeMode.outcomesSince(since > (s.at ?? '') ? since : s.at ?? since, 50);
        if (opts.json) return printJson({ safeMode: s, recent });
        const failed = recent.filter((o) => !o.ok).length;
        printLines([
          s.on ? `SAFE MODE since ${s.at}: ${s.reason} (re-arm with: warden loop arm --reason TEXT)` : `armed${s.at ? ` (last re-armed by ${s.by} at ${s.at}: ${s.reason})` : ''}`,
          `writes in the last ${rt.config.loop.safeMode.windowMinutes} min: ${recent.length}, failed: ${failed}`,
        ]);
      } finally {
        await rt.close();
      }
    });
}
