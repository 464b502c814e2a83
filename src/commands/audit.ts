// `warden audit verify | archive | list | pubkey`: the chain's integrity (archive segments, the
// live table, its anchor and, given one, a signed checkpoint kept elsewhere), retention by archiving
// (never deleting), what was called by whom, and the key checkpoints and segments are signed with.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import type { VerifyOptions } from './audit-run.js';
import { byOption, parseLimit } from './output.js';

const EXAMPLES = `
Examples:
  warden audit list --limit 20                          the newest entries
  warden audit verify                                   check the chain; exit 1 naming the first broken entry
  warden audit verify --checkpoint kept.json --pubkey warden.pub   against a checkpoint and key kept elsewhere
  warden audit pubkey > warden.pub                      keep this apart from the data dir
`;

export function registerAuditCommands(program: Command, loadConfig: ConfigLoader): void {
  const audit = program.command('audit').description('the tamper-evident audit log').addHelpText('after', EXAMPLES);
  audit
    .command('verify')
    .description('check the archive segments, the hash chain, its anchor and any signed checkpoint given (read-only: works on a forensic copy); exit 1 naming the first broken entry')
    .option('--no-anchor', 'a missing anchor file (warden.db.head) is a warning, not a failure')
    .option('--checkpoint <file>', 'also hold the log to a signed checkpoint a webhook receiver kept (the checkpoint or the webhook body): catches a tail rewritten with its anchor')
    .option('--pubkey <file>', "check the checkpoint's and the archive segments' signatures with this public key PEM (from `warden audit pubkey`, kept elsewhere) instead of the data dir's audit.key")
    .option('--json', 'machine-readable output')
    .action(async (opts: VerifyOptions) => (await import('./audit-run.js')).verifyAudit(loadConfig, opts));
  audit
    .command('archive')
    // audit-archive/ and 24 h are store/audit-archive.ts's ARCHIVE_DIR and MIN_ARCHIVE_AGE_MS, written out so that
    // the help loads no store (test/cli/cli-lazy.test.ts holds the two together).
    .description('move the oldest entries written before DATE out of the live table into a signed, compressed segment file under <data-dir>/audit-archive/ (nothing is deleted: audit verify checks the segments); never the newest entry nor those of an active incident')
    .requiredOption('--before <date>', 'ISO date or date-time; at least 24 h ago, or the longest policy limit window when that is longer')
    .addOption(byOption('who archives, for the audit'))
    .option('--json', 'machine-readable output: {segments, entries, stoppedAt}')
    .action(async (opts: { before: string; by: string; json?: boolean }) => (await import('./audit-run.js')).archiveOldAudit(loadConfig, opts));
  audit
    .command('pubkey')
    .description("print the public half of the key audit checkpoints are signed with: keep it apart from the data dir, for verify --pubkey")
    .option('--json', 'machine-readable output: {keyId, publicKey}')
    .action(async (opts: { json?: boolean }) => (await import('./audit-run.js')).printAuditKey(loadConfig, opts));
  audit
    .command('list')
    .description('the newest audit entries, oldest first')
    .option('--limit <n>', 'how many entries', parseLimit, 50)
    .option('--json', 'machine-readable output')
    .action(async (opts: { limit: number; json?: boolean }) => (await import('./audit-run.js')).listAudit(loadConfig, opts));
}
