// The actions of `warden audit`, loaded when one runs: the chain walk, the archive segments and the
// signing key.
import type { KeyObject } from 'node:crypto';
import type { ConfigLoader } from '../config.js';
import { checkpointPath, createRecordsRuntime } from '../compose.js';
import { CommandError, InputError, errorMessage } from '../errors.js';
import { AuditLog, decodeCheckpoint, type VerifyResult } from '../store/audit.js';
import { ARCHIVE_DIR, MIN_ARCHIVE_AGE_MS, archiveAudit, beforeProblem, checkArchives } from '../store/audit-archive.js';
import {
  checkpointSignatureProblem, keyIdOf, parsePublicKey, parseSignedCheckpoint, publicKeyPem, readAuditKey,
  type SignedCheckpoint,
} from '../store/audit-key.js';
import { AUDIT_KEY_FILE, dbPath, openDbReadOnly } from '../store/db.js';
import { existsSync, readFileSync } from 'node:fs';
import { checkPrincipalName } from '../server/auth.js';
import { missingDatabase } from './data-dir.js';
import { printJson, printLines, printTable } from './output.js';

export interface VerifyOptions {
  anchor: boolean;
  checkpoint?: string;
  pubkey?: string;
  json?: boolean;
}

function archivedNote(r: VerifyResult): string {
  const { entries, segments } = r.archived;
  return segments === 0 ? '' : ` (${entries} archived in ${segments} segment${segments === 1 ? '' : 's'})`;
}

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

/**
 * The key archive segments are checked with: `--pubkey`, else the data dir's own, else none (a
 * warning, from the archive check). An unreadable audit.key is a warning too: verify still walks the chain.
 */
function segmentKey(dataDir: string, pubkeyFile: string | undefined, warnings: string[]): KeyObject | undefined {
  if (pubkeyFile) return checkingKey(dataDir, pubkeyFile);
  try {
    return readAuditKey(dataDir) ?? undefined;
  } catch (err) {
    warnings.push(`${errorMessage(err)}: the archive segments' signatures are not checked`);
    return undefined;
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function parseBefore(text: string): Date {
  const when = ISO_TIME.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(when.getTime())) throw new InputError(`--before "${text}": expected an ISO date or date-time such as 2025-01-31 or 2025-01-31T12:00:00Z`);
  return when;
}

export function verifyAudit(loadConfig: ConfigLoader, opts: VerifyOptions): void {
  const config = loadConfig();
  const { dataDir } = config;
  const kept = opts.checkpoint !== undefined ? readKeptCheckpoint(opts.checkpoint) : undefined;
  const keyWarnings: string[] = [];
  const segmentsKey = segmentKey(dataDir, opts.pubkey, keyWarnings);
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
    // Not "ok: 0 entries": most likely the wrong directory, and an empty answer would hide it.
    throw new CommandError(missingDatabase(config));
  }
  const copy = openDbReadOnly(dataDir);
  let result: VerifyResult;
  try {
    const archive = checkArchives(copy.db, dataDir, segmentsKey);
    result = new AuditLog(copy.db, anchorPath).verify({ requireAnchor: opts.anchor, checkpoint: anchor, kept: kept ? [kept] : [], archive });
  } finally {
    copy.close();
  }
  result.warnings.unshift(...keyWarnings);
  if (opts.json) printJson(kept ? { ...result, checkpoint: kept } : result);
  else {
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    printLines([
      result.ok ? `ok: ${result.entries} entries${archivedNote(result)}` : `broken at entry ${result.brokenAt}: ${result.reason}`,
      ...(kept && result.ok ? [`checkpoint: entry ${kept.seq} as signed by key ${kept.keyId} at ${kept.time}`] : []),
    ]);
  }
  if (!result.ok) process.exitCode = 1;
}

export async function archiveOldAudit(loadConfig: ConfigLoader, opts: { before: string; by: string; json?: boolean }): Promise<void> {
  const before = parseBefore(opts.before);
  checkPrincipalName(opts.by, '--by');
  // Checked before anything is opened; the policy's own windows once it is read.
  const early = beforeProblem(before, new Date());
  if (early) throw new InputError(`--before "${opts.before}": ${early}`);
  const config = loadConfig();
  const rt = createRecordsRuntime(config);
  try {
    // Limits count the calls in their windows from the live table: none may reach past the archive.
    const minAgeMs = Math.max(MIN_ARCHIVE_AGE_MS, ...rt.policy.current().limits.map((l) => l.windowMs));
    const late = beforeProblem(before, new Date(), minAgeMs);
    if (late) throw new InputError(`--before "${opts.before}": ${late} (the longest policy limit window)`);
    const r = await archiveAudit(rt.db, rt.audit, config.dataDir, readAuditKey(config.dataDir) ?? undefined, { before, by: opts.by, transport: 'cli', minAgeMs });
    if (opts.json) return printJson(r);
    printLines([
      ...r.segments.map((s) => `archived entries ${s.firstSeq}..${s.lastSeq} (${s.entries}) into ${ARCHIVE_DIR}/${s.file}${s.signature ? '' : ' (unsigned: no audit key)'}`),
      r.segments.length === 0 ? `nothing to archive before ${before.toISOString()}${r.stoppedAt ? `: ${r.stoppedAt}` : ''}`
        : `${r.entries} entries archived in ${r.segments.length} segment${r.segments.length === 1 ? '' : 's'}${r.stoppedAt ? `; stopped: ${r.stoppedAt}` : ''}`,
    ]);
  } finally {
    await rt.close();
  }
}

export function printAuditKey(loadConfig: ConfigLoader, opts: { json?: boolean }): void {
  const { dataDir } = loadConfig();
  // Read only, like verify: a data dir without a key is reported, not given one.
  const key = readAuditKey(dataDir);
  if (!key) throw new CommandError(`no audit key in ${dataDir} yet: warden creates ${AUDIT_KEY_FILE} when it first opens the data dir (warden stdio or serve, or a command that writes)`);
  if (opts.json) printJson({ keyId: keyIdOf(key), publicKey: publicKeyPem(key) });
  else process.stdout.write(publicKeyPem(key));
}

export async function listAudit(loadConfig: ConfigLoader, opts: { limit: number; json?: boolean }): Promise<void> {
  const rt = createRecordsRuntime(loadConfig());
  const entries = rt.audit.list({ limit: opts.limit });
  await rt.close();
  if (opts.json) return printJson(entries);
  printTable(['SEQ', 'TIME', 'PRINCIPAL', 'TOOL', 'TARGET', 'PHASE', 'DECISION', 'RESULT'], entries.map((e) => [
    String(e.seq), e.time, e.principal, e.tool, e.target ?? '-', e.phase + (e.dryRun ? ' (dry run)' : ''),
    e.decision ?? '-', e.result ?? '',
  ]), 'no audit entries');
}
