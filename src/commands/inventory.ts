// `warden inventory load | discover | list`: the hosts, services and runbooks warden knows.
// load validates every file before it writes anything; discover only ever adds to discovered_containers.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { parseLimit, whoami } from './output.js';

export function registerInventoryCommands(program: Command, loadConfig: ConfigLoader): void {
  const inventory = program.command('inventory').description('the hosts, services and runbooks warden knows');
  inventory
    .command('load [dir]')
    .description('validate the inventory YAML (default: config `inventory:`, else ./inventory) and replace the stored inventory with it')
    .option('--by <name>', 'who loads it, for the audit (default: your user name)', whoami())
    .option('--json', 'machine-readable output')
    .action(async (dir: string | undefined, opts: { by: string; json?: boolean }) => (await import('./inventory-run.js')).loadInventory(loadConfig, dir, opts));
  inventory
    .command('discover')
    .description("ask each host's Docker for its containers and record the ones the inventory does not know")
    .option('--timeout <seconds>', 'how long to wait for each host', parseLimit, 20)
    .option('--json', 'machine-readable output')
    .action(async (opts: { timeout: number; json?: boolean }) => (await import('./inventory-run.js')).discoverInventory(loadConfig, opts));
  inventory
    .command('list')
    .description('what the stored inventory holds, and what discover found that it does not')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => (await import('./inventory-run.js')).listInventory(loadConfig, opts));
}
