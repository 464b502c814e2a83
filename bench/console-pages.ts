// What the operator console's pages cost on a large history: a real runtime (SQLite in WAL mode,
// the audit chain, FakeDocker) seeded with --incidents incidents (each with an alert, three
// timeline events and a model call) and --audit audit entries, served by warden's own gateway;
// one signed-in viewer fetches each page --requests times. Prints median and p90 per page in ms,
// the page size, and peak RSS. It asserts nothing and is not a test.
//
// Run: npm run bench:console [-- --incidents 20000 --audit 100000 --requests 50]
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createRuntime } from '../src/compose.js';
import { silentLogger } from '../src/log.js';
import { issueToken } from '../src/server/auth.js';
import { startDaemon } from '../src/server/daemon.js';
import type { Runtime } from '../src/server/runtime.js';
import { IncidentStore } from '../src/store/incidents.js';
import { TokenStore } from '../src/store/tokens.js';
import { signIn } from '../test/support/console-client.js';
import { fakeAdapters } from '../test/support/fake-docker.js';

function runtime(dir: string): Runtime {
  mkdirSync(dir);
  writeFileSync(join(dir, 'policy.yaml'), 'rules: []\nlimits: []\n');
  return createRuntime(loadConfig({}, { WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_POLICY: join(dir, 'policy.yaml') }, dir), silentLogger, { adapters: fakeAdapters() });
}

function seed(rt: Runtime, incidents: number, audits: number): { oldest: string; newest: string } {
  const store = new IncidentStore(rt.db);
  const ids: string[] = [];
  const batch = 1_000;
  for (let done = 0; done < incidents; done += batch) {
    store.atomically(() => {
      for (let i = done; i < Math.min(incidents, done + batch); i++) {
        const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
        const inc = store.create({
          source: 'alertmanager', fingerprint: `fp-${i % 500}`, status: 'firing', severity: 'critical', summary: `web-${i % 50} is down <b>${i}</b>`,
          startsAt: at, labels: { alertname: 'ContainerDown' }, annotations: { description: `container web-${i % 50} exited` }, hints: { container: `web-${i % 50}` },
        }, { target: `local/web-${i % 50}`, host: 'local', container: `web-${i % 50}`, service: `svc-${i % 20}` });
        store.addEvent(inc.id, 'note', 'looked at the logs');
        store.addEvent(inc.id, 'note', 'restarted');
        store.recordModelCall({ incidentId: inc.id, model: 'claude-sonnet-5-5', inputTokens: 1_000, outputTokens: 200, latencyMs: 900, costUsd: 0.006, outcome: 'ok' });
        ids.push(inc.id);
      }
    });
  }
  for (let done = 0; done < audits; done += batch) {
    rt.audit.atomically(() => {
      for (let i = done; i < Math.min(audits, done + batch); i++) {
        rt.audit.append({
          callId: `bench:${randomUUID()}`, principal: i % 7 === 0 ? 'loop' : `ops-${i % 5}`, transport: 'http', tool: i % 3 === 0 ? 'restart_container' : 'container_logs',
          target: `local/web-${i % 50}`, args: { container: `web-${i % 50}` }, argsHash: '', phase: 'completed', result: 'ok', incidentId: ids[i % ids.length],
        });
      }
    });
  }
  return { oldest: ids[0]!, newest: ids[ids.length - 1]! };
}

const pct = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { incidents: { type: 'string', default: '20000' }, audit: { type: 'string', default: '100000' }, requests: { type: 'string', default: '50' } } });
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-console-'));
  const rt = runtime(join(root, 'warden'));
  try {
    const seededAt = performance.now();
    const { oldest, newest } = seed(rt, Number(values.incidents), Number(values.audit));
    console.log(`seeded ${values.incidents} incidents and ${values.audit} audit entries in ${((performance.now() - seededAt) / 1000).toFixed(1)} s`);
    const daemon = await startDaemon(rt, { ...rt.config.server, port: 0, rateLimit: { perMinute: 1e9, burst: 1e9 } });
    const token = issueToken({ tokens: new TokenStore(rt.db), audit: rt.audit }, { principal: 'bench', role: 'admin', by: 'bench' }).token;
    const { client } = await signIn(daemon.url, token);
    const pages = [
      '/console/incidents', '/console/incidents?service=svc-3', '/console/incidents/live', `/console/incidents/${newest}`, `/console/incidents/${oldest}`,
      '/console/approvals', '/console/audit', '/console/audit?tool=restart_container', '/console/audit?principal=ops-9', '/console/audit/results',
      '/console/fleet', '/console/admin', '/console/health',
    ];
    console.log(`load ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
    console.log('page'.padEnd(44), 'median ms'.padStart(10), 'p90 ms'.padStart(8), 'KiB'.padStart(7), 'status'.padStart(7));
    for (const path of pages) {
      const times: number[] = [];
      let size = 0;
      let status = 0;
      for (let i = 0; i < Number(values.requests); i++) {
        const start = performance.now();
        const res = await client.get(path);
        times.push(performance.now() - start);
        size = res.body.length;
        status = res.status;
      }
      times.sort((a, b) => a - b);
      const label = path.length > 44 ? `${path.slice(0, 41)}...` : path;
      console.log(label.padEnd(44), pct(times, 0.5).toFixed(1).padStart(10), pct(times, 0.9).toFixed(1).padStart(8), (size / 1024).toFixed(0).padStart(7), String(status).padStart(7));
    }
    console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    await daemon.close();
  } finally {
    await rt.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
