import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { localHost } from '../../src/adapters/hosts.js';
import { InputError } from '../../src/errors.js';
import { readInventoryDir, toHostSpec, withLocalHost } from '../../src/store/inventory-file.js';
import { EXAMPLE_INVENTORY, writeInventory } from '../support/inventory.js';

const host = (extra = ''): string => `hosts:\n  - name: app-1\n    address: 127.0.0.1\n${extra}`;
const service = (fields: string): string => `services:\n  - name: api\n    host: local\n    container: api\n${fields}`;

/** The InputError message for an inventory made of these files. */
function problems(files: Record<string, string>): string {
  try {
    readInventoryDir(writeInventory(files));
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('the inventory was accepted');
}

describe('the example inventory', () => {
  it('loads: local and the GPU worker, five services, three runbooks', () => {
    const inv = readInventoryDir(EXAMPLE_INVENTORY, '/home/op');
    expect(inv.hosts.map((h) => h.name)).toEqual(['local', 'gpu-worker']);
    expect(inv.services.map((s) => `${s.host}/${s.container}:${s.tier}`)).toEqual([
      'local/lb:critical', 'local/web-1:standard', 'local/web-2:standard', 'local/db:critical', 'gpu-worker/trainer:batch',
    ]);
    expect(inv.runbooks.map((r) => `${r.name}:${r.risk}`)).toEqual(['disk-usage:read', 'clean-old-logs:medium', 'restart-unit:medium']);
  });

  it('reaches the GPU worker over SSH, its Docker socket through that login, key paths resolved against the inventory dir', () => {
    const inv = readInventoryDir(EXAMPLE_INVENTORY);
    expect(toHostSpec(inv.hosts.find((h) => h.name === 'gpu-worker')!)).toEqual({
      name: 'gpu-worker',
      docker: { kind: 'ssh', socketPath: '/var/run/docker.sock' },
      ssh: { address: '127.0.0.1', port: 2222, user: 'warden', keyPath: join(EXAMPLE_INVENTORY, 'keys/gpu-worker_ed25519'), knownHostsPath: join(EXAMPLE_INVENTORY, 'keys/known_hosts') },
    });
  });
});

describe('inventory validation names the file and the field', () => {
  it('an unknown key in a service', () => {
    expect(problems({ 'svc.yaml': service('    ownr: web-team\n') })).toMatch(/svc\.yaml: unknown key "services\[0\]\.ownr"/);
  });

  it('an unknown top-level key', () => {
    expect(problems({ 'a.yml': 'servics: []\n' })).toMatch(/a\.yml: unknown key "servics"/);
  });

  it('a tier outside critical, standard, batch', () => {
    expect(problems({ 'svc.yaml': service('    tier: vital\n') })).toMatch(/svc\.yaml: services\[0\]\.tier: .*critical/);
  });

  it('a health check with two probes', () => {
    expect(problems({ 'svc.yaml': service('    healthCheck: { tcp: "127.0.0.1:5432", container: true }\n') })).toMatch(/services\[0\]\.healthCheck: give exactly one/);
  });

  it('a problem in each of two files, both reported', () => {
    const msg = problems({ 'a.yaml': service('    ownr: x\n'), 'b.yaml': host('    dockr: ssh\n') });
    expect(msg).toMatch(/2 problems, nothing loaded/);
    expect(msg).toMatch(/a\.yaml: unknown key "services\[0\]\.ownr"/);
    expect(msg).toMatch(/b\.yaml: unknown key "hosts\[0\]\.dockr"/);
  });

  it('YAML that does not parse', () => {
    expect(problems({ 'bad.yaml': 'hosts: [\n' })).toMatch(/bad\.yaml: not valid YAML/);
  });

  it('a directory that does not exist', () => {
    expect(() => readInventoryDir('/nonexistent/inventory')).toThrow(/inventory \/nonexistent\/inventory: cannot read/);
  });
});

describe('inventory cross-checks', () => {
  it('refuses a service on a host that does not exist', () => {
    expect(problems({ 's.yaml': 'services:\n  - { name: api, host: nowhere }\n' })).toMatch(/s\.yaml: services\[0\]\.host: no host named "nowhere" \(known: local\)/);
  });

  it('the host local exists without being declared', () => {
    expect(readInventoryDir(writeInventory({ 's.yaml': 'services:\n  - { name: api, host: local }\n' })).services).toHaveLength(1);
  });

  it('refuses dependsOn naming no service, and a service depending on itself', () => {
    const msg = problems({ 's.yaml': 'services:\n  - { name: api, host: local, dependsOn: [db, api] }\n' });
    expect(msg).toMatch(/services\[0\]\.dependsOn\[0\]: no service named "db"/);
    expect(msg).toMatch(/services\[0\]\.dependsOn\[1\]: a service cannot depend on itself/);
  });

  it('refuses a dependency cycle, naming it, since the loop would wait on it for ever', () => {
    const msg = problems({ 's.yaml': 'services:\n  - { name: web, host: local, dependsOn: [api] }\n  - { name: api, host: local, dependsOn: [db] }\n  - { name: db, host: local, dependsOn: [web] }\n' });
    expect(msg).toMatch(/s\.yaml: services\[0\]\.dependsOn: a dependency cycle \(web -> api -> db -> web\)/);
    // A chain without a cycle, and two services sharing a dependency, are fine.
    expect(readInventoryDir(writeInventory({ 's.yaml': 'services:\n  - { name: lb, host: local, dependsOn: [web, api] }\n  - { name: web, host: local, dependsOn: [db] }\n  - { name: api, host: local, dependsOn: [db] }\n  - { name: db, host: local }\n' })).services).toHaveLength(4);
  });

  it('refuses a duplicate name across files, naming both', () => {
    const msg = problems({ 'a.yaml': 'services:\n  - { name: api, host: local }\n', 'b.yaml': 'services:\n  - { name: x, host: local }\n  - { name: api, host: local }\n' });
    expect(msg).toMatch(/b\.yaml: services\[1\]\.name: duplicate service "api" \(first in a\.yaml\)/);
  });

  it('refuses two services claiming the same container', () => {
    expect(problems({ 's.yaml': 'services:\n  - { name: a, host: local, container: c }\n  - { name: b, host: local, container: c }\n' }))
      .toMatch(/services\[1\]\.container: local\/c is already service "a"/);
  });

  it('refuses a service naming a runbook that does not exist', () => {
    expect(problems({ 's.yaml': 'services:\n  - { name: a, host: local, runbooks: [fix-it] }\n' })).toMatch(/services\[0\]\.runbooks\[0\]: no runbook named "fix-it"/);
  });

  it('refuses runbook hosts that match no host, and accepts a glob that matches', () => {
    const rb = (hosts: string): string => `runbooks:\n  - { name: up, description: uptime, hosts: ${hosts}, argv: [uptime], risk: read }\n`;
    expect(problems({ 'r.yaml': rb('[gpu-*]') })).toMatch(/r\.yaml: runbooks\[0\]\.hosts\[0\]: "gpu-\*" matches no host/);
    expect(readInventoryDir(writeInventory({ 'r.yaml': rb('["loc*"]') })).runbooks).toHaveLength(1);
  });
});

describe('runbook templates', () => {
  const runbook = (argv: string, params = '{}'): Record<string, string> => ({
    'r.yaml': `runbooks:\n  - name: rb\n    description: d\n    hosts: [local]\n    argv: ${argv}\n    params: ${params}\n    risk: low\n`,
  });

  it('refuses a placeholder that has no param', () => {
    expect(problems(runbook('[df, -h, "{path}"]'))).toMatch(/runbooks\[0\]\.argv\[2\]: placeholder \{path\} has no entry in params/);
  });

  it('refuses a param that argv never uses', () => {
    expect(problems(runbook('[uptime]', '{ path: { pattern: "/.*", description: p } }'))).toMatch(/runbooks\[0\]\.params\.path: param "path" is not used/);
  });

  it('refuses a placeholder in the program itself', () => {
    expect(problems(runbook('["{cmd}", x]', '{ cmd: { pattern: "ls", description: c } }'))).toMatch(/runbooks\[0\]\.argv\[0\]: the program \(argv\[0\]\) may not contain a placeholder/);
  });

  it('refuses a pattern that is not a regular expression', () => {
    expect(problems(runbook('[df, "{p}"]', '{ p: { pattern: "(", description: p } }'))).toMatch(/params\.p\.pattern: not a valid regular expression/);
  });

  it('accepts a placeholder inside a word, and braces that are not placeholders', () => {
    const inv = readInventoryDir(writeInventory(runbook('[find, /var/log, -mtime, "+{days}", -exec, ls, "{}", ";"]', '{ days: { pattern: "[0-9]+", description: d } }')));
    expect(inv.runbooks[0]!.argv).toContain('+{days}');
  });
});

describe('hosts and their endpoints', () => {
  it.each([
    ['docker: unix:///run/docker.sock', { kind: 'url', url: 'unix:///run/docker.sock' }],
    ['docker: ssh:///run/user/1000/docker.sock\n    ssh: { user: ops, keyPath: k }', { kind: 'ssh', socketPath: '/run/user/1000/docker.sock' }],
  ])('%s', (yaml, docker) => {
    const inv = readInventoryDir(writeInventory({ 'h.yaml': host(`    ${yaml}\n`) }));
    expect(toHostSpec(inv.hosts[0]!).docker).toEqual(docker);
  });

  it('a tcp endpoint with TLS files, paths relative to the inventory dir or ~/', () => {
    const dir = writeInventory({ 'h.yaml': host('    docker: tcp://127.0.0.1:2376\n    dockerTls: { ca: certs/ca.pem, cert: ~/certs/cert.pem, key: /etc/warden/key.pem }\n') });
    expect(toHostSpec(readInventoryDir(dir, '/home/op').hosts[0]!).docker).toEqual({
      kind: 'url', url: 'tcp://127.0.0.1:2376', tls: { caPath: join(dir, 'certs/ca.pem'), certPath: '/home/op/certs/cert.pem', keyPath: '/etc/warden/key.pem' },
    });
  });

  it.each([
    ['    docker: unix:///s\n    dockerTls: { ca: a, cert: b, key: c }\n', /hosts\[0\]\.dockerTls: TLS files apply only to a tcp:\/\/ docker endpoint/],
    ['    docker: ssh\n', /hosts\[0\]\.docker: a Docker endpoint over SSH needs the host's "ssh" login/],
    ['    docker: http://127.0.0.1:2375\n', /hosts\[0\]\.docker: unix:\/\/\/path, tcp:\/\/host:port, ssh/],
    ['    ssh: { port: 70000, user: ops, keyPath: k }\n', /hosts\[0\]\.ssh\.port/],
  ])('refuses %j', (yaml, message) => {
    expect(problems({ 'h.yaml': host(yaml) })).toMatch(message);
  });

  it('program paths on the host are kept as written, and must be absolute', () => {
    const inv = readInventoryDir(writeInventory({ 'h.yaml': host('    nvidiaSmiPath: /opt/nvidia/bin/nvidia-smi\n    nginxPath: /usr/local/sbin/nginx\n') }));
    expect(toHostSpec(inv.hosts[0]!)).toEqual({ name: 'app-1', nvidiaSmiPath: '/opt/nvidia/bin/nvidia-smi', nginxPath: '/usr/local/sbin/nginx' });
    expect(problems({ 'h.yaml': host('    nginxPath: sbin/nginx\n') })).toMatch(/hosts\[0\]\.nginxPath: an absolute path/);
  });

  it('an SSH login without any address is refused', () => {
    expect(problems({ 'h.yaml': 'hosts:\n  - { name: x, ssh: { user: ops, keyPath: k } }\n' })).toMatch(/hosts\[0\]\.ssh\.address: give ssh\.address or the host's address/);
  });

  it('local keeps the default Docker endpoint unless the inventory names one', () => {
    const local = localHost('unix:///var/run/docker.sock');
    expect(withLocalHost(local, [{ name: 'local' }, { name: 'b' }])).toEqual([local, { name: 'b' }]);
    const declared = { name: 'local', docker: { kind: 'url' as const, url: 'tcp://127.0.0.1:2375' } };
    expect(withLocalHost(local, [declared])).toEqual([declared]);
    expect(withLocalHost(local, [])).toEqual([local]);
  });
});

describe('runbooks that hand a placeholder to a shell or an interpreter', () => {
  const runbook = (argv: string[], pattern: string): Record<string, string> => ({
    'runbooks.yaml': `runbooks:\n  - name: r\n    description: d\n    hosts: [local]\n    risk: low\n    argv: ${JSON.stringify(argv)}\n    params: { p: { pattern: ${JSON.stringify(pattern)}, description: x } }\n`,
  });
  const SHELL = /runbooks\[0\]\.params\.p\.pattern: \{p\} is inside code a shell parses/;
  const INTERPRETER = /runbooks\[0\]\.argv\[\d\]: \{p\} is inside code an interpreter evaluates/;

  it.each([
    ['sh -c with any text', ['sh', '-c', 'du -sh {p}'], '.+', SHELL],
    ['bash -lc', ['/bin/bash', '-lc', 'ls {p}'], '/[a-z ]+', SHELL],
    ['sh -e -c (the code flag is not the first)', ['sh', '-e', '-c', 'du {p}'], '.+', SHELL],
    ['sh -c -- script', ['sh', '-c', '--', 'du {p}'], '.+', SHELL],
    ['bash -o pipefail -c', ['bash', '-o', 'pipefail', '-c', 'du {p}'], '.+', SHELL],
    ['sh -c after timeout', ['timeout', '5', 'sh', '-c', 'cat {p}'], '[^/]+', SHELL],
    ['busybox sh -c', ['busybox', 'sh', '-c', 'cat {p}'], '.+', SHELL],
    ['ssh to a host', ['ssh', 'box', 'du {p}'], '.+', SHELL],
    ['a pattern that allows ; later', ['sh', '-c', 'du {p}'], '[a-z]{4}(;[a-z]{4})?', SHELL],
    ['a pattern with an alternative', ['sh', '-c', 'du {p}'], '[a-z0-9]+|\\$\\([a-z]+\\)', SHELL],
    ['a class range that spans punctuation', ['sh', '-c', 'du {p}'], '[.-_]+', SHELL],
    ['python -c', ['python3', '-c', "print('{p}')"], '[a-z]+', INTERPRETER],
    ['python3.11 -c', ['python3.11', '-c', 'print({p})'], '[a-z]+', INTERPRETER],
    ['perl -E', ['perl', '-E', 'say {p}'], '[a-z/]+', INTERPRETER],
    ['php -r', ['php', '-r', 'echo {p};'], '[a-z]+', INTERPRETER],
    ['node -p', ['node', '-p', '{p}'], '[a-z]+', INTERPRETER],
    ['awk', ['awk', '{print {p}}', '/var/log/x'], '[0-9]+', INTERPRETER],
  ])('refuses %s', (_what, argv, pattern, why) => {
    expect(() => readInventoryDir(writeInventory(runbook(argv, pattern)))).toThrow(why);
  });

  it.each([
    ['sh -c with a plain class', ['sh', '-c', 'du -sh /var/lib/{p}'], '[a-z0-9._-]+'],
    ['a placeholder after the script, as a positional argument', ['sh', '-c', 'du -sh "$1"', 'sh', '{p}'], '.+'],
    ['a script file with arguments', ['bash', '/opt/cleanup.sh', '{p}'], '.+'],
    ['python running a file with the value in sys.argv', ['python3', '/opt/tool.py', '--days', '{p}'], '[0-9]+'],
    ['no shell at all', ['du', '-sh', '{p}'], '.+'],
  ])('accepts %s', (_what, argv, pattern) => {
    expect(readInventoryDir(writeInventory(runbook(argv, pattern))).runbooks).toHaveLength(1);
  });
});
