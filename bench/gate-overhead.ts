// What the guard adds to one tool call, measured in one run. Each path is warmed up, then called
// sequentially (one call in flight), with the FakeDocker adapter so the handler costs next to nothing:
//   direct   spec.run(input, ctx): the handler alone, on input already validated;
//   guarded  guard.call(): input validation, decide() (+ the breaker's COUNT queries for restart),
//            the audit (a read: one entry after it ran, one commit; a write: its 'requested' entry
//            committed before the handler, its outcome in a second commit; each commit a SQLite WAL
//            commit and a write into one checkpoint slot), the handler, output validation;
//   mcp      a real SDK client linked in-memory to warden's MCP server: guarded + transport;
//   x8       guarded with 8 calls in flight at once: their entries share commits (group commit);
//            the time is a round of 8 divided by 8, what one call costs at that throughput.
// Two runtimes: "breaker" has the default policy with the restart-breaker's max raised so it never
// trips (restart_container's COUNT queries run and the call still executes); "none" has no limits.
// The mcp rows use a runtime where the tool has no limit, so mcp - guarded is the transport alone.
// Prints median/p90/p99 per call in µs, SQLite commits per call, the added median (guarded - direct)
// against the 0.1 ms target, how the median drifts as the audit table grows, peak RSS, audit rows and verify().
// It asserts nothing and is not a test.
//
// Run: npm run bench:gate [-- --calls 5000 --warmup 500 --no-mcp]
//      (tsx bench/gate-overhead.ts; profile: node --cpu-prof --import tsx bench/gate-overhead.ts)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { DEFAULT_POLICY_YAML } from '../src/policy/default-policy.js';
import type { Caller } from '../src/policy/call.js';
import { createRuntime } from '../src/compose.js';
import type { Runtime } from '../src/server/runtime.js';
import { IncidentStore } from '../src/store/incidents.js';
import type { ToolContext } from '../src/tools/spec.js';
import { fakeAdapters } from '../test/support/fake-docker.js';
import { linkClient, type Linked } from '../test/support/warden.js';

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '5000' },
    warmup: { type: 'string', default: '500' },
    'no-mcp': { type: 'boolean', default: false },
  },
});
const CALLS = Number(flags.calls);
const WARMUP = Number(flags.warmup);
const TARGET_MS = 0.1;
const IN_FLIGHT = 8;

const CALLER: Caller = { principal: 'bench', role: 'operator', transport: 'memory' };
const ARGS = {
  list_containers: {},
  restart_container: { container: 'web-1', timeoutSeconds: 1 },
} as const;
type ToolName = keyof typeof ARGS;

// The breaker is evaluated on every restart (COUNT queries) but never tightens the decision, so
// every measured call takes the same path: notify, run, complete.
const BREAKER_NEVER_TRIPS = DEFAULT_POLICY_YAML.replace('max: 3', 'max: 1000000000');
if (BREAKER_NEVER_TRIPS === DEFAULT_POLICY_YAML) throw new Error('the default policy no longer says "max: 3"; update this bench');
const NO_LIMITS = 'rules: []\nlimits: []\n';

/** A runtime like test/support/warden.ts builds: real SQLite (WAL), audit chain, checkpoint file. */
function benchRuntime(dir: string, policy: string): Runtime {
  mkdirSync(dir);
  writeFileSync(join(dir, 'policy.yaml'), policy);
  const env = { WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_POLICY: join(dir, 'policy.yaml') };
  return createRuntime(loadConfig({}, env, dir), silentLogger, { adapters: fakeAdapters() });
}

async function measure(call: () => Promise<void>): Promise<Float64Array> {
  for (let i = 0; i < WARMUP; i += 1) await call();
  const times = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i += 1) {
    const start = performance.now();
    await call();
    times[i] = performance.now() - start;
  }
  return times;
}

/** Rounds of `IN_FLIGHT` calls sent at once; each round's time / IN_FLIGHT is one sample. */
async function measureConcurrent(call: () => Promise<void>): Promise<Float64Array> {
  const round = (): Promise<unknown> => Promise.all(Array.from({ length: IN_FLIGHT }, call));
  for (let i = 0; i < WARMUP / IN_FLIGHT; i += 1) await round();
  const times = new Float64Array(Math.ceil(CALLS / IN_FLIGHT));
  for (let i = 0; i < times.length; i += 1) {
    const start = performance.now();
    await round();
    times[i] = (performance.now() - start) / IN_FLIGHT;
  }
  return times;
}

/** Audit commits and entries of a runtime so far (the onAppend listener hears one per commit). */
function commitCounter(rt: Runtime): () => { commits: number; entries: number } {
  const seen = { commits: 0, entries: 0 };
  rt.audit.onAppend((_, count) => { seen.commits += 1; seen.entries += count; });
  return () => ({ ...seen });
}

function direct(rt: Runtime, tool: ToolName): () => Promise<void> {
  const spec = rt.guard.tools().find((t) => t.name === tool);
  if (!spec) throw new Error(`${tool} is not in the catalog`);
  const input = spec.input.parse(ARGS[tool]);
  const { adapters, inventory } = rt;
  const incidents = new IncidentStore(rt.db);
  const ctx: ToolContext = { adapters, inventory, incidents, changes: rt.changes, call: { id: 'bench', principal: 'bench', incidentId: null }, signal: new AbortController().signal, log: silentLogger };
  return async () => {
    await spec.run(input, ctx);
  };
}

function guarded(rt: Runtime, tool: ToolName): () => Promise<void> {
  return async () => {
    const outcome = await rt.guard.call(CALLER, tool, ARGS[tool]);
    if (!outcome.ok) throw new Error(`guarded ${tool} did not run: ${outcome.kind}`);
  };
}

function overMcp(link: Linked, tool: ToolName): () => Promise<void> {
  return async () => {
    const result = await link.client.callTool({ name: tool, arguments: { ...ARGS[tool] } });
    if (result.isError) throw new Error(`mcp ${tool} failed: ${JSON.stringify(result.content)}`);
  };
}

interface Stats { median: number; p90: number; p99: number; drift: number }

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Times in ms in, µs out; drift is the median of the last tenth over that of the first tenth. */
function stats(times: Float64Array): Stats {
  const tenth = Math.max(1, Math.floor(times.length / 10));
  const med = (a: Float64Array): number => quantile(a.slice().sort(), 0.5);
  const sorted = times.slice().sort();
  return {
    median: quantile(sorted, 0.5) * 1000,
    p90: quantile(sorted, 0.9) * 1000,
    p99: quantile(sorted, 0.99) * 1000,
    drift: med(times.subarray(times.length - tenth)) / med(times.subarray(0, tenth)),
  };
}

interface Row { path: string; tool: ToolName; limit: string; stats: Stats; commitsPerCall: number | null }

function printTable(rows: Row[]): void {
  const fmt = (n: number): string => n.toFixed(1).padStart(9);
  console.log(`${'path'.padEnd(10)} ${'tool'.padEnd(18)} ${'limit'.padEnd(8)} ${'median'.padStart(9)} ${'p90'.padStart(9)} ${'p99'.padStart(9)}  last/first  commits/call`);
  for (const r of rows) {
    const s = r.stats;
    const commits = r.commitsPerCall === null ? '-' : r.commitsPerCall.toFixed(2);
    console.log(`${r.path.padEnd(10)} ${r.tool.padEnd(18)} ${r.limit.padEnd(8)} ${fmt(s.median)} ${fmt(s.p90)} ${fmt(s.p99)}  ${s.drift.toFixed(2).padStart(10)}  ${commits.padStart(12)}`);
  }
}

function auditRows(rt: Runtime): number {
  return (rt.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const rt = benchRuntime(join(root, 'breaker'), BREAKER_NEVER_TRIPS);
  const bare = benchRuntime(join(root, 'no-limits'), NO_LIMITS);
  const links = flags['no-mcp'] ? null : { rt: await linkClient(rt, CALLER), bare: await linkClient(bare, CALLER) };
  const counted = new Map([[rt, commitCounter(rt)], [bare, commitCounter(bare)]]);
  try {
    // As a real client does: listing caches the output schemas that callTool then checks against.
    for (const link of Object.values(links ?? {})) await link.client.listTools();
    console.log(`warden gate overhead: ${CALLS} calls after ${WARMUP} warm-up, sequential; node ${process.version}, ` +
      `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]!.toFixed(2)}`);
    console.log('per call, µs; last/first = median of the last tenth / median of the first tenth\n');

    const rows: Row[] = [];
    /** `audited`: the runtime whose commits this path makes (none for direct). */
    const run = async (path: string, tool: ToolName, limit: string, call: () => Promise<void>, audited?: Runtime): Promise<void> => {
      const count = audited ? counted.get(audited)! : undefined;
      const before = count?.();
      const times = path === 'x8' ? await measureConcurrent(call) : await measure(call);
      const after = count?.();
      const calls = (path === 'x8' ? times.length * IN_FLIGHT : CALLS) + (path === 'x8' ? Math.floor(WARMUP / IN_FLIGHT) * IN_FLIGHT : WARMUP);
      rows.push({ path, tool, limit, stats: stats(times), commitsPerCall: before && after ? (after.commits - before.commits) / calls : null });
    };
    await run('direct', 'list_containers', '-', direct(rt, 'list_containers'));
    await run('guarded', 'list_containers', 'none', guarded(rt, 'list_containers'), rt);
    await run('x8', 'list_containers', 'none', guarded(rt, 'list_containers'), rt);
    if (links) await run('mcp', 'list_containers', 'none', overMcp(links.rt, 'list_containers'), rt);
    await run('direct', 'restart_container', '-', direct(rt, 'restart_container'));
    await run('guarded', 'restart_container', 'none', guarded(bare, 'restart_container'), bare);
    await run('x8', 'restart_container', 'none', guarded(bare, 'restart_container'), bare);
    if (links) await run('mcp', 'restart_container', 'none', overMcp(links.bare, 'restart_container'), bare);
    await run('guarded', 'restart_container', 'breaker', guarded(rt, 'restart_container'), rt);
    printTable(rows);

    const median = (path: string, tool: ToolName, limit?: string): number =>
      rows.find((r) => r.path === path && r.tool === tool && (limit === undefined || r.limit === limit))?.stats.median ?? NaN;
    console.log(`\nbreaker: with max raised it never stops counting early: up to ${2 * (WARMUP + CALLS)} executed restarts in the window here (the worst case)`);
    console.log(`added by the guard at the median (guarded - direct), target < ${TARGET_MS} ms:`);
    for (const [path, tool, limit] of [
      ['guarded', 'list_containers', 'none'], ['guarded', 'restart_container', 'none'], ['guarded', 'restart_container', 'breaker'],
      ['x8', 'list_containers', 'none'], ['x8', 'restart_container', 'none'],
    ] as const) {
      const added = (median(path, tool, limit) - median('direct', tool)) / 1000;
      console.log(`  ${path.padEnd(8)} ${tool.padEnd(18)} ${limit.padEnd(8)} ${added.toFixed(3)} ms  ${added <= TARGET_MS ? 'met' : 'MISSED'}`);
    }
    if (links) {
      console.log('added by the MCP layer at the median (mcp - guarded):');
      for (const [tool, limit] of [['list_containers', 'none'], ['restart_container', 'none']] as const) {
        console.log(`  ${tool.padEnd(18)} ${limit.padEnd(8)} ${((median('mcp', tool, limit) - median('guarded', tool, limit)) / 1000).toFixed(3)} ms`);
      }
    }

    console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    for (const [name, r] of [['breaker', rt], ['no-limits', bare]] as const) {
      console.log(`${name.padEnd(9)} audit rows ${auditRows(r)}; verify() ${JSON.stringify(r.audit.verify())}`);
    }
  } finally {
    for (const link of Object.values(links ?? {})) await link.close();
    await rt.close();
    await bare.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
