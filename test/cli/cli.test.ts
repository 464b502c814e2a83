import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../support/processes.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { testRuntime } from '../support/warden.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { linkClient } from '../support/warden.js';

describe('warden command line', () => {
  it('--help lists the seven subcommands', () => {
    const r = warden(['--help']);
    expect(r.status).toBe(0);
    for (const cmd of ['stdio', 'serve', 'policy', 'audit', 'approvals', 'tokens', 'inventory']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    }
  });

  it.each(['stdio', 'serve', 'policy', 'audit', 'approvals', 'tokens', 'inventory'])('%s has --help', (cmd) => {
    const r = warden([cmd, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Usage: warden ${cmd}`));
  });

  it('a config with an unknown key exits 2 naming the key, and writes nothing', () => {
    const dir = tempDir('cli');
    writeFileSync(join(dir, 'bad.yaml'), 'dataDir: ./d\nlogLevle: debug\n');
    const r = warden(['--config', join(dir, 'bad.yaml'), 'audit', 'list'], {}, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown key "logLevle"/);
    expect(existsSync(join(dir, 'd'))).toBe(false);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('a config field of the wrong type exits 2 naming the field and what was expected', () => {
    const dir = tempDir('cli');
    writeFileSync(join(dir, 'warden.yaml'), 'approvals:\n  ttlMinutes: soon\n');
    const r = warden(['audit', 'list'], {}, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/approvals\.ttlMinutes: .*expected number/i);
  });

  it('finds ./warden.yaml by default and honours --data-dir over WARDEN_DATA_DIR', () => {
    const dir = tempDir('cli');
    writeFileSync(join(dir, 'warden.yaml'), 'dataDir: from-file\n');
    expect(warden(['killswitch', 'off'], {}, dir).status).toBe(0);
    expect(existsSync(join(dir, 'from-file', 'warden.db'))).toBe(true);
    expect(warden(['--data-dir', join(dir, 'from-flag'), 'killswitch', 'off'], { WARDEN_DATA_DIR: join(dir, 'from-env') }, dir).status).toBe(0);
    expect(existsSync(join(dir, 'from-flag', 'warden.db'))).toBe(true);
    expect(existsSync(join(dir, 'from-env'))).toBe(false);
  });

  it('an unwritable data dir is a clear error, not a stack trace', () => {
    const dir = tempDir('cli');
    writeFileSync(join(dir, 'file'), '');
    const r = warden(['--data-dir', join(dir, 'file', 'sub'), 'killswitch', 'off']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/data dir .* is not writable/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('a policy file with an unknown key exits 2 naming it', () => {
    const dir = tempDir('cli');
    writeFileSync(join(dir, 'policy.yaml'), 'rules:\n  - tool: restart_container\n    decison: allow\n');
    const r = warden(['policy', 'check', '--principal', 'local', '--tool', 'restart_container'], { ...dataDirEnv(dir), WARDEN_POLICY: join(dir, 'policy.yaml') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown key "rules\[0\]\.decison"/);
  });

  it('migrations are safe to run twice', () => {
    const dir = tempDir('cli');
    expect(warden(['killswitch', 'on'], dataDirEnv(dir)).status).toBe(0);
    expect(warden(['killswitch', 'off'], dataDirEnv(dir)).status).toBe(0);
    expect(warden(['audit', 'verify'], dataDirEnv(dir)).stdout).toBe('ok: 2 entries\n');
  });
});

describe('warden policy check', () => {
  it.each([
    ['list_containers', '{}', 'allow', 'read'],
    ['restart_container', '{"container":"web"}', 'notify', 'low'],
  ])('%s -> %s', (tool, args, decision, risk) => {
    const dir = tempDir('cli');
    const r = warden(['policy', 'check', '--principal', 'loop', '--tool', tool, '--args', args], dataDirEnv(dir));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision, risk, rule: expect.any(String), reason: expect.any(String) });
  });

  it('an unknown tool exits 2 with the tool it probably meant', () => {
    const r = warden(['policy', 'check', '--principal', 'p', '--tool', 'gpu_rest'], dataDirEnv(tempDir('cli')));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('warden: --tool: no tool named "gpu_rest"; did you mean "gpu_reset"?\n');
  });

  it('validates --args as a call would: an unknown key exits 2 naming it, and nothing is decided', () => {
    const r = warden(['policy', 'check', '--principal', 'p', '--tool', 'restart_container', '--args', '{"containr":"web-1"}'], dataDirEnv(tempDir('cli')));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^warden: --args: invalid arguments for restart_container: .*container.*\n$/);
    expect(r.stderr).toMatch(/containr/);
  });

  it('--args that is not JSON exits 2', () => {
    const r = warden(['policy', 'check', '--principal', 'p', '--tool', 't', '--args', '{nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--args: not valid JSON/);
  });

  it('the readonly role is denied a restart', () => {
    const dir = tempDir('cli');
    const r = warden(['policy', 'check', '--principal', 'viewer', '--role', 'readonly', '--tool', 'restart_container', '--args', '{"container":"web"}'], dataDirEnv(dir));
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'deny', rule: 'role:readonly' });
  });
});

describe('warden approvals and audit from the command line', () => {
  async function heldCall() {
    const rt = testRuntime({ policy: 'rules: [{ tool: restart_container, decision: approve }]', adapters: fakeAdapters() });
    const linked = await linkClient(rt);
    const r = await linked.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    await linked.close();
    await rt.close();
    const id = (r._meta?.['warden/failure'] as { approvalId: string }).approvalId;
    return { id, env: { WARDEN_DATA_DIR: rt.config.dataDir } };
  }

  it('lists, approves with --by, and audits the approver', async () => {
    const { id, env } = await heldCall();
    const list = JSON.parse(warden(['approvals', 'list', '--json'], env).stdout);
    expect(list).toMatchObject([{ id, status: 'pending', tool: 'restart_container', target: 'local/db' }]);
    const r = warden(['approvals', 'approve', id, '--by', 'alice'], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${id} approved by alice`);
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env).stdout);
    expect(audit.at(-1)).toMatchObject({ principal: 'alice', phase: 'approved', approvalId: id, transport: 'cli' });
    expect(warden(['approvals', 'approve', id, '--by', 'bob'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/is approved, not pending/) });
  });

  it('deny records the reason; the loop and the requester cannot approve', async () => {
    const { id, env } = await heldCall();
    expect(warden(['approvals', 'approve', id, '--by', 'loop'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/loop can never/) });
    expect(warden(['approvals', 'approve', id, '--by', 'local'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/cannot approve it/) });
    expect(warden(['approvals', 'deny', id, '--by', 'bob', '--reason', 'not during the sale'], env).status).toBe(0);
    const [a] = JSON.parse(warden(['approvals', 'list', '--all', '--json'], env).stdout);
    expect(a).toMatchObject({ status: 'denied', decidedBy: 'bob', decisionReason: 'not during the sale' });
  });

  it('audit verify exits 0 on a sound chain and 1 naming the first broken entry', async () => {
    const { env } = await heldCall();
    expect(warden(['audit', 'verify'], env)).toMatchObject({ status: 0, stdout: 'ok: 1 entries\n' });
    const db = new Database(join(env.WARDEN_DATA_DIR, 'warden.db'));
    db.exec(`DROP TRIGGER audit_no_update; UPDATE audit SET principal = 'mallory' WHERE seq = 1`);
    db.close();
    const r = warden(['audit', 'verify'], env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/broken at entry 1: entry 1 was altered/);
    expect(r.stderr).toMatch(/triggers .* missing/);
  });

  it('audit verify fails when the anchor file is gone and the tail was cut, unless --no-anchor says the operator knows', async () => {
    const { env } = await heldCall();
    const dir = env.WARDEN_DATA_DIR!;
    expect(warden(['approvals', 'deny', JSON.parse(warden(['approvals', 'list', '--json'], env).stdout)[0].id, '--by', 'bob'], env).status).toBe(0);
    rmSync(join(dir, 'warden.db.head'));
    const db = new Database(join(dir, 'warden.db'));
    db.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)');
    db.close();
    const r = warden(['audit', 'verify'], env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/broken at entry 2: no anchor file .*warden\.db\.head.*pass --no-anchor/);
    const knowing = warden(['audit', 'verify', '--no-anchor'], env);
    expect(knowing.status).toBe(0);
    expect(knowing.stderr).toMatch(/warning: no anchor file/);
  });

  it('audit verify fails when the database is gone and the anchor says there were entries', async () => {
    const { env } = await heldCall();
    rmSync(join(env.WARDEN_DATA_DIR!, 'warden.db'));
    for (const f of ['warden.db-wal', 'warden.db-shm']) rmSync(join(env.WARDEN_DATA_DIR!, f), { force: true });
    const r = warden(['audit', 'verify'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the anchor names entry 1, and there is no database/);
  });

  it('refuses "/" as an nginx directory: nginx would read every file', () => {
    const dir = tempDir('cli');
    writeFileSync(join(dir, 'warden.yaml'), 'nginx:\n  allowedDirs: [/]\n');
    const r = warden(['--config', join(dir, 'warden.yaml'), 'tokens', 'list'], dataDirEnv(dir));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nginx\.allowedDirs\[0\]: not "\/"/);
  });

  it('audit verify checks a copy of the data dir without writing to it', async () => {
    const { env } = await heldCall();
    const copy = join(tempDir('cli-copy'), 'data');
    cpSync(env.WARDEN_DATA_DIR!, copy, { recursive: true });
    const before = readdirSync(copy).sort().map((f) => `${f}:${readFileSync(join(copy, f)).toString('base64')}`);
    expect(warden(['audit', 'verify'], { WARDEN_DATA_DIR: copy })).toMatchObject({ status: 0, stdout: 'ok: 1 entries\n' });
    expect(readdirSync(copy).sort().map((f) => `${f}:${readFileSync(join(copy, f)).toString('base64')}`)).toEqual(before);
  });

  it('audit list --limit shows the newest entries oldest first', async () => {
    const { env } = await heldCall();
    const r = warden(['audit', 'list', '--limit', '1'], env);
    expect(r.stdout).toMatch(/^SEQ +TIME +PRINCIPAL +TOOL +TARGET +PHASE +DECISION +RESULT\n1 .* local .*restart_container .*local\/db .*pending .*approve/);
    expect(warden(['audit', 'list', '--limit', 'x'], env).status).toBe(2);
  });
});
