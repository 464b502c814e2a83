// /healthz latency on one `warden serve` (in-process, FakeDocker) while the worst inputs a
// readonly token can send are in flight: an unbounded recursive CTE to query_inventory, a
// backtracking-shaped grep over a 64 KiB log line, and a write lock held on the database by
// another process. The prober runs in a worker thread, so a frozen server event loop shows as
// latency instead of also delaying the prober's own timers. Prints, per condition, the /healthz
// median, p99 and max, how many probes were answered while the call ran, and how the call ended.
// It asserts nothing and is not a test.
//
// Run: npm run bench:healthz [-- --probe-ms 20 --lock-ms 4000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '../src/config.js';
import { createRuntime } from '../src/compose.js';
import { silentLogger } from '../src/log.js';
import { issueToken } from '../src/server/auth.js';
import { startDaemon } from '../src/server/daemon.js';
import { dbPath } from '../src/store/db.js';
import { TokenStore } from '../src/store/tokens.js';
import { fakeAdapters } from '../test/support/fake-docker.js';

const { values: opts } = parseArgs({ options: { 'probe-ms': { type: 'string', default: '20' }, 'lock-ms': { type: 'string', default: '4000' } } });
const PROBE_MS = Number(opts['probe-ms']);
const LOCK_MS = Number(opts['lock-ms']);

/** Probes /healthz every PROBE_MS until told to stop; posts the latencies. Plain JS: no loader needed. */
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
let stop = false;
parentPort.on('message', () => { stop = true; });
(async () => {
  const latencies = [];
  while (!stop) {
    const t = performance.now();
    await fetch(workerData.url + '/healthz').then((r) => r.text());
    latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, workerData.probeMs));
  }
  parentPort.postMessage(latencies);
})();
`;

async function probeWhile<T>(url: string, work: () => Promise<T>): Promise<{ latencies: number[]; result: T; ms: number }> {
  const worker = new Worker(PROBER, { eval: true, workerData: { url, probeMs: PROBE_MS } });
  const done = new Promise<number[]>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  worker.postMessage('stop');
  const latencies = await done;
  await worker.terminate();
  return { latencies, result, ms };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
}

const HOLDER = `
import { createRequire } from 'node:module';
const [root, file, ms] = process.argv.slice(2);
const db = new (createRequire(root + '/package.json')('better-sqlite3'))(file);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(ms));
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-healthz-'));
  const adapters = fakeAdapters();
  // One line the length of the log cap, shaped to make a backtracking engine explode.
  adapters.fake.logLines = [{ stream: 'stdout', text: `${'a'.repeat(60_000)}!` }];
  const config = loadConfig({}, { WARDEN_DATA_DIR: join(dir, 'data') }, dir);
  const rt = createRuntime(config, silentLogger, { adapters }, { serving: true });
  const daemon = await startDaemon(rt, { ...config.server, host: '127.0.0.1', port: 0 });
  const token = issueToken({ tokens: new TokenStore(rt.db), audit: rt.audit }, { principal: 'bench', role: 'readonly', by: 'bench' }).token;
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', daemon.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown>): Promise<string> => {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as Array<{ type: string; text?: string }>).find((c) => c.type === 'text')?.text ?? '';
    return r.isError ? text.split('\n')[0]!.slice(0, 90) : 'ok';
  };
  const holdLock = (): Promise<void> => new Promise((resolve, reject) => {
    const script = join(dir, 'hold.mjs');
    writeFileSync(script, HOLDER);
    const child = spawn(process.execPath, [script, process.cwd(), dbPath(config.dataDir), String(LOCK_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', () => resolve());
    child.once('error', reject);
  });

  const conditions: Array<[string, () => Promise<string>]> = [
    ['idle (a 2 s sleep)', async () => { await new Promise((r) => setTimeout(r, 2_000)); return 'ok'; }],
    ['query_inventory: endless recursive CTE', () => call('query_inventory', { sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c' })],
    ['container_logs: grep (a+)+$ over 60 KB', () => call('container_logs', { container: 'db', grep: '(a+)+$', regex: true })],
    ['container_logs: grep a*a*a*b over 60 KB', () => call('container_logs', { container: 'db', grep: 'a*a*a*b', regex: true })],
    [`list_containers while another process holds the write lock ${LOCK_MS} ms`, async () => { await holdLock(); return call('list_containers', {}); }],
  ];
  console.log(`healthz under load: probe every ${PROBE_MS} ms, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('| condition | call ms | call result | probes | healthz median ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|---|---|');
  try {
    for (const [name, work] of conditions) {
      const { latencies, result, ms } = await probeWhile(daemon.url, work);
      const s = [...latencies].sort((a, b) => a - b);
      console.log(`| ${name} | ${ms.toFixed(0)} | ${result} | ${s.length} | ${pct(s, 0.5).toFixed(1)} | ${pct(s, 0.99).toFixed(1)} | ${(s.at(-1) ?? NaN).toFixed(1)} |`);
    }
  } finally {
    await client.close();
    await daemon.close();
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
