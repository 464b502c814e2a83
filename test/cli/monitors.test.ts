// `warden monitors list | status` as a user runs them: what the loaded inventory declares, and the
// states a running daemon saved; and the same states on /metrics.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/server/metrics.js';
import { ApprovalStore } from '../../src/store/approvals.js';
import { openDb } from '../../src/store/db.js';
import { MonitorStateStore, type MonitorStateRow } from '../../src/store/monitor-states.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { writeInventory } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';

const INVENTORY = {
  'inv.yaml': 'hosts:\n  - name: local\n    monitor: { interval: 1m, cpu: false, gpuUtilization: false, gpuTemperature: false, gpuMemory: false, disk: { mounts: [/, /srv], fire: 80, clear: 70 } }\n'
    + 'services:\n  - name: web\n    host: local\n    container: web\n    healthCheck: { http: "http://127.0.0.1:8080/health", keyword: ok }\n    monitor: { interval: 10s, retries: 2 }\n'
    + '  - name: db\n    host: local\n    container: db\n    healthCheck: { tcp: "127.0.0.1:5432" }\n',
};

function world() {
  const dir = tempDir('monitors-cli');
  const env = dataDirEnv(dir);
  const load = warden(['inventory', 'load', writeInventory(INVENTORY)], env);
  expect(load.status, load.stderr).toBe(0);
  return { dir, env };
}

const row = (over: Partial<MonitorStateRow>): MonitorStateRow => ({
  id: 'service:web', kind: 'probe', subject: 'web', state: 'down', since: '2026-11-29T10:00:00.000Z', checkedAt: new Date().toISOString(),
  value: null, detail: 'http://127.0.0.1:8080/health: connection refused (ECONNREFUSED)', updatedBy: 'box:42', ...over,
});

describe('warden monitors', () => {
  it('lists the declared monitors with their schedule and levels; a service without `monitor` is not probed', () => {
    const w = world();
    const text = warden(['monitors', 'list'], w.env);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^service:web\s+every 10s\s+GET http:\/\/127\.0\.0\.1:8080\/health with "ok"; down after 2 failures, timeout 5s$/m);
    expect(text.stdout).toMatch(/^host:local\s+every 1m\s+memory 90\/85 for 5m; disk \/,\/srv 80\/70; temperature 85\/80 for 1m; cooldown 10m$/m);
    expect(text.stdout).not.toMatch(/db/);
    const json = JSON.parse(warden(['monitors', 'list', '--json'], w.env).stdout) as Array<{ id: string; kind: string }>;
    expect(json.map((m) => `${m.kind}:${m.id}`)).toEqual(['probe:service:web', 'host:host:local']);
  });

  it('status says plainly when no daemon has reported, then shows the saved states', () => {
    const w = world();
    const empty = warden(['monitors', 'status'], w.env);
    expect(empty.status).toBe(0);
    expect(empty.stdout).toMatch(/2 monitors are declared, but none has reported: is `warden serve` running with the loop on/);
    const db = openDb(join(w.dir, 'data'));
    new MonitorStateStore(db).replace([row({}), row({ id: 'host:local:disk:/srv', kind: 'threshold', subject: 'local', state: 'firing', value: 83.5, detail: 'disk /srv: 83.5%' })]);
    db.close();
    const text = warden(['monitors', 'status'], w.env);
    expect(text.stdout).toMatch(/^ID\s+STATE\s+SINCE\s+VALUE\s+DETAIL$/m);
    expect(text.stdout).toMatch(/^host:local:disk:\/srv\s+firing\s+2026-11-29 10:00:00\s+83\.5\s+disk \/srv: 83\.5%$/m);
    expect(text.stdout).toMatch(/^service:web\s+down\s+2026-11-29 10:00:00\s+-\s+http:\/\/127\.0\.0\.1:8080\/health: connection refused/m);
    const json = JSON.parse(warden(['monitors', 'status', '--json'], w.env).stdout) as MonitorStateRow[];
    expect(json.map((r) => `${r.id}=${r.state}`)).toEqual(['host:local:disk:/srv=firing', 'service:web=down']);
  });

  it('flags states the daemon has not refreshed for five minutes', () => {
    const w = world();
    const db = openDb(join(w.dir, 'data'));
    new MonitorStateStore(db).replace([row({ checkedAt: new Date(Date.now() - 10 * 60_000).toISOString() })]);
    db.close();
    expect(warden(['monitors', 'status'], w.env).stdout).toMatch(/note: 1 not checked for over 5 minutes: the daemon that runs them \(box:42\) may have stopped/);
  });

  it('exports each monitor on /metrics: up 1/0, latency in seconds, the level, the last change', async () => {
    const db = openDb(join(tempDir('monitors-metrics'), 'data'));
    const states = new MonitorStateStore(db);
    states.replace([
      row({ state: 'up', value: 12.5 }), row({ id: 'service:db', subject: 'db', state: 'pending' }),
      row({ id: 'host:local:memory', kind: 'threshold', subject: 'local', state: 'firing', value: 93.2 }),
    ]);
    const text = await createMetrics(new ApprovalStore(db), [], () => states.list()).render();
    db.close();
    expect(text).toMatch(/^warden_monitor_up\{monitor="service:web",kind="probe",subject="web"\} 1$/m);
    expect(text).toMatch(/^warden_monitor_up\{monitor="host:local:memory",kind="threshold",subject="local"\} 0$/m);
    expect(text).not.toMatch(/warden_monitor_up\{monitor="service:db"/);
    expect(text).toMatch(/^warden_monitor_value\{monitor="service:web",kind="probe",subject="web"\} 0\.0125$/m);
    expect(text).toMatch(/^warden_monitor_value\{monitor="host:local:memory",kind="threshold",subject="local"\} 93\.2$/m);
    expect(text).toMatch(/^warden_monitor_last_change_timestamp_seconds\{monitor="service:web",kind="probe",subject="web"\} 1795946400$/m);
  });
});
