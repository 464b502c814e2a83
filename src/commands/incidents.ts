// `warden incidents list | show | validate | unvalidate`: what the loop recorded, each incident's
// timeline, and a person's confirmation of a fix. list and show only read the database, so they work
// while the daemon runs and without a valid policy; validate and unvalidate are audited.
import { Option, type Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { INCIDENT_STATUSES, type IncidentStatus } from '../shared/incidents.js';
import { byOption, parseLimit } from './output.js';

const EXAMPLES = `
Examples:
  warden incidents list --status active                 every unfinished incident
  warden incidents show inc_0123456789                  one incident and its timeline
  warden incidents list --json --limit 200             for scripts
  warden incidents validate inc_0123456789 --note "right fix: the OOM was the nightly batch"
                                                        a person confirms the fix; search_incidents boosts it
  warden incidents unvalidate inc_0123456789 --reason "it came back: the limit was not the cause"
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
  incidents
    .command('validate <id>')
    .description("confirm a resolved incident's fix was right: search_incidents ranks it above equal matches and says a person confirmed it (audited as incident.validate)")
    .requiredOption('--note <text>', 'what you checked, for the audit and the model (at most 1000 characters)')
    .addOption(byOption('who validates, for the audit'))
    .option('--json', 'machine-readable output: the incident')
    .action(async (id: string, opts: { note: string; by: string; json?: boolean }) => (await import('./incidents-run.js')).validateIncident(loadConfig, id, opts));
  incidents
    .command('unvalidate <id>')
    .description('withdraw the validation of a fix (it no longer ranks first); audited as incident.unvalidate')
    .requiredOption('--reason <text>', 'why, for the audit')
    .addOption(byOption('who withdraws it, for the audit'))
    .option('--json', 'machine-readable output: the incident')
    .action(async (id: string, opts: { reason: string; by: string; json?: boolean }) => (await import('./incidents-run.js')).unvalidateIncident(loadConfig, id, opts));
}
