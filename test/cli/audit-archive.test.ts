// `warden audit archive` and `warden audit verify` over archive segments, as a user runs them: the
// built command on a real data dir whose old entries were written days ago (a faked clock here).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditLog, type AuditEntry } from '../../src/store/audit.js';
import { ARCHIVE_DIR, archiveAudit } from '../../src/store/audit-archive.js';
import { ensureAuditKey, signCheckpoint } from '../../src/store/audit-key.js';
import { openDb } from '../../src/store/db.js';
import { warden } from '../support/cli.js';
import { tempDir } from '../support/processes.js';

const DAY = 86_400_000;

afterEach(() => { vi.useRealTimers(); });

/** A data dir with its key, `old` entries from three days ago and `recent` ones from now. */
function world(old = 6, recent = 1) {
  const dataDir = join(tempDir('audit-archive-cli'), 'data');
  const db = openDb(dataDir);
  const audit = new AuditLog(db, join(dataDir, 'warden.db.head'));
  const add = (i: number): AuditEntry => audit.append({
    callId: `c${i}`, principal: 'local', transport: 'stdio', tool: 'list_containers', target: 'local', args: {}, argsHash: 'h',
    risk: 'read', decision: 'allow', rule: 'default:read', phase: 'requested',
  });
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 3 * DAY });
  const written = Array.from({ length: old }, (_, i) => add(i + 1));
  vi.useRealTimers();
  for (let i = old + 1; i <= old + recent; i += 1) written.push(add(i));
  audit.close();
  db.close();
  const key = ensureAuditKey(dataDir);
  return { dataDir, env: { WARDEN_DATA_DIR: dataDir }, written, key, archiveDir: join(dataDir, ARCHIVE_DIR) };
}

const twoDaysAgo = (): string => new Date(Date.now() - 2 * DAY).toISOString();

function archive(w: ReturnType<typeof world>, ...extra: string[]) {
  return warden(['audit', 'archive', '--before', twoDaysAgo(), '--by', 'alice', ...extra], w.env);
}

function onlySegment(w: ReturnType<typeof world>): { file: string; path: string } {
  const [file] = readdirSync(w.archiveDir);
  return { file: file!, path: join(w.archiveDir, file!) };
}

describe('warden audit archive', () => {
  it('archives the old entries into a segment, and verify walks it and the live table', () => {
    const w = world();
    const r = archive(w);
    expect(r, r.stderr).toMatchObject({ status: 0, stderr: '' });
    const { file } = onlySegment(w);
    expect(file).toMatch(/^audit-000000000001-000000000006-[0-9a-f]{8}\.jsonl\.gz$/);
    expect(r.stdout).toMatch(new RegExp(`^archived entries 1\\.\\.6 \\(6\\) into audit-archive/${file}\\n6 entries archived in 1 segment; stopped: entry 7 is the newest, which the live table keeps\\n$`));
    expect(warden(['audit', 'verify'], w.env)).toMatchObject({ status: 0, stdout: 'ok: 8 entries (6 archived in 1 segment)\n', stderr: '' });
    const json = JSON.parse(warden(['audit', 'verify', '--json'], w.env).stdout) as unknown;
    expect(json).toMatchObject({ ok: true, entries: 8, archived: { entries: 6, segments: 1 } });
    const live = JSON.parse(warden(['audit', 'list', '--json'], w.env).stdout) as AuditEntry[];
    expect(live.map((e) => e.seq)).toEqual([7, 8]);
    expect(live[1]).toMatchObject({ tool: 'audit.archive', principal: 'alice', transport: 'cli', target: 'audit', phase: 'completed' });
  });

  it('--json prints the segments, and nothing to archive is not an error', () => {
    const w = world(3, 1);
    const json = JSON.parse(archive(w, '--json').stdout) as { entries: number; segments: Array<{ firstSeq: number; lastSeq: number; signature: string }> };
    expect(json).toMatchObject({ entries: 3, segments: [{ firstSeq: 1, lastSeq: 3, signature: expect.stringMatching(/^[0-9a-f]{16}:/) }] });
    const again = archive(w);
    expect(again).toMatchObject({ status: 0, stdout: expect.stringMatching(/^nothing to archive before .*: entry 4 was written at/) });
  });

  it('refuses a --before within the last 24 hours, or that is not a date, and writes nothing', () => {
    const w = world();
    const recent = warden(['audit', 'archive', '--before', new Date(Date.now() - 3_600_000).toISOString()], w.env);
    expect(recent).toMatchObject({ status: 2, stderr: expect.stringMatching(/^warden: --before ".*": .* is less than 24 h ago/) });
    for (const bad of ['yesterday', '2025-13-45', '2025-01-01 10:00']) {
      const r = warden(['audit', 'archive', '--before', bad], w.env);
      expect(r.status, bad).toBe(2);
      expect(r.stderr).toMatch(/^warden: --before ".*": expected an ISO date or date-time/);
    }
    expect(existsSync(w.archiveDir)).toBe(false);
    expect(warden(['audit', 'verify'], w.env).stdout).toBe('ok: 7 entries\n');
  });

  it('refuses a --before within the longest policy limit window', () => {
    const w = world();
    const policy = join(w.dataDir, '..', 'policy.yaml');
    writeFileSync(policy, 'limits:\n  - { tool: restart_container, max: 3, windowMinutes: 4320 }\n');
    const r = warden(['audit', 'archive', '--before', twoDaysAgo()], { ...w.env, WARDEN_POLICY: policy });
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/^warden: --before ".*": .* is less than 72 h ago: .*\(the longest policy limit window\)/) });
    expect(existsSync(w.archiveDir)).toBe(false);
  });
});

describe('warden audit verify over archive segments', () => {
  it('catches an entry edited inside a segment: exit 1 naming the file and the entry', () => {
    const w = world();
    archive(w);
    const { file, path } = onlySegment(w);
    const rows = gunzipSync(readFileSync(path)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    rows[2]!.principal = 'mallory';
    writeFileSync(path, gzipSync(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`));
    const r = warden(['audit', 'verify'], w.env);
    expect(r).toMatchObject({ status: 1, stdout: `broken at entry 3: segment audit-archive/${file}: entry 3 was altered (hash mismatch)\n` });
    expect(JSON.parse(warden(['audit', 'verify', '--json'], w.env).stdout)).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('catches a cut segment file and a missing one', () => {
    const w = world();
    archive(w);
    const { file, path } = onlySegment(w);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const cut = warden(['audit', 'verify'], w.env);
    expect(cut).toMatchObject({ status: 1, stdout: expect.stringMatching(new RegExp(`^broken at entry \\d: segment audit-archive/${file}: the file (is cut or corrupt after entry \\d|is not readable gzip)`)) });
    rmSync(path);
    expect(warden(['audit', 'verify'], w.env)).toMatchObject({ status: 1, stdout: `broken at entry 1: segment audit-archive/${file}: the file is missing (entries 1..6)\n` });
  });

  it('warns of an unsigned segment and still says ok', async () => {
    const w = world();
    const db = openDb(w.dataDir);
    const audit = new AuditLog(db, join(w.dataDir, 'warden.db.head'));
    await archiveAudit(db, audit, w.dataDir, undefined, { before: new Date(Date.now() - 2 * DAY), by: 'alice', transport: 'cli' });
    audit.close();
    db.close();
    const r = warden(['audit', 'verify'], w.env);
    expect(r).toMatchObject({ status: 0, stdout: 'ok: 8 entries (6 archived in 1 segment)\n' });
    expect(r.stderr).toMatch(/^warning: segment audit-archive\/.* \(entries 1\.\.6\) is not signed/);
  });

  it('checks signatures with --pubkey, without --checkpoint: a replaced audit.key is caught', () => {
    const w = world();
    const pub = join(w.dataDir, '..', 'kept.pem');
    writeFileSync(pub, warden(['audit', 'pubkey'], w.env).stdout);
    archive(w);
    writeFileSync(join(w.dataDir, 'audit.key'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    expect(warden(['audit', 'verify'], w.env)).toMatchObject({ status: 1, stdout: expect.stringMatching(/^broken at entry 1: segment .*: it was signed by key [0-9a-f]{16}, not by key /) });
    expect(warden(['audit', 'verify', '--pubkey', pub], w.env)).toMatchObject({ status: 0, stdout: 'ok: 8 entries (6 archived in 1 segment)\n' });
  });

  it('--checkpoint still holds the log to a signed checkpoint, whether its entry is archived or live', () => {
    const w = world();
    const archived = signCheckpoint(w.key, { seq: 4, hash: w.written[3]!.hash });
    const live = signCheckpoint(w.key, { seq: 7, hash: w.written[6]!.hash });
    archive(w);
    const keep = (name: string, value: unknown): string => {
      const path = join(w.dataDir, '..', name);
      writeFileSync(path, JSON.stringify(value));
      return path;
    };
    for (const [name, cp] of [['archived', archived], ['live', live]] as const) {
      const r = warden(['audit', 'verify', '--checkpoint', keep(`${name}.json`, cp)], w.env);
      expect(r, name).toMatchObject({ status: 0, stdout: `ok: 8 entries (6 archived in 1 segment)\ncheckpoint: entry ${cp.seq} as signed by key ${cp.keyId} at ${cp.time}\n` });
    }
    const forged = signCheckpoint(w.key, { seq: 4, hash: 'f'.repeat(64) });
    const r = warden(['audit', 'verify', '--checkpoint', keep('forged.json', forged)], w.env);
    expect(r).toMatchObject({ status: 1, stdout: expect.stringMatching(/^broken at entry 4: segment audit-archive\/.*: entry 4 differs from the signed checkpoint/) });
  });

  it('reads only: the data dir is byte for byte what it was', () => {
    const w = world();
    archive(w);
    writeFileSync(join(w.archiveDir, 'audit-000000000009-000000000010-0badf00d.jsonl.gz'), gzipSync('{}\n'));
    const snapshot = (): Record<string, string> => Object.fromEntries([
      ...readdirSync(w.dataDir).map((f) => [f, f === ARCHIVE_DIR ? '' : readFileSync(join(w.dataDir, f)).toString('base64')]),
      ...readdirSync(w.archiveDir).map((f) => [`${ARCHIVE_DIR}/${f}`, readFileSync(join(w.archiveDir, f)).toString('base64')]),
    ]);
    const before = snapshot();
    const r = warden(['audit', 'verify'], w.env);
    expect(r).toMatchObject({ status: 0, stderr: expect.stringMatching(/^warning: audit-archive\/audit-000000000009-000000000010-0badf00d\.jsonl\.gz is in no archive record/) });
    expect(snapshot()).toEqual(before);
  });
});
