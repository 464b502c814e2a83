// `warden inventory load | discover | list`: the hosts, services and runbooks warden knows.
// load validates every file before it writes anything (--dry-run writes nothing at all); discover
// only ever adds to discovered_containers.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { byOption, parseLimit } from './output.js';

export function registerInventoryCommands(program: Command, loadConfig: ConfigLoader): void {
  const inventory = program.command('inventory').description('the hosts, services and runbooks warden knows');
  inventory
    .command('load [dir]')
    .description('validate the inventory YAML (default: config `inventory:`, else ./inventory) and replace the stored inventory with it')
    .addOption(byOption('who loads it, for the audit'))
    .option('--dry-run', 'print what would be added, removed and changed, and write nothing (no data dir or database is created)')
    .option('--allow-empty', 'load a directory with no hosts, services or runbooks, clearing the stored inventory (refused otherwise)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string | undefined, opts: { by: string; json?: boolean; dryRun?: boolean; allowEmpty?: boolean }) =>
      (await import('./inventory-run.js')).loadInventory(loadConfig, dir, opts));
  inventory
    .command('discover')
    .description("ask each host's Docker for its containers and record the ones the inventory does not know")
    .option('--timeout <seconds>', 'how long to wait for each host', parseLimit, 20)
    .option('--strict', 'exit 1 when any host fails (default: only when every host fails)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { timeout: number; json?: boolean; strict?: boolean }) => (await import('./inventory-run.js')).discoverInventory(loadConfig, opts));
  inventory
    .command('list')
    .description('what the stored inventory holds, and what discover found that it does not')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => (await import('./inventory-run.js')).listInventory(loadConfig, opts));
}
