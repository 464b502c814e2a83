// `warden doctor`: active checks of everything warden depends on, each ok, warn or FAIL with what
// is wrong; exit 1 on any FAIL. The network checks run at once, each bounded by --timeout. It never
// creates the data dir or the database and writes no audit entry: it only looks.
import { InvalidArgumentError, type Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import type { DoctorOptions } from './doctor-run.js';

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 600) throw new InvalidArgumentError(`expected seconds, more than 0 and at most 600, got "${value}"`);
  return n;
}

export function registerDoctorCommand(program: Command, loadConfig: ConfigLoader, loadWithoutFile: ConfigLoader): void {
  program
    .command('doctor')
    .description('check config, data dir, database, disk, policy, inventory, Docker endpoints, SSH logins, the Messages API and webhooks; exit 1 naming each FAIL')
    .option('--json', 'machine-readable output')
    .option('--timeout <seconds>', 'how long each network check may take (they run at once)', parseSeconds, 5)
    .action(async (opts: DoctorOptions) => (await import('./doctor-run.js')).doctor(loadConfig, loadWithoutFile, opts));
}
