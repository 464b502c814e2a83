// The inventory's monitor declarations: what loads, what fails loudly (naming the field), and the
// plan and fingerprints the loop reads back.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { readInventoryDir } from '../../src/store/inventory-file.js';
import { planMonitors, subjectOf, thresholdId } from '../../src/loop/monitors/monitor-plan.js';
import { readingsOf, rulesOf } from '../../src/loop/monitors/readings.js';
import { HostMonitorSettings } from '../../src/store/monitor-schema.js';
import { writeInventory } from '../support/inventory.js';

const svc = (extra: string): string => `services:\n  - name: web\n    host: local\n    container: web\n${extra}`;

function problems(yaml: string): string {
  try {
    readInventoryDir(writeInventory({ 'inv.yaml': yaml }));
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('the inventory was accepted');
}

const load = (yaml: string) => readInventoryDir(writeInventory({ 'inv.yaml': yaml }));

describe('monitor declarations in the inventory', () => {
  it('`monitor: true` on a service takes every default: 30 s, 5 s timeout, down after 3 failures', () => {
    const inv = load(svc('    healthCheck: { http: "http://127.0.0.1:8080/health" }\n    monitor: true\n'));
    expect(inv.services[0]!.monitor).toEqual({ interval: 30_000, timeout: 5_000, retries: 3, cooldown: 0, tlsExpiryDays: 14, ignoreTlsErrors: false, from: 'warden' });
  });

  it('durations take s, m and h, and a number of seconds', () => {
    const inv = load(svc('    healthCheck: { tcp: "127.0.0.1:5432" }\n    monitor: { interval: 1m30s, timeout: 2, retries: 1, cooldown: 10m }\n'));
    expect(inv.services[0]!.monitor).toMatchObject({ interval: 90_000, timeout: 2_000, retries: 1, cooldown: 600_000 });
  });

  it.each([
    ['a monitor without a health check', svc('    monitor: true\n'), /services\[0\]\.monitor.*healthCheck/],
    ['a duration typo', svc('    healthCheck: { tcp: "127.0.0.1:1" }\n    monitor: { interval: 10 seconds }\n'), /monitor\.interval: .*"10 seconds"/],
    ['a timeout longer than the interval', svc('    healthCheck: { tcp: "127.0.0.1:1" }\n    monitor: { interval: 5s, timeout: 10s }\n'), /monitor\.timeout.*longer than the interval/],
    ['an unknown key', svc('    healthCheck: { tcp: "127.0.0.1:1" }\n    monitor: { intervall: 5s }\n'), /intervall/],
    ['zero retries', svc('    healthCheck: { tcp: "127.0.0.1:1" }\n    monitor: { retries: 0 }\n'), /monitor\.retries/],
    ['clear at or above fire', 'hosts:\n  - name: local\n    monitor: { disk: { fire: 90, clear: 90 } }\n', /monitor\.disk\.clear.*below fire/],
    ['a percentage above 100', 'hosts:\n  - name: local\n    monitor: { memory: { fire: 120, clear: 90 } }\n', /monitor\.memory\.fire/],
    ['a relative disk path', 'hosts:\n  - name: local\n    monitor: { disk: { mounts: [data] } }\n', /monitor\.disk\.mounts\[0\]/],
    ['a cleanup place with ".."', 'hosts:\n  - name: local\n    cleanup: [{ path: /srv/app/../../etc }]\n', /cleanup\[0\]\.path/],
    ['Docker\'s health check on a service without a container', 'services:\n  - name: web\n    host: local\n    healthCheck: { container: true }\n', /services\[0\]\.healthCheck\.container: Docker's own health check needs the service's container/],
    ['probes from a host that has no SSH login', 'hosts:\n  - name: app\n    address: 127.0.0.1\nservices:\n  - name: web\n    host: app\n    healthCheck: { tcp: "127.0.0.1:80" }\n    monitor: { from: host }\n', /services\[0\]\.monitor\.from: "host" probes through the SSH login of host "app", which has none/],
    ['a cleanup name pattern with a slash', 'hosts:\n  - name: local\n    cleanup: [{ path: /srv/app/cache, names: ["../*"] }]\n', /cleanup\[0\]\.names\[0\]/],
  ])('refuses %s, naming the field', (_what, yaml, message) => {
    expect(problems(yaml)).toMatch(message);
  });

  it('plans one probe per monitored service and one reading per monitored host, skipping the rest', () => {
    const inv = load(`hosts:\n  - name: local\n    monitor: { cpu: false, disk: { mounts: [/, /data], fire: 80, clear: 70 } }\n    cleanup: [{ path: /data/cache, olderThanDays: 3 }]\n`
      + `services:\n  - name: web\n    host: local\n    container: web\n    healthCheck: { http: "http://127.0.0.1:8080/", keyword: ok }\n    monitor: { interval: 10s }\n`
      + '  - name: db\n    host: local\n    container: db\n    healthCheck: { tcp: "127.0.0.1:5432" }\n');
    const records = {
      services: () => inv.services.map((s) => ({ ...s, container: s.container ?? null, owner: null, notes: null, nginx: null, resources: null, healthCheck: s.healthCheck, monitor: s.monitor ?? null })),
      hosts: () => inv.hosts.map((h) => ({ name: h.name, address: null, docker: null, ssh: null, labels: h.labels, notes: null, monitor: h.monitor ?? null, cleanup: h.cleanup, reboot: null })),
    };
    const plan = planMonitors(records);
    expect(plan.map((m) => m.id)).toEqual(['service:web', 'host:local']);
    expect(plan[0]).toMatchObject({ kind: 'probe', host: 'local', container: 'web', check: { http: { url: 'http://127.0.0.1:8080/', keyword: 'ok' } } });
    expect(inv.hosts[0]!.cleanup).toEqual([{ path: '/data/cache', olderThanDays: 3, names: [] }]);
    const rules = rulesOf(inv.hosts[0]!.monitor!);
    expect([...rules.keys()]).toEqual(['memory', 'disk', 'temperature', 'gpuUtilization', 'gpuTemperature', 'gpuMemory']);
    expect(rules.get('disk')).toMatchObject({ fire: 80, clear: 70, mounts: ['/', '/data'], cooldownMs: 600_000 });
  });
});

describe('cleanup places', () => {
  const place = (path: string): string => `hosts:\n  - name: local\n    cleanup: [{ path: "${path}" }]\n`;

  it.each([
    ['/etc', /\/etc is in \/etc, which holds the system's own files/],
    ['/etc/', /\/etc is in \/etc/],
    ['/etc/.', /no "\." or "\.\." segments/],
    ['/./etc', /no "\." or "\.\." segments/],
    ['/srv/.', /no "\." or "\.\." segments/],
    ['/srv/app/../../etc', /no "\." or "\.\." segments/],
    ['//etc//nginx', /\/etc\/nginx is in \/etc/],
    ['/usr/local', /is in \/usr/],
    ['/boot/efi', /is in \/boot/],
    ['/var/lib/docker/overlay2', /is in \/var\/lib/],
    ['/var/lib/mysql', /is in \/var\/lib/],
    ['/', /\/ holds everyone's files/],
    ['/var/log/', /\/var\/log holds everyone's files/],
    ['/srv', /\/srv holds everyone's files/],
    ['/home', /\/home holds everyone's files/],
    ['/tmp', /\/tmp holds everyone's files/],
  ])('refuses %s, naming the field and why', (path, why) => {
    expect(problems(place(path))).toMatch(new RegExp(`cleanup\\[0\\]\\.path: .*${why.source}`));
  });

  it.each([['/srv/app/cache'], ['/var/log/myapp'], ['/home/app/tmp/'], ['/opt/app/dumps']])('accepts the application\'s own directory %s', (path) => {
    expect(load(place(path)).hosts[0]!.cleanup[0]!.path).toBe(path.replace(/\/$/, ''));
  });
});

describe('monitor fingerprints', () => {
  it.each([
    ['warden:service:web', { kind: 'probe', service: 'web' }],
    ['warden:service:web:tls', { kind: 'tls', service: 'web' }],
    [`warden:${thresholdId('local', 'disk', '/srv/data')}`, { kind: 'threshold', host: 'local', check: 'disk', mount: '/srv/data' }],
    [`warden:${thresholdId('gpu-1', 'gpuTemperature', '0')}`, { kind: 'threshold', host: 'gpu-1', check: 'gpu0:temperature' }],
    ['warden:host:local:cpu', { kind: 'threshold', host: 'local', check: 'cpu' }],
    ['docker:local/web', undefined],
    ['alertmanager:abc', undefined],
  ])('%s is %j', (fingerprint, subject) => {
    expect(subjectOf(fingerprint)).toEqual(subject);
  });
});

describe('host readings', () => {
  it('reads the hottest sensor, memory as used/total and each GPU on its own; a missing sensor reads null', () => {
    const rules = rulesOf(HostMonitorSettings.parse({ disk: { mounts: ['/data'] } }));
    const metrics = {
      cpu: { cores: 2, loadAverage: [0, 0, 0] as [number, number, number], usagePercent: 12.5 },
      memory: { totalBytes: 1000, usedBytes: 905, availableBytes: 95 },
      disks: [], temperatures: [{ label: 'cpu', celsius: 60 }, { label: 'core 1', celsius: 71 }],
      gpus: [{ model: 'A100', vendor: 'NVIDIA', memoryTotalMiB: 1000, memoryUsedMiB: 960, utilizationPercent: null, temperatureC: 80 }],
      notes: [],
    };
    const got = readingsOf('local', rules, metrics, new Map([['/data', { fs: '', type: '', mount: '/data', path: '/data', sizeBytes: 1, usedBytes: 1, availableBytes: 0, usePercent: 93.1 }]]));
    expect(Object.fromEntries(got.map((r) => [r.id, r.value]))).toEqual({
      'host:local:cpu': 12.5, 'host:local:memory': 90.5, 'host:local:temperature': 71,
      'host:local:gpu0:utilization': null, 'host:local:gpu0:temperature': 80, 'host:local:gpu0:memory': 96,
      'host:local:disk:/data': 93.1,
    });
  });
});
