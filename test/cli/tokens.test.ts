// `warden tokens` and `warden serve` flags as a user runs them: the built command, real SQLite.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirEnv, warden } from '../support/cli.js';
import { tempDir } from '../support/processes.js';

describe('warden tokens', () => {
  it('prints a new token once on stdout, stores only its hash, and audits who made it', () => {
    const env = dataDirEnv(tempDir('cli'));
    const r = warden(['tokens', 'create', '--principal', 'alice', '--role', 'operator', '--expires', '30d', '--by', 'bob'], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wdn_[A-Za-z0-9_-]{43}\n$/);
    expect(r.stderr).toMatch(/token for alice \(operator\), expires 20\d\d-.*shown only this once/);
    const token = r.stdout.trim();
    expect(readFileSync(join(env.WARDEN_DATA_DIR!, 'warden.db')).includes(token.slice(4))).toBe(false);
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<Record<string, unknown>>;
    expect(audit).toMatchObject([{ tool: 'tokens.create', phase: 'completed', principal: 'bob', transport: 'cli', target: 'alice' }]);
    expect(JSON.stringify(audit)).not.toContain(token.slice(4));
  });

  it('lists tokens with their status and never a token or a hash; revoke is audited', () => {
    const env = dataDirEnv(tempDir('cli'));
    const token = warden(['tokens', 'create', '--principal', 'ci', '--role', 'readonly'], env).stdout.trim();
    expect(warden(['tokens', 'revoke', 'ci', '--by', 'bob'], env)).toMatchObject({ status: 0, stdout: 'token for ci revoked\n' });
    const list = warden(['tokens', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([
      { name: 'ci', role: 'readonly', status: 'revoked', createdAt: expect.any(String), expiresAt: null, revokedAt: expect.any(String), lastUsedAt: null },
    ]);
    expect(list.stdout).not.toMatch(/hash|wdn_/);
    expect(warden(['tokens', 'list'], env).stdout).toMatch(/^ci\s+readonly\s+revoked\s+created /);
    expect(token).toMatch(/^wdn_/);
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<Record<string, unknown>>;
    expect(audit.at(-1)).toMatchObject({ tool: 'tokens.revoke', principal: 'bob', target: 'ci' });
    expect(warden(['audit', 'verify'], env).status).toBe(0);
  });

  it('refuses a second active token for one principal (exit 1) and revoking a token that is not there', () => {
    const env = dataDirEnv(tempDir('cli'));
    expect(warden(['tokens', 'create', '--principal', 'alice', '--role', 'admin'], env).status).toBe(0);
    expect(warden(['tokens', 'create', '--principal', 'alice', '--role', 'admin'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/alice already has an active token/) });
    expect(warden(['tokens', 'revoke', 'nobody'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/nobody has no token/) });
  });

  it.each([
    [['--principal', 'alice', '--role', 'root'], /--role.*Allowed choices are readonly, operator, admin, alerts/],
    [['--principal', 'alice', '--role', 'admin', '--expires', 'soon'], /--expires "soon"/],
    [['--principal', 'loop', '--role', 'admin'], /reserved/],
  ])('bad input exits 2 naming what was wrong, and writes nothing: %j', (args, message) => {
    const dir = tempDir('cli');
    const r = warden(['tokens', 'create', ...args], dataDirEnv(dir));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(dir, 'data'))).toBe(false);
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
