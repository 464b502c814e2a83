// `warden tokens` and `warden serve` flags as a user runs them: the built command, real SQLite.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { TokenStore } from '../../src/store/tokens.js';
import { CLI, dataDirEnv, readyUrl, warden } from '../support/cli.js';
import { INITIALIZE, request } from '../support/http-gateway.js';
import { startProcess, tempDir, waitFor } from '../support/processes.js';

const DAY = 86_400_000;
const json = <T = Record<string, unknown>>(r: { stdout: string }): T => JSON.parse(r.stdout) as T;
/** The fields every --json output of a token has, whatever the command. */
const TOKEN_FIELDS = ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'principal', 'revokedAt', 'role'];

describe('warden tokens', () => {
  it('prints a new token once on stdout, stores only its hash, and audits who made it', () => {
    const env = dataDirEnv(tempDir('cli'));
    const r = warden(['tokens', 'create', '--principal', 'alice', '--role', 'operator', '--expires', '30d', '--by', 'bob'], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wdn_[A-Za-z0-9_-]{43}\n$/);
    expect(r.stderr).toMatch(/token 1 for alice \(operator\), expires 20\d\d-.*shown only this once/);
    const token = r.stdout.trim();
    expect(readFileSync(join(env.WARDEN_DATA_DIR!, 'warden.db')).includes(token.slice(4))).toBe(false);
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<Record<string, unknown>>;
    expect(audit).toMatchObject([{ tool: 'tokens.create', phase: 'completed', principal: 'bob', transport: 'cli', target: 'alice' }]);
    expect(JSON.stringify(audit)).not.toContain(token.slice(4));
  });

  it('lists tokens with their status and never a token or a hash; revoke is audited', () => {
    const env = dataDirEnv(tempDir('cli'));
    const token = warden(['tokens', 'create', '--principal', 'ci', '--role', 'readonly'], env).stdout.trim();
    expect(warden(['tokens', 'revoke', 'ci', '--by', 'bob'], env)).toMatchObject({ status: 0, stdout: 'revoked token of ci: 1\n' });
    const list = warden(['tokens', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([
      { id: 1, principal: 'ci', role: 'readonly', status: 'revoked', expiresSoon: false, createdAt: expect.any(String), expiresAt: expect.any(String), revokedAt: expect.any(String), lastUsedAt: null },
    ]);
    expect(list.stdout).not.toMatch(/hash|wdn_/);
    expect(warden(['tokens', 'list'], env).stdout).toMatch(/^ID\s+PRINCIPAL\s+ROLE\s+STATUS\s+CREATED\s+EXPIRES\s+LAST USED\n1\s+ci\s+readonly\s+revoked\s+20/);
    expect(token).toMatch(/^wdn_/);
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<Record<string, unknown>>;
    expect(audit.at(-1)).toMatchObject({ tool: 'tokens.revoke', principal: 'bob', target: 'ci' });
    expect(warden(['audit', 'verify'], env).status).toBe(0);
  });

  it('says so when a list is empty, and when there is no token to revoke (exit 1)', () => {
    const env = dataDirEnv(tempDir('cli'));
    expect(warden(['tokens', 'revoke', 'nobody'], env), 'no database yet: the wrong directory, said so').toMatchObject({ status: 1, stderr: expect.stringMatching(/no database at .*warden\.db/) });
    expect(warden(['killswitch', 'off'], env).status).toBe(0);
    expect(warden(['tokens', 'list'], env).stdout).toBe('no tokens; make one with warden tokens create --principal NAME --role ROLE\n');
    expect(warden(['tokens', 'revoke', 'nobody'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/nobody has no token/) });
    expect(warden(['tokens', 'revoke', '--id', '42'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/no token 42 to revoke/) });
  });

  it('asks whether an id typed as the principal (revoke 1) meant --id, and revokes nothing', () => {
    const env = dataDirEnv(tempDir('cli'));
    warden(['tokens', 'create', '--principal', 'alice', '--role', 'readonly'], env);
    expect(warden(['tokens', 'revoke', '1'], env)).toMatchObject({ status: 1, stderr: 'warden: 1 has no token to revoke; did you mean --id 1? (token 1 of alice)\n' });
    expect(warden(['tokens', 'revoke', '7'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/^warden: 7 has no token to revoke; warden tokens list/) });
    expect(json<Array<{ status: string }>>(warden(['tokens', 'list', '--json'], env)).map((t) => t.status)).toEqual(['active']);
    // A principal that is all digits and has tokens is still revoked by name.
    warden(['tokens', 'create', '--principal', '1', '--role', 'readonly'], env);
    expect(warden(['tokens', 'revoke', '1'], env)).toMatchObject({ status: 0, stdout: 'revoked token of 1: 2\n' });
    expect(warden(['tokens', 'revoke', '1'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/every token of 1 is already revoked/) });
  });

  it('gives a principal a second token, with the same --json fields from create, list and rotate', () => {
    const env = dataDirEnv(tempDir('cli'));
    const first = json(warden(['tokens', 'create', '--principal', 'alice', '--role', 'admin', '--json'], env));
    const second = json(warden(['tokens', 'create', '--principal', 'alice', '--role', 'admin', '--expires', 'never', '--json'], env));
    expect(Object.keys(first).sort()).toEqual([...TOKEN_FIELDS, 'token'].sort());
    expect(Date.parse(first.expiresAt as string) - Date.parse(first.createdAt as string)).toBe(90 * DAY);
    expect(second).toMatchObject({ id: 2, principal: 'alice', expiresAt: null });
    const listed = json<Array<Record<string, unknown>>>(warden(['tokens', 'list', '--json'], env));
    expect(listed.map((t) => [t.id, t.status])).toEqual([[1, 'active'], [2, 'active']]);
    expect(Object.keys(listed[0]!).sort()).toEqual([...TOKEN_FIELDS, 'expiresSoon', 'status'].sort());
    const rotated = warden(['tokens', 'rotate', 'alice', '--overlap', '0', '--json', '--by', 'bob'], env);
    expect(rotated.status).toBe(0);
    const r = json<Record<string, unknown> & { replaced: Array<Record<string, unknown>> }>(rotated);
    expect(Object.keys(r).sort()).toEqual([...TOKEN_FIELDS, 'replaced', 'token'].sort());
    expect(r).toMatchObject({ id: 3, principal: 'alice', role: 'admin', expiresAt: null, token: expect.stringMatching(/^wdn_/) });
    expect(r.replaced.map((t) => t.id)).toEqual([2, 1]);
    expect(json<Array<Record<string, unknown>>>(warden(['tokens', 'list', '--json'], env)).map((t) => [t.id, t.status])).toEqual([[1, 'expired'], [2, 'expired'], [3, 'active']]);
    const audit = json<Array<Record<string, unknown>>>(warden(['audit', 'list', '--json'], env));
    expect(audit.map((e) => [e.tool, e.principal])).toEqual([['tokens.create', 'cli'], ['tokens.create', 'cli'], ['tokens.rotate', 'bob']].map(([t, p]) => [t, p === 'cli' ? expect.any(String) : p]));
    expect(JSON.stringify(audit)).not.toContain((r.token as string).slice(4));
  });

  it('revokes one token by --id, leaving the principal\'s other token working', () => {
    const env = dataDirEnv(tempDir('cli'));
    for (let i = 0; i < 2; i += 1) warden(['tokens', 'create', '--principal', 'ci', '--role', 'readonly'], env);
    expect(warden(['tokens', 'revoke', '--id', '1'], env)).toMatchObject({ status: 0, stdout: 'revoked token of ci: 1\n' });
    expect(json<Array<Record<string, unknown>>>(warden(['tokens', 'list', '--json'], env)).map((t) => t.status)).toEqual(['revoked', 'active']);
    expect(warden(['tokens', 'revoke', 'ci', '--id', '2'], env)).toMatchObject({ status: 2, stderr: expect.stringMatching(/not both/) });
    expect(warden(['tokens', 'revoke', '--id', 'x1'], env)).toMatchObject({ status: 2, stderr: expect.stringMatching(/expected a token id/) });
  });

  it('marks a token expiring within 14 days in the list and in warden status', () => {
    const env = dataDirEnv(tempDir('cli'));
    warden(['tokens', 'create', '--principal', 'ci', '--role', 'readonly', '--expires', '3d'], env);
    warden(['tokens', 'create', '--principal', 'ops', '--role', 'operator', '--expires', '30d'], env);
    expect(warden(['tokens', 'list'], env).stdout).toMatch(/\n1\s+ci\s+readonly\s+active, expires soon\s+.*\n2\s+ops\s+operator\s+active\s+20/);
    const status = json<{ warnings: string[] }>(warden(['status', '--json'], env));
    expect(status.warnings).toContainEqual(expect.stringMatching(/^tokens: token 1 of ci \(readonly\) expires in 2 days, at 20.*: warden tokens rotate ci$/));
  });

  it.each([
    [['--principal', 'alice', '--role', 'root'], /--role.*Allowed choices are readonly, operator, admin, alerts/],
    [['--principal', 'alice', '--role', 'admin', '--expires', 'soon'], /--expires "soon"/],
    [['--principal', 'loop', '--role', 'admin'], /reserved/],
    [['--principal', 'alice', '--role', 'admin', '--expires', '0d'], /--expires "0d"/],
    // 999999w passes the duration grammar; stored as "+021192-..." it would sort before "2026-" and read as expired at once.
    [['--principal', 'alice', '--role', 'admin', '--expires', '999999w'], /--expires "999999w": at most 10 years/],
    [['--principal', 'alice', '--role', 'admin', '--expires', '3654d'], /--expires "3654d": at most 10 years/],
    // Past what a Date can hold: once "unexpected error: Invalid time value".
    [['--principal', 'alice', '--role', 'admin', '--expires', '999999w'.repeat(15)], /^warden: --expires "[9w]+\.\.\.": at most 10 years/],
  ])('bad input exits 2 naming what was wrong, and writes nothing: %j', (args, message) => {
    const dir = tempDir('cli');
    const r = warden(['tokens', 'create', ...args], dataDirEnv(dir));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

describe('warden tokens rotate', () => {
  it.each([
    [['alice', '--overlap', 'soon'], /--overlap "soon"/],
    [['alice', '--overlap', '999999w'], /--overlap "999999w": at most 10 years/],
    [['alice', '--expires', '999999w'], /--expires "999999w": at most 10 years/],
    [['loop'], /reserved/],
  ])('bad input exits 2 naming what was wrong: %j', (args, message) => {
    const r = warden(['tokens', 'rotate', ...args], dataDirEnv(tempDir('cli')));
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(message) });
  });

  it('accepts the longest lifetime and overlap: the new token is active, the old one keeps its own earlier end', () => {
    const env = dataDirEnv(tempDir('cli'));
    const made = json<{ expiresAt: string }>(warden(['tokens', 'create', '--principal', 'ci', '--role', 'readonly', '--expires', '3653d', '--json'], env));
    expect(made.expiresAt).toMatch(/^20\d\d-/);
    expect(warden(['tokens', 'create', '--principal', 'ops', '--role', 'readonly', '--expires', '30d'], env).status).toBe(0);
    expect(warden(['tokens', 'rotate', 'ops', '--overlap', '3653d', '--expires', '3653d'], env).status).toBe(0);
    const listed = json<Array<{ id: number; status: string; expiresAt: string }>>(warden(['tokens', 'list', '--json'], env));
    expect(listed.map((t) => [t.id, t.status])).toEqual([[1, 'active'], [2, 'active'], [3, 'active']]);
    expect(Date.parse(listed[1]!.expiresAt) - Date.now()).toBeLessThanOrEqual(30 * DAY);
  });

  it('refuses a principal without an active token (exit 1), naming how to make one', () => {
    const env = dataDirEnv(tempDir('cli'));
    expect(warden(['killswitch', 'off'], env).status).toBe(0);
    expect(warden(['tokens', 'rotate', 'alice'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/alice has no active token to rotate/) });
  });
});

describe('warden tokens on a database made before several tokens per principal (version 19)', () => {
  it('lists every token as it was (active, revoked, expired), checks them as before, and never reuses an id', () => {
    const env = dataDirEnv(tempDir('cli-v19'));
    const dataDir = env.WARDEN_DATA_DIR!;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const raw = new Database(join(dataDir, 'warden.db'));
    raw.pragma('journal_mode = WAL');
    for (let v = 0; v < 19; v += 1) raw.exec(MIGRATIONS[v]!);
    raw.pragma('user_version = 19');
    const secret = (c: string): string => `wdn_${c.repeat(43)}`;
    const hash = (t: string): string => createHash('sha256').update(t, 'utf8').digest('hex');
    const ins = raw.prepare('INSERT INTO tokens (id, name, role, hash, created_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    ins.run(3, 'alice', 'operator', hash(secret('a')), '2026-01-01T00:00:00.000Z', null, null, '2026-02-01T00:00:00.000Z');
    ins.run(5, 'bob', 'readonly', hash(secret('b')), '2026-01-01T00:00:00.000Z', null, '2026-01-02T00:00:00.000Z', null);
    ins.run(7, 'carol', 'admin', hash(secret('c')), '2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z', null, null);
    raw.close();

    const listed = json<Array<{ id: number; principal: string; status: string; lastUsedAt: string | null }>>(warden(['tokens', 'list', '--json'], env));
    expect(listed.map((t) => [t.id, t.principal, t.status, t.lastUsedAt])).toEqual([
      [3, 'alice', 'active', '2026-02-01T00:00:00.000Z'], [5, 'bob', 'revoked', null], [7, 'carol', 'expired', null],
    ]);
    expect(json<{ id: number }>(warden(['tokens', 'create', '--principal', 'alice', '--role', 'operator', '--json'], env)).id).toBeGreaterThan(7);
    const db = openDb(dataDir);
    try {
      const tokens = new TokenStore(db);
      expect(tokens.check(secret('a'))).toMatchObject({ ok: true, token: { id: 3, name: 'alice' } });
      expect(tokens.check(secret('b'))).toEqual({ ok: false, why: 'revoked', name: 'bob' });
      expect(tokens.check(secret('c'))).toEqual({ ok: false, why: 'expired', name: 'carol' });
    } finally {
      db.close();
    }
  });
});

describe('warden serve and tokens near their end', () => {
  it('warns at start, and once when such a token is used, without refusing the request', async () => {
    const dir = tempDir('cli');
    const env = { WARDEN_DATA_DIR: join(dir, 'data'), DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` };
    const { token } = json<{ token: string }>(warden(['tokens', 'create', '--principal', 'ci', '--role', 'readonly', '--expires', '3d', '--json'], env));
    const serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0', '--no-loop'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ...env } });
    try {
      const url = await readyUrl(serve);
      const warning = /"tokenId":1,"principal":"ci"[^\n]*token 1 of ci \(readonly\) expires in 2 days/g;
      await waitFor('the start warning', async () => (serve.output().match(warning) ?? []).length === 1, serve);
      for (let i = 0; i < 2; i += 1) expect((await request(url, '/mcp', { body: INITIALIZE, token })).status).toBe(200);
      await waitFor('the request warning', async () => (serve.output().match(warning) ?? []).length === 2, serve);
      expect(serve.output()).not.toContain(token.slice(4));
    } finally {
      await serve.stop();
    }
  });
});

describe('warden serve flags', () => {
  it('refuses a port that is not a port with exit 2', () => {
    const r = warden(['serve', '--port', '99999'], dataDirEnv(tempDir('cli')));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/expected a port number/);
  });

  it('refuses an unknown key under server: in the config, naming it', () => {
    const dir = tempDir('cli');
    writeFileSync(join(dir, 'warden.yaml'), 'server:\n  prot: 8000\n');
    const r = warden(['serve'], dataDirEnv(dir), dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown key "server\.prot"/);
  });
});
