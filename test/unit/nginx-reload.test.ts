import { describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors.js';
import type { InventoryReader, ServiceRecord } from '../../src/store/readers.js';
import {
  catArgv, childrenArgv, nginxBuild, nginxBuildArgv, nginxDumpArgv, nginxReloadArgv, parseChildren, parsePid,
  pidDirective, pidFileNeedsBuild, processDirArgv, resolvePidPath, workersReplaced,
} from '../../src/tools/nginx.js';
import { nginxPlace, reloadPlan } from '../../src/tools/nginx-reload.js';

const PATHS = { prefix: '/srv/nginx', confPath: '/srv/nginx/nginx.conf' };

describe('reload_nginx argv', () => {
  it.each([
    ['the test with dump', nginxDumpArgv(PATHS), ['nginx', '-p', '/srv/nginx', '-c', '/srv/nginx/nginx.conf', '-T']],
    ['the test without paths', nginxDumpArgv({}), ['nginx', '-T']],
    ['the reload', nginxReloadArgv(PATHS), ['nginx', '-p', '/srv/nginx', '-c', '/srv/nginx/nginx.conf', '-s', 'reload']],
    ['the build paths', nginxBuildArgv(), ['nginx', '-V']],
    ['the pid file read', catArgv('/run/nginx.pid'), ['cat', '/run/nginx.pid']],
    ['the master\'s children', childrenArgv(42), ['cat', '/proc/42/task/42/children']],
    ['the process check', processDirArgv(42), ['test', '-d', '/proc/42']],
  ])('builds %s as a fixed argv', (_what, argv, expected) => {
    expect(argv).toEqual(expected);
  });

  it('never reads a relative path, which cat could take for an option', () => {
    expect(() => catArgv('-n')).toThrow(ToolFailure);
  });
});

describe('pidDirective', () => {
  it.each([
    ['a plain directive', '# configuration file /etc/nginx/nginx.conf:\nuser www-data;\npid /run/nginx.pid;\n', '/run/nginx.pid'],
    ['an indented one', 'events {}\n  pid   logs/n.pid ;', 'logs/n.pid'],
    ['one after another directive on its line', 'user root; pid /tmp/x.pid;', '/tmp/x.pid'],
    ['a double-quoted path', 'pid "/run/my nginx.pid";', '/run/my nginx.pid'],
    ['a single-quoted path', "pid '/run/n.pid';", '/run/n.pid'],
    ['the first of several files', 'pid /a.pid;\n# configuration file /etc/nginx/x.conf:\npid /b.pid;', '/a.pid'],
  ])('reads %s', (_what, dump, expected) => {
    expect(pidDirective(dump)).toBe(expected);
  });

  it.each([
    ['no directive', 'user root;\nevents {}\n'],
    ['a commented-out directive', '# pid /run/old.pid;\nuser root;'],
    ['a directive inside a trailing comment', 'user root; # pid /run/old.pid;'],
    ['a longer name ending in pid', 'rapid /x;\nfoo_pid /y;'],
  ])('finds nothing in %s', (_what, dump) => {
    expect(pidDirective(dump)).toBeUndefined();
  });
});

describe('the pid file nginx uses', () => {
  const V = 'nginx version: nginx/1.22.1\nconfigure arguments: --with-cc-opt=\'-g -O2 -ffile-prefix-map=/build=.\' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --pid-path=/run/nginx.pid --modules-path=/x';

  it('reads --prefix and --pid-path from nginx -V', () => {
    expect(nginxBuild(V)).toEqual({ prefix: '/usr/share/nginx', pidPath: '/run/nginx.pid' });
    expect(nginxBuild('nginx version: nginx/1.25.0\nconfigure arguments:')).toEqual({});
  });

  it.each([
    ['an absolute directive', '/run/a.pid', undefined, {}, '/run/a.pid'],
    ['a relative directive under -p', 'logs/n.pid', '/srv/nginx/', {}, '/srv/nginx/logs/n.pid'],
    ['a relative directive under the built prefix', 'logs/n.pid', undefined, { prefix: '/usr/share/nginx' }, '/usr/share/nginx/logs/n.pid'],
    ['no directive: the built pid path', undefined, '/srv/nginx', { pidPath: '/run/nginx.pid' }, '/run/nginx.pid'],
    ['no directive, a relative built path', undefined, '/srv/nginx', { pidPath: 'logs/nginx.pid' }, '/srv/nginx/logs/nginx.pid'],
    ['nothing known: nginx\'s own defaults', undefined, undefined, {}, '/usr/local/nginx/logs/nginx.pid'],
  ])('resolves %s', (_what, directive, prefix, build, expected) => {
    expect(resolvePidPath(directive, prefix, build)).toBe(expected);
  });

  it.each([
    ['/run/a.pid', undefined, false],
    ['logs/a.pid', '/srv', false],
    ['logs/a.pid', undefined, true],
    [undefined, '/srv', true],
  ])('asks nginx -V for directive %s with prefix %s: %s', (directive, prefix, expected) => {
    expect(pidFileNeedsBuild(directive, prefix)).toBe(expected);
  });
});

describe('process checks', () => {
  it.each([['123\n', 123], [' 7 ', 7], ['', undefined], ['0', undefined], ['12 13', undefined], ['-1', undefined], ['abc', undefined]])(
    'parses pid file content %j as %s', (text, expected) => {
      expect(parsePid(text)).toBe(expected);
    },
  );

  it('parses a children file', () => {
    expect(parseChildren('812 813 \n')).toEqual([812, 813]);
    expect(parseChildren('')).toEqual([]);
  });

  it.each([
    [[10, 11], [12, 13], true],
    [[10, 11], [10, 11, 12], true],
    [[10, 11], [10, 11], false],
    [[10, 11], [10], false],
    [[10], [], false],
  ])('workers %j then %j: replaced=%s', (before, after, expected) => {
    expect(workersReplaced(before, after)).toBe(expected);
  });
});

function inventoryWith(services: Partial<ServiceRecord>[]): InventoryReader {
  const full = services.map((s): ServiceRecord => ({
    name: 'x', host: 'local', container: null, owner: null, tier: null, labels: {}, dependsOn: [], healthCheck: null, notes: null, runbooks: [], nginx: null, resources: null, ...s,
  }));
  return {
    query: () => { throw new Error('not in this test'); },
    service: (name) => full.find((s) => s.name === name),
    serviceAt: () => undefined,
    serviceFor: (w) => (w.service ? full.find((s) => s.name === w.service) : undefined),
    nginxPathAllowed: () => true,
    services: () => full,
    hosts: () => [],
    runbooks: () => [],
    runbook: () => undefined,
  };
}

describe('where nginx is', () => {
  const inv = inventoryWith([
    { name: 'edge', host: 'web-1', nginx: { confPath: '/etc/nginx/nginx.conf', container: 'proxy' } },
    { name: 'db', host: 'db-1' },
    { name: 'odd', host: 'web-1', nginx: { confPath: 'nginx.conf' } },
  ]);

  it('takes host, container and paths from the input', () => {
    expect(nginxPlace({ host: 'web-1', container: '/proxy', prefix: '/srv' }, inv)).toEqual({ host: 'web-1', container: 'proxy', paths: { prefix: '/srv' } });
    expect(nginxPlace({}, inv)).toEqual({ host: 'local', paths: {} });
  });

  it('takes them from a service\'s nginx entry', () => {
    expect(nginxPlace({ service: 'edge' }, inv)).toEqual({ host: 'web-1', service: 'edge', container: 'proxy', paths: { confPath: '/etc/nginx/nginx.conf' } });
  });

  it.each([
    ['a service and a host', { service: 'edge', host: 'web-2' }, /either service or host, not both/],
    ['an unknown service', { service: 'nope' }, /no service "nope"/],
    ['a service without nginx', { service: 'db' }, /service "db" has no nginx entry/],
    ['a relative path in the inventory', { service: 'odd' }, /nginx\.confPath of service "odd" is not a plain absolute path/],
  ])('refuses %s as invalid input', (_what, input, message) => {
    expect(() => nginxPlace(input, inv)).toThrow(expect.objectContaining({ kind: 'invalid_input', message: expect.stringMatching(message) }));
  });
});

describe('the dry-run plan', () => {
  it('names both commands and where they run', () => {
    expect(reloadPlan({ host: 'web-1', container: 'proxy', confPath: '/etc/nginx/nginx.conf' })).toBe(
      'run `nginx -c /etc/nginx/nginx.conf -T` (the -t test) in container proxy on host web-1, then `nginx -c /etc/nginx/nginx.conf -s reload` only if the test passes, then check that the master lives and new workers start',
    );
  });

  it('names the service, whose paths it reads only when the call runs', () => {
    expect(reloadPlan({ service: 'edge' })).toMatch(/^test and reload the nginx of service edge \(where and which config from its inventory entry\)/);
  });
});
