// Tool calls per second through `warden serve`'s /mcp (bearer token, Host/Origin check, rate
// limiter, metrics, the guard with its audit appends, FakeDocker's list_containers) against a bare
// SDK Streamable HTTP server with one trivial tool, on the same HTTP stack (@hono/node-server),
// in one run. Each server is measured with 1 and with 16 concurrent clients, in both client modes:
// 2025-11-25 (a session per client) and 2026-07-28 (per-request serving by createMcpHandler).
// The clients run in a worker thread, so they do not share the servers' event loop.
// Rows run --repeat times, bare and warden alternating; prints the median calls/s of each row (and
// every run's), latency percentiles over all runs, then warden/bare at 16 clients per mode
// (the target: at least 0.85). It asserts nothing and is not a test.
//
// Run: npm run bench:http [-- --seconds 3 --warmup 1 --repeat 3 --clients 16]
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Server as HttpServer } from 'node:http';
import { serve } from '@hono/node-server';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  McpServer, WebStandardStreamableHTTPServerTransport, createMcpHandler, isLegacyRequest,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { issueToken } from '../src/server/auth.js';
import { startDaemon } from '../src/server/daemon.js';
import { createRuntime } from '../src/compose.js';
import type { Runtime } from '../src/server/runtime.js';
import { TokenStore } from '../src/store/tokens.js';
import { fakeAdapters } from '../test/support/fake-docker.js';

type Mode = '2025-11-25' | '2026-07-28';
interface Load { url: string; tokens: string[]; mode: Mode; tool: string; seconds: number; warmup: number }
interface LoadResult { calls: number; errors: number; seconds: number; latenciesMs: number[] }

// ---- the worker: N SDK clients calling one tool in a loop -------------------------------------

async function runLoad(load: Load): Promise<LoadResult> {
  const clients = await Promise.all(load.tokens.map(async (token) => {
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', load.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'bench', version: '1' }, load.mode === '2026-07-28' ? { versionNegotiation: { mode: 'auto' } } : {});
    await client.connect(transport);
    await client.listTools();
    return { client, transport };
  }));
  const drive = async (untilMs: number, latencies: number[] | null): Promise<[number, number]> => {
    let calls = 0;
    let errors = 0;
    await Promise.all(clients.map(async ({ client }) => {
      while (performance.now() < untilMs) {
        const start = performance.now();
        const r = await client.callTool({ name: load.tool, arguments: {} });
        latencies?.push(performance.now() - start);
        if (r.isError) errors += 1;
        calls += 1;
      }
    }));
    return [calls, errors];
  };
  await drive(performance.now() + load.warmup * 1000, null);
  const latenciesMs: number[] = [];
  const started = performance.now();
  const [calls, errors] = await drive(started + load.seconds * 1000, latenciesMs);
  const seconds = (performance.now() - started) / 1000;
  for (const { client, transport } of clients) {
    if (transport.sessionId) await transport.terminateSession().catch(() => undefined);
    await client.close();
  }
  return { calls, errors, seconds, latenciesMs };
}

if (!isMainThread) {
  // The v2 client's transport gives all its fetches one AbortSignal, and undici adds a listener to
  // it per request (released when the request is collected): a client-side warning, not a leak
  // in either server, and it would drown the table.
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name !== 'MaxListenersExceededWarning') console.error(w);
  });
  parentPort!.postMessage(await runLoad(workerData as Load));
}

/** The worker runs this same file; loader hooks are per thread, so it registers tsx itself first. */
function inWorker(load: Load): Promise<LoadResult> {
  const entry = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};\n` +
    `register();\nawait import(${JSON.stringify(import.meta.url)});\n`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(entry)}`), { workerData: load });
    worker.once('message', (r: LoadResult) => { resolve(r); void worker.terminate(); });
    worker.once('error', reject);
  });
}

// ---- the servers -------------------------------------------------------------------------------

/** The SDK's own pieces and nothing else: sessions for 2025-11-25, createMcpHandler for 2026-07-28. */
async function startBare(): Promise<{ url: string; close(): Promise<void> }> {
  const factory = (): McpServer => {
    const s = new McpServer({ name: 'bare', version: '1' });
    s.registerTool('noop', { description: 'does nothing', inputSchema: z.object({}), outputSchema: z.object({ ok: z.boolean() }) },
      async () => ({ content: [{ type: 'text', text: 'ok' }], structuredContent: { ok: true } }));
    return s;
  };
  const modern = createMcpHandler(factory, { legacy: 'reject' });
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const fetch = async (req: Request): Promise<Response> => {
    const body: unknown = req.method === 'POST' ? await req.json() : undefined;
    if (!(await isLegacyRequest(req, body))) return modern.fetch(req, { parsedBody: body });
    const sid = req.headers.get('mcp-session-id');
    let t = sid ? sessions.get(sid) : undefined;
    if (!t) {
      if (sid) return new Response(null, { status: 404 });
      const created: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => { sessions.set(id, created); },
        onsessionclosed: (id) => { sessions.delete(id); },
      });
      await factory().connect(created);
      t = created;
    }
    return t.handleRequest(req, { parsedBody: body });
  };
  const server = serve({ fetch, hostname: '127.0.0.1', port: 0, overrideGlobalObjects: false }) as HttpServer;
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await modern.close();
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function benchRuntime(dir: string): Runtime {
  mkdirSync(dir);
  writeFileSync(join(dir, 'policy.yaml'), 'rules: []\nlimits: []\n');
  const env = { WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_POLICY: join(dir, 'policy.yaml') };
  return createRuntime(loadConfig({}, env, dir), silentLogger, { adapters: fakeAdapters() });
}

// ---- main ---------------------------------------------------------------------------------------

function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' }, warmup: { type: 'string', default: '1' },
      clients: { type: 'string', default: '16' }, repeat: { type: 'string', default: '3' },
    },
  });
  const seconds = Number(flags.seconds);
  const warmup = Number(flags.warmup);
  const many = Number(flags.clients);
  const repeat = Number(flags.repeat);
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-http-'));
  const rt = benchRuntime(join(root, 'warden'));
  const daemon = await startDaemon(rt, { ...rt.config.server, port: 0, rateLimit: { perMinute: 1e9, burst: 1e9 } });
  const tokenStore = new TokenStore(rt.db);
  const tokens = Array.from({ length: many }, (_, i) => issueToken({ tokens: tokenStore, audit: rt.audit }, { principal: `bench-${i}`, role: 'operator', by: 'bench' }).token);
  const bare = await startBare();
  try {
    console.log(`warden HTTP gateway vs a bare SDK server: ${repeat} runs of ${seconds} s per row, each after ${warmup} s warm-up; node ${process.version}, ` +
      `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]!.toFixed(2)}`);
    console.log('warden: token auth, Host/Origin, rate limit, metrics, guard + audit (2 appends per call), list_containers on FakeDocker');
    console.log('bare:   createMcpHandler / session transport, McpServer with one tool returning {ok: true}; clients in a worker thread\n');
    console.log(`${'mode'.padEnd(11)} ${'server'.padEnd(7)} ${'clients'.padStart(7)} ${'calls/s'.padStart(9)} ${'runs'.padStart(18)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} errors`);
    const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const perSecond = new Map<string, number>();
    for (const mode of ['2025-11-25', '2026-07-28'] as const) {
      for (const n of [1, many]) {
        // Bare and warden alternate, so a burst of load from elsewhere hits both alike.
        const runs = { bare: [] as LoadResult[], warden: [] as LoadResult[] };
        for (let i = 0; i < repeat; i += 1) {
          for (const [name, url, tool] of [['bare', bare.url, 'noop'], ['warden', daemon.url, 'list_containers']] as const) {
            runs[name].push(await inWorker({ url, tokens: tokens.slice(0, n), mode, tool, seconds, warmup }));
          }
        }
        for (const name of ['bare', 'warden'] as const) {
          const rates = runs[name].map((r) => r.calls / r.seconds);
          const sorted = runs[name].flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
          perSecond.set(`${mode} ${name} ${n}`, median(rates));
          console.log(`${mode.padEnd(11)} ${name.padEnd(7)} ${String(n).padStart(7)} ${median(rates).toFixed(0).padStart(9)} ` +
            `${rates.map((r) => r.toFixed(0)).join(' ').padStart(18)} ${pct(sorted, 0.5).toFixed(2).padStart(7)} ${pct(sorted, 0.99).toFixed(2).padStart(7)} ` +
            `${runs[name].reduce((e, r) => e + r.errors, 0)}`);
        }
      }
    }
    console.log(`\nwarden / bare at ${many} clients, medians (target >= 0.85):`);
    for (const mode of ['2025-11-25', '2026-07-28']) {
      const ratio = perSecond.get(`${mode} warden ${many}`)! / perSecond.get(`${mode} bare ${many}`)!;
      console.log(`  ${mode}  ${ratio.toFixed(2)}  ${ratio >= 0.85 ? 'met' : 'MISSED'}`);
    }
    const rows = (rt.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    console.log(`\naudit rows ${rows}; verify() ${JSON.stringify(rt.audit.verify())}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    await daemon.close();
    await bare.close();
    await rt.close();
    rmSync(root, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
