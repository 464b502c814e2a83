// `warden changes list | show | rollback` as a user runs them: the built command on a real database
// holding changes as a tool call would have left them.
import { describe, expect, it } from 'vitest';
import { ChangeStore } from '../../src/store/changes.js';
import { openDb } from '../../src/store/db.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { tempDir } from '../support/processes.js';

/** One verified nginx change and one rolled-back resources change. */
async function seeded(): Promise<{ env: NodeJS.ProcessEnv; verified: string; rolled: string }> {
  const env = dataDirEnv(tempDir('cli'));
  const db = openDb(env.WARDEN_DATA_DIR!);
  const store = new ChangeStore(db, env.WARDEN_DATA_DIR!);
  const base = { principal: 'alice', incidentId: null, service: 'site', plan: {} };
  const a = await store.begin({ ...base, callId: 'call-a', target: 'local/nginx', kind: 'nginx_files', summary: 'site: nginx proxy 127.0.0.1:1 -> 127.0.0.1:2', beforeRef: store.save(Buffer.from('before')) });
  await store.update(a.id, { status: 'verifying', afterRef: store.save(Buffer.from('after')), validation: 'nginx: configuration file test is successful' });
  await store.update(a.id, { status: 'verified', verification: 'answered 200 with "app ok"; held for 2 s' });
  const b = await store.begin({ ...base, callId: 'call-b', target: 'local/db', kind: 'container_resources', summary: 'local/db: memory 64MiB -> 128MiB', beforeRef: store.save(Buffer.from('{}')) });
  await store.update(b.id, { status: 'rolling_back', verification: 'db is exited (exit 137, OOMKilled)' });
  await store.update(b.id, { status: 'rolled_back', rollback: 'limits set back to memory 64MiB' });
  db.close();
  return { env, verified: a.id, rolled: b.id };
}

describe('warden changes', () => {
  it('lists changes newest first, one line each, and filters by status and target', async () => {
    const { env, verified, rolled } = await seeded();
    const r = warden(['changes', 'list'], env);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.shift()).toMatch(/^ID\s+STATUS\s+MADE\s+PRINCIPAL\s+SUMMARY$/);
    expect(lines[0]).toMatch(new RegExp(`^${rolled}\\s+rolled_back\\s+\\S+ \\S+\\s+alice\\s+local/db: memory 64MiB -> 128MiB$`));
    expect(lines[1]).toMatch(new RegExp(`^${verified}\\s+verified\\s+`));
    expect(warden(['changes', 'list', '--status', 'verified'], env).stdout).not.toContain(rolled);
    expect(warden(['changes', 'list', '--target', 'local/db'], env).stdout).not.toContain(verified);
    expect(JSON.parse(warden(['changes', 'list', '--json'], env).stdout)).toHaveLength(2);
  });

  it('shows one change with its validation, check and rollback', async () => {
    const { env, rolled } = await seeded();
    const r = warden(['changes', 'show', rolled], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rolled_back\s+container_resources\s+local\/db/);
    expect(r.stdout).toMatch(/check:\s+db is exited \(exit 137, OOMKilled\)/);
    expect(r.stdout).toMatch(/rollback:\s+limits set back to memory 64MiB/);
  });

  it('says plainly when a change does not exist (exit 1), and refuses a malformed id or a reserved name before opening anything (exit 2)', async () => {
    const { env } = await seeded();
    const missing = warden(['changes', 'show', 'chg_0000000000000000'], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no change chg_0000000000000000/);
    const bad = warden(['changes', 'rollback', '../etc'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/<id>: "\.\.\/etc" is not a change id/);
    const reserved = warden(['changes', 'rollback', 'chg_0000000000000000', '--by', 'warden'], env);
    expect(reserved.status).toBe(2);
    expect(reserved.stderr).toMatch(/--by "warden" is reserved for warden itself/);
  });

  it('refuses through the gate to roll back a change already rolled back, and audits the refusal under the person', async () => {
    const { env, rolled } = await seeded();
    const r = warden(['changes', 'rollback', rolled, '--by', 'bob'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid_input: change .* was already rolled back/);
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<{ tool: string; principal: string; phase: string }>;
    expect(audit.filter((e) => e.tool === 'rollback_change').map((e) => `${e.principal}:${e.phase}`)).toEqual(['bob:requested', 'bob:failed']);
  });
});
