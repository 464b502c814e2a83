#!/usr/bin/env node
// The `warden` command: parses arguments and calls into the folders below. Bad input exits 2
// with a message naming what was wrong; other failures exit 1; nothing prints a stack trace.
// Registering the commands loads commander and their definitions only: each action loads what it
// uses when it runs (the config too), so `warden --help` or `warden stdio` never pays for the rest.
import { Command, CommanderError, Option } from 'commander';
import type { ConfigLoader } from './config.js';
import { CommandError, InputError, errorMessage } from './errors.js';
import { LOG_LEVELS } from './log-levels.js';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerChangeCommands } from './commands/changes.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerIncidentCommands } from './commands/incidents.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerInventoryCommands } from './commands/inventory.js';
import { registerKillSwitchCommands } from './commands/killswitch.js';
import { registerMonitorCommands } from './commands/monitors.js';
import { registerLoopCommands } from './commands/loop.js';
import { registerStdioCommand } from './commands/stdio.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSilenceCommands } from './commands/silence.js';
import { registerStatusCommand } from './commands/status.js';
import { registerTokenCommands } from './commands/tokens.js';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  logLevel?: string;
}

export function buildProgram(): Command {
  const program = new Command('warden')
    .description('MCP server with typed, policy-gated, audited infrastructure tools for Claude.')
    .version('0.1.0')
    .option('--config <file>', 'config file (env WARDEN_CONFIG; default ./warden.yaml when present)')
    .option('--data-dir <dir>', 'directory holding warden.db (env WARDEN_DATA_DIR; default ./data)')
    .addOption(new Option('--log-level <level>', 'log level, logs go to stderr (env WARDEN_LOG_LEVEL)').choices(LOG_LEVELS))
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions();
  let config: typeof import('./config.js') | undefined;
  program.hook('preAction', async () => {
    config ??= await import('./config.js');
  });
  const configModule = (): typeof import('./config.js') => {
    if (!config) throw new Error('the config was read before a command ran');
    return config;
  };
  const loadFromFlags: ConfigLoader = () => configModule().loadConfig(program.opts<GlobalOptions>());

  registerStdioCommand(program, loadFromFlags);
  registerServeCommand(program, loadFromFlags);
  registerPolicyCommands(program, loadFromFlags);
  registerAuditCommands(program, loadFromFlags);
  registerApprovalCommands(program, loadFromFlags);
  registerTokenCommands(program, loadFromFlags);
  registerInventoryCommands(program, loadFromFlags);
  registerIncidentCommands(program, loadFromFlags);
  registerKillSwitchCommands(program, loadFromFlags);
  registerSilenceCommands(program, loadFromFlags);
  registerChangeCommands(program, loadFromFlags);
  registerMonitorCommands(program, loadFromFlags);
  registerLoopCommands(program, loadFromFlags);
  registerStatusCommand(program, loadFromFlags);
  registerDoctorCommand(program, loadFromFlags, () => configModule().loadConfigIgnoringFile(program.opts<GlobalOptions>()));
  return program;
}

function fail(code: number, message: string): never {
  process.stderr.write(`warden: ${message}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; a usage mistake is bad input: exit 2.
      if (err.exitCode === 0) process.exit(0);
      process.exit(2);
    }
    if (err instanceof InputError) fail(2, err.message);
    if (err instanceof CommandError) fail(1, err.message);
    fail(1, `unexpected error: ${errorMessage(err)}`);
  }
}

await main(process.argv);
