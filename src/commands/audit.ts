// `warden audit verify | list`: the chain's integrity, and what was called by whom.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { checkpointPath, createRecordsRuntime } from '../compose.js';
import { CommandError } from '../errors.js';
import { AuditLog, decodeCheckpoint, type VerifyResult } from '../store/audit.js';
import { dbPath, openDbReadOnly } from '../store/db.js';
import { existsSync, readFileSync } from 'node:fs';
import { parseLimit, printJson, printLines, table } from './output.js';

export function registerAuditCommands(program: Command, loadConfig: ConfigLoader): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('check the hash chain and its anchor (read-only: works on a forensic copy); exit 1 naming the first broken entry')
    .option('--no-anchor', 'a missing anchor file (warden.db.head) is a warning, not a failure')
    .option('--json', 'machine-readable output')
    .action((opts: { anchor: boolean; json?: boolean }) => {
      const { dataDir } = loadConfig();
      const anchorPath = checkpointPath(dataDir);
      // The anchor first: entries appended while the copy is taken then only add to what it names.
      const anchor = existsSync(anchorPath) ? decodeCheckpoint(readFileSync(anchorPath, 'utf8')) : null;
      if (!existsSync(dbPath(dataDir))) {
        if (anchor) throw new CommandError(`broken: the anchor names entry ${anchor.seq}, and there is no database in ${dataDir}`);
        printLines([`ok: 0 entries (no database in ${dataDir} yet)`]);
        return;
      }
      const copy = openDbReadOnly(dataDir);
      let result: VerifyResult;
      try {
        result = new AuditLog(copy.db, anchorPath).verify({ requireAnchor: opts.anchor, checkpoint: anchor });
      } finally {
        copy.close();
      }
      if (opts.json) printJson(result);
      else {
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        printLines([result.ok ? `ok: ${result.entries} entries` : `broken at entry ${result.brokenAt}: ${result.reason}`]);
      }
      if (!result.ok) process.exitCode = 1;
    });
  audit
    .command('list')
    .description('the newest audit entries, oldest first')
    .option('--limit <n>', 'how many entries', parseLimit, 50)
    .option('--json', 'machine-readable output')
    .action(async (opts: { limit: number; json?: boolean }) => {
      const rt = createRecordsRuntime(loadConfig());
      const entries = rt.audit.list({ limit: opts.limit });
      await rt.close();
      if (opts.json) return printJson(entries);
      printLines(table(entries.map((e) => [
        String(e.seq), e.time, e.principal, e.tool, e.target ?? '-', e.phase + (e.dryRun ? ' (dry run)' : ''),
        e.decision ?? '-', e.result ?? '',
      ])));
    });
}
