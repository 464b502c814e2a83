// The monitor scheduler with stand-in probes and a stand-in state store: it probes on its interval,
// hands firings and recoveries to the intake as alerts of source `warden`, saves every state, and
// remembers a down across a restart so the recovery is still reported. Real timers, 200 ms intervals.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { MonitorScheduler } from '../../src/loop/monitors/scheduler.js';
import type { ProbeResult, Probes } from '../../src/loop/monitors/probe-task.js';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import type { MonitorStateRow } from '../../src/store/monitor-states.js';
import { HostMonitorSettings, SERVICE_MONITOR_DEFAULTS } from '../../src/store/monitor-schema.js';
import { ProbeTask } from '../../src/loop/monitors/probe-task.js';
import { HostTask } from '../../src/loop/monitors/host-task.js';
import { readingsOf, rulesOf } from '../../src/loop/monitors/readings.js';
import { monitorProbes } from '../../src/loop/monitors/start.js';

const started: MonitorScheduler[] = [];
afterEach(async () => { await Promise.all(started.splice(0).map((s) => s.stop())); });

interface World {
  scheduler: MonitorScheduler;
  alerts: NormalizedAlert[];
  saved: MonitorStateRow[];
  probed: string[];
  setUp(up: boolean): void;
}

function world(opts: { saved?: MonitorStateRow[]; retries?: number } = {}): World {
  let up = true;
  const alerts: NormalizedAlert[] = [];
  const probed: string[] = [];
  let saved: MonitorStateRow[] = opts.saved ?? [];
  const answer = (what: string): Promise<ProbeResult> => {
    probed.push(what);
    return Promise.resolve({ up, latencyMs: 1.5, status: up ? 200 : 500, detail: `${what} answered ${up ? 200 : 500}` });
  };
  const probes: Probes = { http: (c) => answer(c.url), tcp: (hp) => answer(hp), container: () => answer('container') };
  const settings = { ...SERVICE_MONITOR_DEFAULTS, interval: 200, timeout: 200, retries: opts.retries ?? 2 };
  const scheduler = new MonitorScheduler({
    inventory: {
      services: () => [{
        name: 'web', host: 'local', container: 'web', owner: null, tier: 'standard', labels: {}, dependsOn: [], notes: null, runbooks: [], nginx: null, resources: null,
        healthCheck: { http: 'http://127.0.0.1:1/health' }, monitor: settings,
      }],
      hosts: () => [],
    },
    probes,
    hostReader: () => { throw new Error('no host monitors here'); },
    onAlerts: (a) => alerts.push(...a),
    states: { replace: (rows) => { saved = [...rows]; }, list: () => saved },
    log: silentLogger,
    owner: 'test:1',
  });
  started.push(scheduler);
  return { scheduler, alerts, get saved() { return saved; }, probed, setUp: (v) => { up = v; } };
}

async function until(what: string, ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the monitor scheduler', () => {
  it('reports a service down after `retries` failed probes and up again after a success, as warden alerts with its target hints', async () => {
    const w = world();
    expect(w.scheduler.start()).toBe(1);
    await until('a first probe', () => w.probed.length >= 1);
    w.setUp(false);
    await until('down', () => w.alerts.length >= 1);
    w.setUp(true);
    await until('up', () => w.alerts.length >= 2);
    expect(w.alerts.map((a) => `${a.source}:${a.fingerprint}:${a.status}`)).toEqual(['warden:warden:service:web:firing', 'warden:warden:service:web:resolved']);
    expect(w.alerts[0]).toMatchObject({ hints: { host: 'local', container: 'web', service: 'web' }, labels: { monitor: 'service:web', check: 'http' }, severity: 'warning' });
    expect(w.alerts[0]!.summary).toMatch(/^web is down: GET http:\/\/127\.0\.0\.1:1\/health failed 2 times in a row \(.* answered 500\)$/);
    // The resolve carries the start of the outage, as Alertmanager's do.
    expect(w.alerts[1]!.startsAt).toBe(w.alerts[0]!.startsAt);
    expect(w.saved.find((r) => r.id === 'service:web')).toMatchObject({ kind: 'probe', state: 'up', subject: 'web', updatedBy: 'test:1' });
  });

  it('rechecks the probe behind a monitor incident on demand, and knows nothing of other fingerprints', async () => {
    const w = world();
    w.scheduler.start();
    w.setUp(false);
    expect(await w.scheduler.recheck('warden:service:web')).toEqual({ ok: false, reason: "warden's probe: http://127.0.0.1:1/health answered 500" });
    expect(await w.scheduler.recheck('docker:local/web')).toBeUndefined();
    expect(await w.scheduler.recheck('warden:service:other')).toBeUndefined();
  });

  it('keeps a saved down across a restart, so the recovery is still reported once', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const w = world({ saved: [{ id: 'service:web', kind: 'probe', subject: 'web', state: 'down', since, checkedAt: since, value: null, detail: 'x', updatedBy: 'old:1' }] });
    w.scheduler.start();
    await until('the recovery', () => w.alerts.length >= 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(w.alerts.map((a) => a.status)).toEqual(['resolved']);
    expect(w.alerts[0]!.startsAt).toBe(since);
  });

  it('stops: no probe after stop() resolved, and the last states are saved', async () => {
    const w = world();
    w.scheduler.start();
    await until('a probe', () => w.probed.length >= 1);
    await w.scheduler.stop();
    const count = w.probed.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(w.probed.length).toBe(count);
    expect(w.saved.map((r) => r.id)).toEqual(['service:web']);
  });
});

describe('a long outage', () => {
  const probe = { kind: 'probe' as const, id: 'service:web', service: 'web', host: 'local', container: 'web', tier: 'critical', check: { tcp: '127.0.0.1:1' }, settings: { ...SERVICE_MONITOR_DEFAULTS, retries: 1 } };
  const down = { up: false, latencyMs: 1, status: null, detail: '127.0.0.1:1: connection refused (ECONNREFUSED)' };

  it('repeats the firing alert every five minutes while down (as Alertmanager repeats), so a silence or cooldown that ends mid-outage still opens an incident', () => {
    const task = new ProbeTask(probe, 0);
    const sent: string[] = [];
    for (let t = 0; t <= 11 * 60_000; t += 30_000) {
      for (const a of task.observe(down, t)) sent.push(`${t / 60_000}m:${a.status}:${a.startsAt}`);
    }
    const start = new Date(0).toISOString();
    expect(sent).toEqual([`0m:firing:${start}`, `5m:firing:${start}`, `10m:firing:${start}`]);
  });

  it('a disk path that does not exist is reported unread (logged), never silently ok', () => {
    const task = new HostTask({ kind: 'host', id: 'host:local', host: 'local', settings: HostMonitorSettings.parse({ cpu: false, memory: false, temperature: false, gpuUtilization: false, gpuTemperature: false, gpuMemory: false, disk: { mounts: ['/no/such/path'] } }) });
    const readings = readingsOf('local', rulesOf(HostMonitorSettings.parse({ cpu: false, memory: false, temperature: false, gpuUtilization: false, gpuTemperature: false, gpuMemory: false, disk: { mounts: ['/no/such/path'] } })), undefined, new Map());
    expect(task.observe(readings, 0)).toEqual([]);
    expect(task.unread).toEqual(['disk /no/such/path']);
    expect(task.rows('t')[0]).toMatchObject({ id: 'host:local:disk:/no/such/path', state: 'unknown', value: null, detail: expect.stringMatching(/^disk \/no\/such\/path: unread/) });
  });
});

describe('a hung dockerd', () => {
  it('is a failed container probe at the deadline, and never keeps the scheduler from stopping', async () => {
    const hung = { containerState: () => new Promise<never>(() => undefined) };
    const probes = monitorProbes({ docker: () => hung as never, dial: () => { throw new Error('unused'); } });
    const r = await probes.container('local', 'web', { timeoutMs: 300 });
    expect(r).toMatchObject({ up: false, detail: 'web on local: Docker did not answer within 300 ms' });
    const alerts: NormalizedAlert[] = [];
    const scheduler = new MonitorScheduler({
      inventory: {
        services: () => [{
          name: 'web', host: 'local', container: 'web', owner: null, tier: 'standard', labels: {}, dependsOn: [], notes: null, runbooks: [], nginx: null, resources: null,
          healthCheck: { container: true }, monitor: { ...SERVICE_MONITOR_DEFAULTS, interval: 10_000, timeout: 10_000, retries: 1 },
        }],
        hosts: () => [],
      },
      probes, hostReader: () => { throw new Error('unused'); }, onAlerts: (a) => alerts.push(...a), log: silentLogger, owner: 't',
    });
    scheduler.start();
    const check = scheduler.recheck('warden:service:web');
    await new Promise((res) => setTimeout(res, 100));
    const stopped = scheduler.stop();
    await expect(Promise.race([stopped.then(() => 'stopped'), new Promise((res) => setTimeout(() => res('stuck'), 3_000))])).resolves.toBe('stopped');
    await expect(check).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/probe cancelled/) });
  });
});

describe('a host reading with an injected metrics source and clock', () => {
  it('fires a disk after its "for", keeps firing in the hysteresis band, clears below clear, with the path and host in the alert', async () => {
    let used = 50;
    const reader = {
      collect: () => { throw new Error('no metrics asked: only the disk is on'); },
      diskUsage: async (paths: string[]) => paths.map((path) => ({ fs: 'tmpfs', type: 'tmpfs', mount: path, path, sizeBytes: 100, usedBytes: used, availableBytes: 100 - used, usePercent: used })),
    };
    const settings = HostMonitorSettings.parse({ cooldown: 0, cpu: false, memory: false, temperature: false, gpuUtilization: false, gpuTemperature: false, gpuMemory: false, disk: { mounts: ['/srv/data'], fire: 90, clear: 80, for: '1m' } });
    const task = new HostTask({ kind: 'host', id: 'host:box', host: 'box', settings });
    const signal = new AbortController().signal;
    const at = async (seconds: number, level: number) => { used = level; return task.observe(await task.read(reader as never, signal), seconds * 1000); };
    expect(await at(0, 95)).toEqual([]);
    expect(await at(30, 96)).toEqual([]);
    const [fired] = await at(60, 97);
    expect(fired).toMatchObject({ status: 'firing', fingerprint: 'warden:host:box:disk:/srv/data', labels: { host: 'box', check: 'disk', path: '/srv/data' }, hints: { host: 'box' } });
    expect(fired!.summary).toBe('disk /srv/data on box at 97% (fires at 90%, clears below 80%, for 60 s)');
    expect(await at(90, 85)).toEqual([]);
    const [cleared] = await at(120, 79);
    expect(cleared).toMatchObject({ status: 'resolved', startsAt: new Date(60_000).toISOString() });
    expect(task.rows('t')[0]).toMatchObject({ state: 'ok', value: 79 });
  });
});
