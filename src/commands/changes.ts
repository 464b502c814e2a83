// `warden changes list | show | rollback`: the configuration changes warden made, each with its
// before and after state, validation, check and rollback. list and show only read the database;
// rollback is a tool call (rollback_change) through the gate and the audit like any other.
import { Option, type Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { CHANGE_STATUSES } from '../shared/change-statuses.js';
import type { ListOptions } from './changes-run.js';
import { byOption, parseLimit } from './output.js';

const EXAMPLES = `
Examples:
  warden changes list --status applied                  what warden changed and has not rolled back
  warden changes show chg_0123456789abcdef              its states, checks and audit entries
  warden changes rollback chg_0123456789abcdef --reason "502s after the change"
`;

export function registerChangeCommands(program: Command, loadConfig: ConfigLoader): void {
  const changes = program.command('changes').description('configuration changes warden made (nginx_set_upstream, update_container_resources, checked reloads), and their rollback').addHelpText('after', EXAMPLES);
  changes
    .command('list')
    .description('changes, newest first')
    .addOption(new Option('--status <status>', 'only this status').choices(CHANGE_STATUSES))
    .option('--target <target>', 'only changes on this canonical target, e.g. local/nginx')
    .option('--limit <n>', 'how many changes', parseLimit, 50)
    .option('--json', 'machine-readable output')
    .action(async (opts: ListOptions) => (await import('./changes-run.js')).listChanges(loadConfig, opts));
  changes
    .command('show <id>')
    .description('one change: its states, validation, check, rollback and the audit entries of the calls that acted on it')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }) => (await import('./changes-run.js')).showChange(loadConfig, id, opts));
  changes
    .command('rollback <id>')
    .description('restore what a change replaced and check it (the rollback_change tool, through the policy gate and the audit)')
    .option('--reason <text>', 'why, for the change record and the audit')
    .addOption(byOption('who asks, for the policy and the audit'))
    .option('--json', 'machine-readable output: the rollback_change result')
    .action(async (id: string, opts: { reason?: string; by: string; json?: boolean }) => (await import('./changes-run.js')).rollbackChange(loadConfig, id, opts));
}
