#!/usr/bin/env node
// The `warden` command: parses arguments and calls into the folders below. Bad input exits 2
// with a message naming what was wrong; other failures exit 1; nothing prints a stack trace.
// Registering the commands loads commander and their definitions only: each action loads what it
// uses when it runs (the config too), so `warden --help` or `warden stdio` never pays for the rest.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Config, ConfigLoader } from './config.js';
import { CommandError, InputError, errorMessage } from './errors.js';
import { LOG_LEVELS } from './log-levels.js';
import { cell } from './commands/output.js';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerChangeCommands } from './commands/changes.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerIncidentCommands } from './commands/incidents.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerInventoryCommands } from './commands/inventory.js';
import { registerKillSwitchCommands } from './commands/killswitch.js';
import { registerMonitorCommands } from './commands/monitors.js';
import { registerLoopCommands } from './commands/loop.js';
import { registerChaosCommands } from './commands/chaos.js';
import { registerStdioCommand } from './commands/stdio.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSilenceCommands } from './commands/silence.js';
import { registerStatusCommand } from './commands/status.js';
import { registerReportCommand } from './commands/report.js';
import { registerTokenCommands } from './commands/tokens.js';
import { NEEDS_DATABASE } from './commands/needs-database.js';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  logLevel?: string;
}

const EXAMPLES = `
Examples:
  warden stdio                                  MCP over stdio, as Claude Desktop and Claude Code start it
  warden approvals list                         calls held for a human decision
  warden approvals approve apr_XXXX             let one held call run once
  warden audit verify --data-dir /srv/warden    global options go before or after the command
  warden policy check --principal local --tool restart_container --args '{"container":"web-1"}'
  warden doctor                                 check the config, data dir, Docker, SSH and webhooks

The data dir (warden.db): --data-dir, else WARDEN_DATA_DIR, else dataDir in the config file, else
$XDG_DATA_HOME/warden (~/.local/share/warden). The CLI must use the one the server Claude talks to uses.
`;

/**
 * A global option is parsed wherever it stands, before or after the command. Given twice, the two
 * values must agree: which one the user meant would be a guess, and a guessed data dir is the
 * wrong database.
 */
function once(flag: string, choices?: readonly string[]): (value: string, previous: string | undefined) => string {
  return (value, previous) => {
    if (choices && !choices.includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    if (previous !== undefined && previous !== value) throw new InvalidArgumentError(`${flag} was also given as "${previous}": give it once`);
    return value;
  };
}

/** `approvals approve`: the names from below the root, as NEEDS_DATABASE lists them. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function buildProgram(): Command {
  // No enablePositionalOptions: the root parses its options anywhere on the line (no subcommand
  // passes options through to another program), so `warden audit verify --data-dir X` works.
  const program = new Command('warden')
    .description('MCP server with typed, policy-gated, audited infrastructure tools for Claude.')
    .version('0.1.0')
    .addOption(new Option('--config <file>', 'config file (env WARDEN_CONFIG; default ./warden.yaml when present)').argParser(once('--config')))
    .addOption(new Option('--data-dir <dir>', 'directory holding warden.db (env WARDEN_DATA_DIR; default $XDG_DATA_HOME/warden, else ~/.local/share/warden)').argParser(once('--data-dir')))
    .addOption(new Option('--log-level <level>', 'log level, logs go to stderr (env WARDEN_LOG_LEVEL)').choices(LOG_LEVELS).argParser(once('--log-level', LOG_LEVELS)))
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXAMPLES);
  let config: typeof import('./config.js') | undefined;
  let dataDir: typeof import('./commands/data-dir.js') | undefined;
  let loaded: Config | undefined;
  let needsDatabase = false;
  const configModule = (): typeof import('./config.js') => {
    if (!config) throw new Error('the config was read before a command ran');
    return config;
  };
  // Read once per run, so a warning shows once. The database check comes with the config rather
  // than before the action: an action checks its own flags before it reads the config, so bad input
  // still exits 2 wherever it is run.
  const loadFromFlags: ConfigLoader = () => {
    if (loaded) return loaded;
    const read = configModule().loadConfig(program.opts<GlobalOptions>());
    const warning = dataDir?.oldDefaultWarning(read, process.cwd());
    if (warning) process.stderr.write(warning);
    if (needsDatabase) dataDir?.requireDatabase(read);
    loaded = read;
    return loaded;
  };
  program.hook('preAction', async (_root, action) => {
    config ??= await import('./config.js');
    dataDir ??= await import('./commands/data-dir.js');
    needsDatabase = NEEDS_DATABASE.has(commandPath(action));
  });

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
  registerChaosCommands(program, loadFromFlags);
  registerStatusCommand(program, loadFromFlags);
  registerReportCommand(program, loadFromFlags);
  registerConfigCommands(program);
  registerDoctorCommand(program, loadFromFlags, () => configModule().loadConfigIgnoringFile(program.opts<GlobalOptions>()));
  return program;
}

/** Line breaks kept, every other control character escaped (see fail). */
const shown = (text: string): string => text.split('\n').map(cell).join('\n');

function fail(code: number, message: string): never {
  // Messages quote what the user gave (paths, names, flag values): each line is shown with its
  // control characters escaped, so an ESC or a bidi mark in a path cannot drive the terminal.
  process.stderr.write(`warden: ${shown(message)}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // Each subcommand copied its parent's settings when it was made: both are set on every command.
  const override = (cmd: Command): void => {
    cmd.configureOutput({ writeErr: (s) => process.stderr.write(shown(s)) });
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
