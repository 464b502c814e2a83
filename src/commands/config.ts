// `warden config check [FILE]`: the config warden would use, validated with the policy file and
// inventory directory it names, before anything is started. Reads only: no data dir, no database.
import type { Command } from 'commander';
import type { ConfigFlags } from '../config.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('the configuration warden would run with');
  config
    .command('check [file]')
    .description('validate the config (FILE, else --config, WARDEN_CONFIG or ./warden.yaml), the policy file and the inventory directory it names; print where each setting came from; exit 2 listing every problem with its field')
    .option('--json', 'machine-readable output')
    .action(async (file: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<ConfigFlags & { json?: boolean }>();
      const flags: ConfigFlags = { config: file ?? globals.config, dataDir: globals.dataDir, logLevel: globals.logLevel };
      (await import('./config-run.js')).checkConfig(flags, opts);
    });
}
