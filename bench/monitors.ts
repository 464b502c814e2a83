// What warden's own monitors cost: N HTTP probes (default 200) at an interval (default 10 s), each a
// fresh connection with a keyword check, against a server in a child process (so its CPU is not
// counted), with the states saved to a real SQLite file as `warden serve` does. Prints this
// process's CPU share of one core idle and with the monitors, what they add, the probes made and
// their latency (measured from the start of each probe: probes due in the same second run together,
// so it includes the event loop's queue).
// It asserts nothing and is not a test. Target: under 2 % of one core for 200 monitors at 10 s.
//
// Run: npm run bench:monitors [-- --monitors 200 --interval 10 --seconds 60]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import { monitorProbes } from '../src/loop/monitors/start.js';
import { MonitorScheduler } from '../src/loop/monitors/scheduler.js';
import type { ProbeResult } from '../src/adapters/probes.js';
import { openDb } from '../src/store/db.js';
import { MonitorStateStore } from '../src/store/monitor-states.js';
import { SERVICE_MONITOR_DEFAULTS } from '../src/store/monitor-schema.js';
import type { ServiceRecord } from '../src/store/readers.js';

const { values: flags } = parseArgs({ options: {
  monitors: { type: 'string', default: '200' }, interval: { type: 'string', default: '10' }, seconds: { type: 'string', default: '60' },
} });
const MONITORS = Number(flags.monitors);
const INTERVAL_MS = Number(flags.interval) * 1000;
const SECONDS = Number(flags.seconds);

const SERVER = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'text/plain'); s.end('ok warden-bench ' + q.url); })
  .listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });`;

const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve, reject) => {
  server.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  server.once('exit', (code) => reject(new Error(`the bench server exited ${code}`)));
});

const dir = mkdtempSync(join(tmpdir(), 'warden-bench-monitors-'));
const db = openDb(join(dir, 'data'));
const services: ServiceRecord[] = Array.from({ length: MONITORS }, (_, i) => ({
  name: `svc-${i}`, host: 'local', container: null, owner: null, tier: 'standard', labels: {}, dependsOn: [], notes: null, runbooks: [], nginx: null, resources: null,
  healthCheck: { http: `http://127.0.0.1:${port}/health/${i}`, keyword: 'warden-bench' },
  monitor: { ...SERVICE_MONITOR_DEFAULTS, interval: INTERVAL_MS, timeout: Math.min(5_000, INTERVAL_MS) },
}));

const latencies: number[] = [];
let down = 0;
const real = monitorProbes({ docker: () => { throw new Error('no Docker in this bench'); }, dial: () => { throw new Error('probes start here'); } });
const probes = {
  ...real,
  async http(...args: Parameters<typeof real.http>): Promise<ProbeResult> {
    const r = await real.http(...args);
    latencies.push(r.latencyMs);
    if (!r.up) down += 1;
    return r;
  },
};
let alerts = 0;
const scheduler = new MonitorScheduler({
  inventory: { services: () => services, hosts: () => [] }, probes,
  hostReader: () => { throw new Error('no host monitors in this bench'); },
  onAlerts: (a) => { alerts += a.length; }, states: new MonitorStateStore(db), log: silentLogger, owner: 'bench',
});

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN; };
/** CPU share of one core this process used over `seconds`. */
async function cpuShare(seconds: number): Promise<{ busyMs: number; wallMs: number; share: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const busyMs = (cpu.user + cpu.system) / 1000;
  return { busyMs, wallMs, share: (busyMs / wallMs) * 100 };
}

try {
  // The same process with nothing scheduled: what Node, the open database and the timers cost alone.
  const idle = await cpuShare(Math.min(20, SECONDS));
  scheduler.start();
  // The first interval spreads the monitors' first probes; measure after it.
  await new Promise((r) => setTimeout(r, Math.min(INTERVAL_MS, 10_000) + 1_000));
  latencies.length = 0;
  const { busyMs, wallMs, share } = await cpuShare(SECONDS);
  const added = share - idle.share;
  console.log(`monitors: ${MONITORS} HTTP probes every ${INTERVAL_MS / 1000} s, measured over ${(wallMs / 1000).toFixed(1)} s`);
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (at the end)`);
  console.log(`probes: ${latencies.length} (${(latencies.length / (wallMs / 1000)).toFixed(1)}/s), down ${down}, alerts ${alerts}`);
  console.log(`latency: p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms`);
  console.log(`cpu idle (same process, nothing scheduled): ${idle.share.toFixed(2)} % of one core`);
  console.log(`cpu with the monitors: ${busyMs.toFixed(0)} ms user+system = ${share.toFixed(2)} % of one core`);
  console.log(`cpu the monitors add: ${added.toFixed(2)} % of one core (target < 2 %), ${((added / 100) * wallMs * 1000 / Math.max(1, latencies.length)).toFixed(0)} µs per probe`);
  console.log(`rss: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
} finally {
  await scheduler.stop();
  server.kill();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
