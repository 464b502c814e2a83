// `warden monitors list | status`: the probes and host thresholds the inventory declares, and their
// last state as the daemon that runs them (warden serve, with the loop) saved it. Both only read.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';

export function registerMonitorCommands(program: Command, loadConfig: ConfigLoader): void {
  const monitors = program.command('monitors').description("warden's own probes and host thresholds, declared in the inventory (services' and hosts' `monitor`)")
    .addHelpText('after', '\nExamples:\n  warden monitors list                                  what the inventory declares\n  warden monitors status                                the last state the daemon saved for each\n');
  monitors
    .command('list')
    .description('the monitors the loaded inventory declares, with their schedule and levels')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => (await import('./monitors-run.js')).listMonitors(loadConfig, opts));
  monitors
    .command('status')
    .description("each monitor's last state, as the daemon running it saved it (at most 30 s old while it runs)")
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => (await import('./monitors-run.js')).monitorStatus(loadConfig, opts));
}
