// `warden report [--since 30d] [--json]`: MTTD, MTTR, auto-fix, escalation, false-positive and
// recurrence rates, the top recurring causes and model spend (docs/report.md). Read-only.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';

const EXAMPLES = `
Examples:
  warden report                                        the last 30 days
  warden report --since 7d                             the last week
  warden report --since 2026-11-01T00:00Z --json       from a time, for scripts
`;

export function registerReportCommand(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('report')
    .description('how the loop did: detection and repair times, auto-fix, escalation, false-positive and recurrence rates, top recurring causes, model spend')
    .option('--since <when>', 'incidents opened since: a duration back from now (30d, 12h, 2w) or an ISO time with a zone', '30d')
    .option('--json', 'machine-readable output, the same field names as the table')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { since: string; json?: boolean }) => (await import('./report-run.js')).printReport(loadConfig, opts));
}
