// `warden incidents list | show`: what the loop recorded, and each incident's timeline. Read-only:
// only the database is opened, so this works while the daemon runs and without a valid policy.
import { Option, type Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { INCIDENT_STATUSES, type IncidentStatus } from '../shared/incidents.js';
import { parseLimit } from './output.js';

const EXAMPLES = `
Examples:
  warden incidents list --status active                 every unfinished incident
  warden incidents show inc_0123456789                  one incident and its timeline
  warden incidents list --json --limit 200             for scripts
`;

export function registerIncidentCommands(program: Command, loadConfig: ConfigLoader): void {
  const incidents = program.command('incidents').description('incidents the loop opened from alerts, and their timelines').addHelpText('after', EXAMPLES);
  incidents
    .command('list')
    .description('incidents, newest first')
    .addOption(new Option('--status <status>', 'only this status, or "active" for every unfinished one').choices(['active', ...INCIDENT_STATUSES]))
    .option('--limit <n>', 'how many incidents', parseLimit, 50)
    .option('--json', 'machine-readable output')
    .action(async (opts: { status?: IncidentStatus | 'active'; limit: number; json?: boolean }) => (await import('./incidents-run.js')).listIncidents(loadConfig, opts));
  incidents
    .command('show <id>')
    .description('one incident and its timeline')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }) => (await import('./incidents-run.js')).showIncident(loadConfig, id, opts));
}
