// `warden inventory load --dry-run`, the refusal to wipe the stored inventory with an empty one,
// warnings about key files that are not there, and discover's exit status when no host answers.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { dataDirEnv, warden } from '../support/cli.js';
import { EXAMPLE_INVENTORY, writeInventory } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';

const TWO = 'services:\n  - { name: api, host: local, container: api }\n  - { name: db, host: local }\n';

/** Row counts of what a load writes, read straight from the database. */
function counts(dir: string): Record<string, number> {
  const db = new Database(join(dir, 'data', 'warden.db'), { readonly: true });
  try {
    const n = (t: string): number => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { hosts: n('hosts'), services: n('services'), runbooks: n('runbooks'), audit: n('audit') };
  } finally {
    db.close();
  }
}

describe('warden inventory load --dry-run', () => {
  it('prints what would be added, removed and changed, and the database is unchanged', () => {
    const dir = tempDir('cli-inv-dry');
    const env = dataDirEnv(dir);
    expect(warden(['inventory', 'load', writeInventory({ 's.yaml': TWO }, join(dir, 'one'))], env).status).toBe(0);
    const before = counts(dir);
    const next = writeInventory({ 's.yaml': 'services:\n  - { name: api, host: local, container: api2 }\n  - { name: web, host: local }\n' }, join(dir, 'two'));
    const r = warden(['inventory', 'load', next, '--dry-run'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^dry run, nothing written: .*two \(s\.yaml\): 0 hosts, 2 services, 0 runbooks$/m);
    expect(r.stdout).toMatch(/^CHANGE +KIND +NAME$/m);
    expect(r.stdout).toMatch(/^add +service +web$/m);
    expect(r.stdout).toMatch(/^remove +service +db$/m);
    expect(r.stdout).toMatch(/^change +service +api$/m);
    expect(counts(dir)).toEqual(before);
  });

  it('--json gives the same change a load then reports', () => {
    const dir = tempDir('cli-inv-dry');
    const env = dataDirEnv(dir);
    expect(warden(['inventory', 'load', writeInventory({ 's.yaml': TWO }, join(dir, 'one'))], env).status).toBe(0);
    const next = writeInventory({ 's.yaml': 'services:\n  - { name: api, host: local, container: api2 }\n  - { name: web, host: local }\n' }, join(dir, 'two'));
    const dry = JSON.parse(warden(['inventory', 'load', next, '--dry-run', '--json'], env).stdout) as { dryRun: boolean; change: unknown };
    expect(dry.dryRun).toBe(true);
    const real = JSON.parse(warden(['inventory', 'load', next, '--json'], env).stdout) as { change: unknown };
    expect(dry.change).toEqual(real.change);
    expect(real.change).toMatchObject({ added: ['service:web'], removed: ['service:db'], changed: ['service:api'] });
  });

  it('an unchanged inventory says so', () => {
    const dir = tempDir('cli-inv-dry');
    const env = dataDirEnv(dir);
    expect(warden(['inventory', 'load', EXAMPLE_INVENTORY], env).status).toBe(0);
    const r = warden(['inventory', 'load', EXAMPLE_INVENTORY, '--dry-run'], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^no change: the stored inventory already matches$/m);
  });

  it('without a database lists everything as added and creates no data dir', () => {
    const dir = tempDir('cli-inv-dry');
    const r = warden(['inventory', 'load', writeInventory({ 's.yaml': TWO }, join(dir, 'one')), '--dry-run'], dataDirEnv(dir));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^add +service +api$/m);
    expect(r.stdout).toMatch(/^add +service +db$/m);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('a file or a link to nowhere where the data dir should be fails as the load would, not "would add"', () => {
    const dir = tempDir('cli-inv-dry-file');
    const inv = writeInventory({ 's.yaml': TWO }, join(dir, 'inv'));
    writeFileSync(join(dir, 'data'), '');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'link'));
    for (const [dataDir, why] of [[join(dir, 'data'), /is not a directory: a load would fail/], [join(dir, 'link'), /is a link to nowhere/]] as const) {
      const dry = warden(['inventory', 'load', inv, '--dry-run'], { WARDEN_DATA_DIR: dataDir });
      expect(dry.status, dry.stdout).toBe(1);
      expect(dry.stderr).toMatch(why);
      expect(dry.stdout).toBe('');
      expect(warden(['inventory', 'load', inv], { WARDEN_DATA_DIR: dataDir }).status).toBe(1);
    }
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('a named pipe called *.yaml is a problem naming it, never read (a load would wait for ever)', () => {
    const dir = tempDir('cli-inv-dry-fifo');
    const inv = writeInventory({ 's.yaml': TWO }, join(dir, 'inv'));
    expect(spawnSync('mkfifo', [join(inv, 'x.yaml')]).status).toBe(0);
    const r = warden(['inventory', 'load', inv, '--dry-run'], dataDirEnv(dir));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/x\.yaml: cannot read: a named pipe, not a file/);
  });

  it('a file name with escape sequences is shown escaped in the header', () => {
    const dir = tempDir('cli-inv-dry-esc');
    const inv = writeInventory({ 's\u001b[2J\u009b.yaml': TWO }, join(dir, 'inv'));
    const r = warden(['inventory', 'load', inv, '--dry-run'], dataDirEnv(dir));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\(s\\x1b\[2J\\x9b\.yaml\)/);
    expect(r.stdout).not.toMatch(/[\u001b\u009b]/);
  });
});

describe('warden inventory load of an empty inventory', () => {
  it('is refused, naming what it would remove, then accepted with --allow-empty', () => {
    const dir = tempDir('cli-inv-empty');
    const env = dataDirEnv(dir);
    expect(warden(['inventory', 'load', writeInventory({ 's.yaml': TWO }, join(dir, 'one'))], env).status).toBe(0);
    const before = counts(dir);
    const empty = writeInventory({ 'blank.yaml': '# nothing yet\n' }, join(dir, 'empty'));
    const refused = warden(['inventory', 'load', empty], env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/holds no hosts, services or runbooks \(blank\.yaml\): loading it would remove all 2 stored \(service:api, service:db\); nothing loaded\. Pass --allow-empty/);
    expect(counts(dir)).toEqual(before);

    const allowed = warden(['inventory', 'load', empty, '--allow-empty'], env);
    expect(allowed.status).toBe(0);
    expect(allowed.stdout).toMatch(/removed service:api, service:db/);
    expect(counts(dir)).toMatchObject({ services: 0, audit: before.audit! + 1 });
  });

  it('an empty directory into an empty store is no wipe and loads', () => {
    const dir = tempDir('cli-inv-empty');
    mkdirSync(join(dir, 'empty'));
    expect(warden(['inventory', 'load', join(dir, 'empty')], dataDirEnv(dir)).status).toBe(0);
  });

  it('a dry run predicts the refusal with the same exit status', () => {
    const dir = tempDir('cli-inv-empty');
    const env = dataDirEnv(dir);
    expect(warden(['inventory', 'load', writeInventory({ 's.yaml': TWO }, join(dir, 'one'))], env).status).toBe(0);
    mkdirSync(join(dir, 'empty'));
    const r = warden(['inventory', 'load', join(dir, 'empty'), '--dry-run'], env);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^remove +service +api$/m);
    expect(r.stderr).toMatch(/--allow-empty/);
  });
});

describe('key files named by the inventory', () => {
  it('a missing key file is a warning on stderr naming the file, host, field and path; the load goes on', () => {
    const dir = tempDir('cli-inv-keys');
    const inv = writeInventory({ 'hosts.yaml': 'hosts:\n  - name: web-1\n    address: 127.0.0.1\n    ssh: { user: ops, keyPath: keys/id_x }\n' }, join(dir, 'inv'));
    const r = warden(['inventory', 'load', inv], dataDirEnv(dir));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`warden: warning: hosts.yaml: hosts.web-1.ssh.keyPath: ${join(inv, 'keys', 'id_x')}: no such file\n`);
    expect(r.stdout).toMatch(/1 hosts/);
  });

  it('a key file that is a directory is named too', () => {
    const dir = tempDir('cli-inv-keys');
    const inv = writeInventory({ 'h.yaml': 'hosts:\n  - name: web-1\n    address: 127.0.0.1\n    ssh: { user: ops, keyPath: keys }\n' }, join(dir, 'inv'));
    mkdirSync(join(inv, 'keys'));
    const r = warden(['inventory', 'load', inv, '--dry-run'], dataDirEnv(dir));
    expect(r.stderr).toMatch(/h\.yaml: hosts\.web-1\.ssh\.keyPath: .*\/keys: a directory, not a file/);
  });
});

describe('warden inventory discover', () => {
  it('exits 1 when every host fails, naming the socket tried and DOCKER_HOST', () => {
    const dir = tempDir('cli-discover');
    const socket = join(dir, 'nope.sock');
    const r = warden(['inventory', 'discover', '--timeout', '5'], { ...dataDirEnv(dir), DOCKER_HOST: `unix://${socket}` });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`local: unreachable at unix://${socket} (DOCKER_HOST): Docker on host local is unreachable (ENOENT)`);
    expect(r.stderr).toContain(`discover reached no host: local at unix://${socket} (DOCKER_HOST)`);
  });

  it('--json still prints every host before exiting 1', () => {
    const dir = tempDir('cli-discover');
    const r = warden(['inventory', 'discover', '--json', '--timeout', '5'], { ...dataDirEnv(dir), DOCKER_HOST: `unix://${join(dir, 'nope.sock')}` });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ hosts: [{ host: 'local', ok: false, endpoint: expect.stringContaining('nope.sock (DOCKER_HOST)') }] });
  });
});
