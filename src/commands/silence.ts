// `warden silence add | list | remove`: Alertmanager-style silences. Alerts an active silence
// covers are recorded on their incident, not acted on. Adding and removing are audited.
import { Option, type Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import type { AddOptions } from './silence-run.js';
import { byOption } from './output.js';

const EXAMPLES = `
Examples:
  warden silence add --target 'web-*' --for 2h --reason "deploy"        web-* containers on any host
  warden silence add --service db --match severity=~warning --until 2026-05-01T18:00:00Z --reason "migration"
  warden silence list --all
  warden silence remove sil_XXXX
`;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerSilenceCommands(program: Command, loadConfig: ConfigLoader): void {
  const silence = program.command('silence').description('alerts matching an active silence are recorded on their incident, not acted on').addHelpText('after', EXAMPLES);
  silence
    .command('add')
    .description('silence alerts matching every given matcher, until a time at most 30 days away')
    .option('--target <pattern>', 'a target glob: web-* (the container on any host) or local/web-*')
    .option('--service <name>', 'the service, as the inventory names it (service=NAME)')
    .option('--match <expr>', 'an Alertmanager matcher on the alert labels, target or service: name=v, name!=v, name=~re, name!~re (repeatable)', collect, [])
    .addOption(new Option('--for <duration>', 'how long, e.g. 90m, 2h, 1h30m, 3d').conflicts('until'))
    .addOption(new Option('--until <time>', 'when it ends, an ISO 8601 time with a zone (2026-05-01T18:00:00Z)'))
    .requiredOption('--reason <text>', 'why, for the audit and the incident timeline')
    .addOption(byOption('who silences, for the audit'))
    .option('--json', 'machine-readable output')
    .action(async (opts: AddOptions) => (await import('./silence-run.js')).addSilence(loadConfig, opts));
  silence
    .command('list')
    .description('active silences, newest first (--all adds expired and removed ones)')
    .option('--all', 'include expired and removed silences')
    .option('--json', 'machine-readable output')
    .action(async (opts: { all?: boolean; json?: boolean }) => (await import('./silence-run.js')).listSilences(loadConfig, opts));
  silence
    .command('remove <id>')
    .description('end an active silence now; matching alerts are acted on again')
    .addOption(byOption('who removes it, for the audit'))
    .option('--json', 'machine-readable output: {id, status, removedBy}')
    .action(async (id: string, opts: { by: string; json?: boolean }) => (await import('./silence-run.js')).removeSilence(loadConfig, id, opts));
}
