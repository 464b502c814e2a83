import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirEnv, warden } from '../support/cli.js';
import { EXAMPLE_INVENTORY, writeInventory } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';

const BAD_SERVICE = 'services:\n  - name: api\n    host: local\n    tier: critical\n    ownr: web-team\n';

function listed(env: NodeJS.ProcessEnv): { services: Array<{ name: string }>; hosts: Array<{ name: string }> } {
  const r = warden(['inventory', 'list', '--json'], env);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe('warden inventory load', () => {
  it('loads the example inventory and prints what it loaded', () => {
    const env = dataDirEnv(tempDir('cli-inv'));
    const r = warden(['inventory', 'load', EXAMPLE_INVENTORY], env);
    // The example's GPU worker names key files that are not shipped: warned about, not refused.
    expect(r.stderr).toBe([
      `warden: warning: hosts.yaml: hosts.gpu-worker.ssh.keyPath: ${EXAMPLE_INVENTORY}/keys/gpu-worker_ed25519: no such file`,
      `warden: warning: hosts.yaml: hosts.gpu-worker.ssh.knownHostsPath: ${EXAMPLE_INVENTORY}/keys/known_hosts: no such file`, '',
    ].join('\n'));
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`loaded ${EXAMPLE_INVENTORY} (hosts.yaml, runbooks.yaml, services.yaml): 2 hosts, 5 services, 3 runbooks`);
    expect(r.stdout).toMatch(/^  added host:gpu-worker, host:local, service:db, .*service:web-2, runbook:clean-old-logs/m);
    expect(listed(env).services.map((s) => s.name)).toEqual(['db', 'lb', 'trainer', 'web-1', 'web-2']);
  });

  it('writes an audit entry with the hash of what it loaded and what changed, and the chain still verifies', () => {
    const dir = tempDir('cli-inv');
    const env = dataDirEnv(dir);
    const first = writeInventory({ 'svc.yaml': 'services:\n  - { name: api, host: local, container: api }\n  - { name: db, host: local }\n' }, join(dir, 'one'));
    const second = writeInventory({ 'svc.yaml': 'services:\n  - { name: api, host: local, container: api2 }\n  - { name: web, host: local }\n' }, join(dir, 'two'));
    expect(warden(['inventory', 'load', first, '--by', 'alice'], env).status).toBe(0);
    const r = warden(['inventory', 'load', second, '--by', 'bob', '--json'], env);
    expect(JSON.parse(r.stdout).change).toMatchObject({ added: ['service:web'], removed: ['service:db'], changed: ['service:api'] });
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<{ tool: string; principal: string; result: string; args: string; argsHash: string }>;
    const loads = audit.filter((e) => e.tool === 'inventory.load');
    expect(loads.map((e) => e.principal).sort()).toEqual(['alice', 'bob']);
    const bob = loads.find((e) => e.principal === 'bob')!;
    expect(bob.result).toBe('added service:web; removed service:db; changed service:api');
    expect(JSON.parse(bob.args)).toMatchObject({ dir: second, hash: bob.argsHash });
    expect(bob.argsHash).toMatch(/^[0-9a-f]{64}$/);
    const verified = warden(['audit', 'verify'], env);
    expect(verified.status).toBe(0);
  });

  it('--json prints the counts as JSON', () => {
    const r = warden(['inventory', 'load', EXAMPLE_INVENTORY, '--json'], dataDirEnv(tempDir('cli-inv')));
    expect(JSON.parse(r.stdout)).toMatchObject({ dir: EXAMPLE_INVENTORY, files: ['hosts.yaml', 'runbooks.yaml', 'services.yaml'], hosts: 2, services: 5, runbooks: 3 });
  });

  it('without a directory loads ./inventory', () => {
    const dir = tempDir('cli-inv');
    writeInventory({ 'svc.yaml': 'services:\n  - { name: api, host: local, container: api }\n' }, join(dir, 'inventory'));
    const r = warden(['inventory', 'load'], dataDirEnv(dir), dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: 0 hosts, 1 services, 0 runbooks/);
  });

  it('without a directory loads the config file\'s inventory: dir, relative to the config file', () => {
    const dir = tempDir('cli-inv');
    writeInventory({ 'svc.yaml': 'services:\n  - { name: a, host: local }\n  - { name: b, host: local }\n' }, join(dir, 'conf', 'site'));
    writeFileSync(join(dir, 'conf', 'warden.yaml'), 'inventory: site\n');
    const r = warden(['--config', join(dir, 'conf', 'warden.yaml'), 'inventory', 'load'], dataDirEnv(dir), dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`loaded ${join(dir, 'conf', 'site')} .*: 0 hosts, 2 services`));
  });

  it('bad input exits 2 naming the file and the field, and writes nothing', () => {
    const dir = tempDir('cli-inv');
    const r = warden(['inventory', 'load', writeInventory({ 'services.yaml': BAD_SERVICE })], dataDirEnv(dir));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/services\.yaml: unknown key "services\[0\]\.ownr"/);
    expect(r.stderr).toMatch(/nothing loaded/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('a failed cross-check keeps the inventory loaded before', () => {
    const env = dataDirEnv(tempDir('cli-inv'));
    expect(warden(['inventory', 'load', EXAMPLE_INVENTORY], env).status).toBe(0);
    const bad = writeInventory({ 'services.yaml': 'services:\n  - { name: api, host: web-9 }\n' });
    const r = warden(['inventory', 'load', bad], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/services\.yaml: services\[0\]\.host: no host named "web-9"/);
    expect(listed(env).services).toHaveLength(5);
  });

  it('a directory that does not exist exits 2', () => {
    const dir = tempDir('cli-inv');
    const r = warden(['inventory', 'load', join(dir, 'nope')], dataDirEnv(dir));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read/);
  });

  it('an empty directory loads an empty inventory, replacing the previous one, only with --allow-empty', () => {
    const dir = tempDir('cli-inv');
    const env = dataDirEnv(dir);
    expect(warden(['inventory', 'load', EXAMPLE_INVENTORY], env).status).toBe(0);
    mkdirSync(join(dir, 'empty'));
    expect(warden(['inventory', 'load', join(dir, 'empty')], env).status).toBe(2);
    expect(warden(['inventory', 'load', join(dir, 'empty'), '--allow-empty'], env).stdout).toMatch(/no files\): 0 hosts, 0 services, 0 runbooks/);
    expect(listed(env)).toMatchObject({ hosts: [], services: [] });
  });
});

describe('warden inventory list', () => {
  it('prints hosts, services, runbooks and discovered containers', () => {
    const env = dataDirEnv(tempDir('cli-inv'));
    warden(['inventory', 'load', EXAMPLE_INVENTORY], env);
    const r = warden(['inventory', 'list'], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^hosts \(2\):\n {2}gpu-worker +ssh +ssh warden@127\.0\.0\.1:2222$/m);
    expect(r.stdout).toMatch(/^ {2}db +local\/db +critical +data-team$/m);
    expect(r.stdout).toMatch(/^discovered, not in the inventory \(0\):$/m);
  });
});
