// `warden audit verify | list | pubkey`: the chain's integrity (against its anchor and, given
// one, a signed checkpoint kept elsewhere), what was called by whom, and the key checkpoints are signed with.
import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { checkpointPath, createRecordsRuntime } from '../compose.js';
import { CommandError, InputError, errorMessage } from '../errors.js';
import { AuditLog, decodeCheckpoint, type VerifyResult } from '../store/audit.js';
import {
  checkpointSignatureProblem, keyIdOf, parsePublicKey, parseSignedCheckpoint, publicKeyPem, readAuditKey,
  type SignedCheckpoint,
} from '../store/audit-key.js';
import { AUDIT_KEY_FILE, dbPath, openDbReadOnly } from '../store/db.js';
import { existsSync, readFileSync } from 'node:fs';
import { parseLimit, printJson, printLines, table } from './output.js';

function readInput(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${flag} ${file}: cannot read: ${errorMessage(err)}`);
  }
}

/** The checkpoint file as a receiver kept it: the checkpoint itself or the webhook body around it. */
function readKeptCheckpoint(file: string): SignedCheckpoint {
  const text = readInput('--checkpoint', file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`--checkpoint ${file}: not valid JSON: ${errorMessage(err)}`);
  }
  try {
    return parseSignedCheckpoint(value);
  } catch (err) {
    throw new InputError(`--checkpoint ${file}: ${errorMessage(err)}`);
  }
}

/** `--pubkey`, else the public half of the data dir's own key (which an intruder may have replaced). */
function checkingKey(dataDir: string, pubkeyFile: string | undefined): KeyObject {
  if (pubkeyFile) {
    try {
      return parsePublicKey(readInput('--pubkey', pubkeyFile));
    } catch (err) {
      throw err instanceof InputError ? err : new InputError(`--pubkey ${pubkeyFile}: ${errorMessage(err)}`);
    }
  }
  const key = readAuditKey(dataDir);
  if (!key) throw new CommandError(`no audit key in ${dataDir} (${AUDIT_KEY_FILE}) to check the checkpoint with: pass --pubkey FILE, the public key you kept`);
  return key;
}

export function registerAuditCommands(program: Command, loadConfig: ConfigLoader): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('check the hash chain, its anchor and any signed checkpoint given (read-only: works on a forensic copy); exit 1 naming the first broken entry')
    .option('--no-anchor', 'a missing anchor file (warden.db.head) is a warning, not a failure')
    .option('--checkpoint <file>', 'also hold the log to a signed checkpoint a webhook receiver kept (the checkpoint or the webhook body): catches a tail rewritten with its anchor')
    .option('--pubkey <file>', "check the checkpoint's signature with this public key PEM (from `warden audit pubkey`, kept elsewhere) instead of the data dir's audit.key")
    .option('--json', 'machine-readable output')
    .action((opts: { anchor: boolean; checkpoint?: string; pubkey?: string; json?: boolean }) => {
      const { dataDir } = loadConfig();
      if (opts.pubkey !== undefined && opts.checkpoint === undefined) throw new InputError('--pubkey: only with --checkpoint FILE');
      const kept = opts.checkpoint !== undefined ? readKeptCheckpoint(opts.checkpoint) : undefined;
      if (kept) {
        // The signature first: a checkpoint nobody can vouch for says nothing about the log.
        const key = checkingKey(dataDir, opts.pubkey);
        const problem = checkpointSignatureProblem(key, kept);
        if (problem) {
          const hint = !opts.pubkey && kept.keyId !== keyIdOf(key) ? " (the data dir's own key; if it was replaced, pass --pubkey FILE, the public key you kept)" : '';
          const reason = `checkpoint ${opts.checkpoint}: ${problem}${hint}`;
          if (opts.json) printJson({ ok: false, reason, checkpoint: kept });
          else printLines([`broken: ${reason}`]);
          process.exitCode = 1;
          return;
        }
      }
      const anchorPath = checkpointPath(dataDir);
      // The anchor first: entries appended while the copy is taken then only add to what it names.
      const anchor = existsSync(anchorPath) ? decodeCheckpoint(readFileSync(anchorPath, 'utf8')) : null;
      if (!existsSync(dbPath(dataDir))) {
        if (anchor) throw new CommandError(`broken: the anchor names entry ${anchor.seq}, and there is no database in ${dataDir}`);
        if (kept) throw new CommandError(`broken: the signed checkpoint names entry ${kept.seq}, and there is no database in ${dataDir}`);
        printLines([`ok: 0 entries (no database in ${dataDir} yet)`]);
        return;
      }
      const copy = openDbReadOnly(dataDir);
      let result: VerifyResult;
      try {
        result = new AuditLog(copy.db, anchorPath).verify({ requireAnchor: opts.anchor, checkpoint: anchor, kept: kept ? [kept] : [] });
      } finally {
        copy.close();
      }
      if (opts.json) printJson(kept ? { ...result, checkpoint: kept } : result);
      else {
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        printLines([
          result.ok ? `ok: ${result.entries} entries` : `broken at entry ${result.brokenAt}: ${result.reason}`,
          ...(kept && result.ok ? [`checkpoint: entry ${kept.seq} as signed by key ${kept.keyId} at ${kept.time}`] : []),
        ]);
      }
      if (!result.ok) process.exitCode = 1;
    });
  audit
    .command('pubkey')
    .description("print the public half of the key audit checkpoints are signed with: keep it apart from the data dir, for verify --pubkey")
    .option('--json', 'machine-readable output: {keyId, publicKey}')
    .action((opts: { json?: boolean }) => {
      const { dataDir } = loadConfig();
      // Read only, like verify: a data dir without a key is reported, not given one.
      const key = readAuditKey(dataDir);
      if (!key) throw new CommandError(`no audit key in ${dataDir} yet: warden creates ${AUDIT_KEY_FILE} when it first opens the data dir (any command but audit verify and audit pubkey)`);
      if (opts.json) printJson({ keyId: keyIdOf(key), publicKey: publicKeyPem(key) });
      else process.stdout.write(publicKeyPem(key));
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
