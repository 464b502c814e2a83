// warden against two peer MCP servers on the same private dockerd and the same 22 containers:
// docker-mcp (npm; TypeScript on dockerode) and podman-mcp-server (npm; a Go binary running the
// docker CLI as `podman`). Each is started over stdio by the same v1 SDK client; rounds run each
// server's measurements back to back in a rotating order, and the table shows medians over the
// rounds. The peers are installed into a temp dir (or --peers-dir), never into the project.
// It asserts nothing and is not a test.
//
// Run: npm run bench:peers [-- --rounds 6 --calls 40 --inflight --peers-dir DIR --json FILE]
// (npm runs it as `node --import tsx`, not `tsx`: tsx's own parent process SIGKILLs a child that
// does not acknowledge Ctrl-C within 30 ms, which a busy bench misses, cutting its cleanup short.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import {
  SERVERS, dockerMcpLaunch, installPeers, podmanLaunch, rssMiB, startServer, wardenLaunch,
  type Launch, type Running, type ServerName,
} from './peer-servers.js';
import { allText, answerChars, callOnce, latencyP50, median, pickTools, throughput, type CallCount, type Picked } from './peer-measure.js';
import { printTable, type FigureKey, type Figures, type Report } from './peer-report.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    calls: { type: 'string', default: '40' },
    inflight: { type: 'boolean', default: false },
    'peers-dir': { type: 'string' },
    json: { type: 'string' },
  },
});
const ROUNDS = positiveInt('rounds', flags.rounds);
const CALLS = positiveInt('calls', flags.calls);
const CONCURRENT = 16;
const PER_CALLER = Math.max(1, Math.ceil(CALLS / 4));
const CONCURRENCY = flags.inflight ? `${CONCURRENT} in flight on 1 client` : `${CONCURRENT} clients`;
const LOGGER = 'bench-logger';
const LOG_LINES = 100;
const SERVICES = Array.from({ length: 21 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);

function positiveInt(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) { console.error(`--${name}: expected a positive integer, got ${JSON.stringify(v)}`); process.exit(2); }
  return n;
}

const ROOT = resolve(import.meta.dirname, '..');
const runDir = mkdtempSync(join(tmpdir(), 'warden-bench-peers-'));
process.env.WARDEN_TEST_RUN_DIR = runDir;
const { startDockerd } = await import('../test/support/dockerd.js');
const { createContainer } = await import('../test/support/containers.js');
const { killRecorded } = await import('../test/support/processes.js');

const live = new Set<Running>();
let dockerd: Awaited<ReturnType<typeof startDockerd>> | undefined;
let ownPeersDir: string | undefined;
let cleaning: Promise<void> | undefined;

/** Idempotent: closes our clients, stops dockerd, kills what we recorded, removes our temp dirs. */
function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    await Promise.all([...live].map((r) => withTimeout(r.close(), 5_000).catch(() => undefined)));
    await dockerd?.stop().catch((err: unknown) => console.error(`stopping dockerd: ${String(err)}`));
    killRecorded();
    rmSync(runDir, { recursive: true, force: true });
    if (ownPeersDir) rmSync(ownPeersDir, { recursive: true, force: true });
  })());
}
// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal, and relayed by tsx), and
// a second signal with no listener would kill it half way through the cleanup.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (cleaning) return;
    console.error(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);
}

/** Builds dist/ when any file under src/ is newer than dist/cli.js; a failed build keeps the old dist. */
function ensureBuilt(): void {
  const cli = join(ROOT, 'dist', 'cli.js');
  const newest = (dir: string): number => readdirSync(dir, { withFileTypes: true })
    .reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest(join(ROOT, 'src'))) return;
  console.log('dist/ is older than src/: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  // tsc emits despite type errors (no noEmitOnError), which other work in progress may cause.
  if (r.status !== 0) console.log(`npm run build exited ${r.status}: ${existsSync(cli) ? 'using dist/ as tsc emitted it' : 'no dist/cli.js, warden will not start'}`);
}

async function setUpContainers(d: NonNullable<typeof dockerd>): Promise<void> {
  // 21 plain services, a quarter exited with code 1, and one that wrote exactly LOG_LINES lines,
  // so that a logs tool without a tail parameter still returns the same lines as tail=100.
  const lines = `i=1; while [ $i -le ${LOG_LINES} ]; do echo "request $i handled in 12ms status=200 path=/api/items/$i"; i=$((i+1)); done; exec sleep 100000`;
  await createContainer(d, LOGGER, { cmd: ['sh', '-c', lines] });
  for (const [i, name] of SERVICES.entries()) {
    await createContainer(d, name, { cmd: i % 4 === 0 ? ['sh', '-c', 'exit 1'] : ['sleep', '100000'] });
  }
  const logger = new Docker({ socketPath: d.socketPath }).getContainer(LOGGER);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = (await logger.logs({ stdout: true, stderr: true })).toString();
    if ((text.match(/request \d+ handled/g) ?? []).length >= LOG_LINES) return;
    if (Date.now() > deadline) throw new Error(`${LOGGER} did not write ${LOG_LINES} lines within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function start(launch: Launch): Promise<Running> {
  if (cleaning) throw new Error('interrupted');
  const r = await startServer(launch);
  // A start that was in flight when cleanup began must not outlive it.
  if (cleaning) { await r.close().catch(() => undefined); throw new Error('interrupted'); }
  live.add(r);
  return { ...r, close: async () => { live.delete(r); await r.close(); } };
}

function helpMs(launch: Launch): number {
  const t = performance.now();
  spawnSync(launch.help.command, launch.help.args, { env: launch.help.env, stdio: 'ignore', timeout: 30_000 });
  return performance.now() - t;
}

/** One round of one server: a fresh start, then every timed figure. */
async function measureRound(launch: Launch, picked: Picked, count: CallCount): Promise<Figures> {
  const primary = await start(launch);
  const extra: Running[] = [];
  try {
    await new Promise((r) => setTimeout(r, 500)); // idle: whatever it does right after answering is done
    const fig: Figures = { startMs: primary.startMs, idleRssMiB: rssMiB(primary.pid) };
    fig.listP50Ms = await latencyP50(primary.client, picked.list, CALLS, count);
    fig.inspectP50Ms = await latencyP50(primary.client, picked.inspect, CALLS, count);
    fig.logsP50Ms = await latencyP50(primary.client, picked.logs, CALLS, count);
    if (!flags.inflight) {
      for (let i = 1; i < CONCURRENT; i += 4) { // four at a time: 15 cold starts at once would swamp 2 cores
        extra.push(...(await Promise.all(Array.from({ length: Math.min(4, CONCURRENT - i) }, () => start(launch)))));
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const clients = flags.inflight ? Array.from({ length: CONCURRENT }, () => primary.client) : [primary, ...extra].map((r) => r.client);
    fig.listPerSecond = await throughput(clients, picked.list, PER_CALLER, count);
    fig.helpMs = helpMs(launch);
    return fig;
  } finally {
    await Promise.all([primary, ...extra].map((r) => r.close().catch(() => undefined)));
  }
}

/** One start of the server to read its tools, pick the three calls and record what each returns. */
async function probe(launch: Launch): Promise<{ picked: Picked; figures: Figures; coverage: string } | string> {
  let r: Running;
  try { r = await start(launch); } catch (err) { return String(err); }
  try {
    const picked = pickTools(r.tools, LOGGER, LOG_LINES);
    if (typeof picked === 'string') return picked;
    const count: CallCount = { errors: 0 };
    const figures: Figures = { toolsListChars: JSON.stringify(r.tools).length };
    const said: string[] = [];
    for (const [key, call] of [['listChars', picked.list], ['inspectChars', picked.inspect], ['logsChars', picked.logs]] as const) {
      const res = await callOnce(r.client, call, count);
      if (res === undefined || res.isError) return `${call.tool} ${JSON.stringify(call.args)} failed: ${count.firstError}`;
      figures[key] = answerChars(res);
      said.push(allText(res));
    }
    // Sizes compare only if the answers hold the same things: every container, every log line.
    const named = [LOGGER, ...SERVICES].filter((n) => said[0]!.includes(n)).length;
    const lines = new Set([...said[2]!.matchAll(/request (\d+) handled/g)].map((m) => m[1])).size;
    return { picked, figures, coverage: `list names ${named}/${SERVICES.length + 1} containers, logs hold ${lines}/${LOG_LINES} lines` };
  } finally {
    await r.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const loadStart = loadavg();
  console.log(`bench:peers ${new Date().toISOString()}; node ${process.version}, ${cpus().length} cores, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${ROUNDS} rounds, ${CALLS} timed calls per latency figure, throughput: ${CONCURRENCY} x ${PER_CALLER} calls`);
  ensureBuilt();

  let peersDir = flags['peers-dir'] === undefined ? undefined : resolve(flags['peers-dir']);
  if (peersDir === undefined) peersDir = ownPeersDir = mkdtempSync(join(tmpdir(), 'warden-bench-peer-pkgs-'));
  else mkdirSync(peersDir, { recursive: true });
  const t = performance.now();
  const peers = installPeers(peersDir);
  console.log(`peers in ${peersDir} (${((performance.now() - t) / 1000).toFixed(1)} s): docker-mcp ${peers.dockerMcp?.version ?? 'missing'}, podman-mcp-server ${peers.podman?.version ?? 'missing'}`);

  dockerd = await startDockerd();
  await setUpContainers(dockerd);
  const launches = new Map<ServerName, Launch>();
  const skipped = new Map<ServerName, string>(Object.entries(peers.missing) as Array<[ServerName, string]>);
  launches.set('warden', wardenLaunch({ dockerHost: dockerd.dockerHost, dataDir: join(runDir, 'warden-data') }));
  const dm = peers.dockerMcp ? dockerMcpLaunch(peers.dockerMcp.entry, dockerd.socketPath) : undefined;
  if (typeof dm === 'string') skipped.set('docker-mcp', dm); else if (dm) launches.set('docker-mcp', dm);
  const pm = peers.podman ? podmanLaunch(peers.podman.binary, dockerd.dockerHost, runDir) : undefined;
  if (typeof pm === 'string') skipped.set('podman-mcp-server', pm); else if (pm) launches.set('podman-mcp-server', pm);

  const picked = new Map<ServerName, Picked>();
  const coverage = new Map<ServerName, string>();
  const once = new Map<ServerName, Figures>();
  for (const [name, launch] of launches) {
    const p = await probe(launch);
    if (typeof p === 'string') { skipped.set(name, p); launches.delete(name); continue; }
    picked.set(name, p.picked);
    once.set(name, p.figures);
    const show = (c: Picked[keyof Picked]): string => `${c.tool} ${JSON.stringify(c.args)}${c.note ? ` (${c.note})` : ''}`;
    console.log(`${name}: list = ${show(p.picked.list)}; inspect = ${show(p.picked.inspect)}; logs = ${show(p.picked.logs)}; ${p.coverage}`);
    coverage.set(name, p.coverage);
  }
  for (const [name, why] of skipped) console.log(`${name}: SKIPPED: ${why}`);

  const names = SERVERS.filter((n) => launches.has(n));
  const perRound = new Map<ServerName, Figures[]>(names.map((n) => [n, []]));
  const counts = new Map<ServerName, CallCount & { failedRounds: string[] }>(names.map((n) => [n, { errors: 0, failedRounds: [] }]));
  for (let round = 0; round < ROUNDS && !cleaning; round += 1) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    const took: string[] = [];
    for (const name of order) {
      const count = counts.get(name)!;
      const t0 = performance.now();
      try {
        perRound.get(name)!.push(await measureRound(launches.get(name)!, picked.get(name)!, count));
      } catch (err) {
        count.failedRounds.push(`round ${round + 1}: ${String(err).replace(/\s*\n\s*/g, ' | ').slice(0, 400)}`);
      }
      took.push(`${name} ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    console.log(`round ${round + 1}/${ROUNDS}: ${took.join(', ')}; load ${loadavg()[0]!.toFixed(2)}`);
  }

  if (cleaning) return; // interrupted: the rounds are incomplete, and cleanup exits the process
  const figures: Report['figures'] = {};
  for (const name of names) {
    const rounds = perRound.get(name)!;
    const f: Figures = { ...once.get(name) };
    const keys = new Set(rounds.flatMap((r) => Object.keys(r))) as Set<FigureKey>;
    for (const k of keys) f[k] = median(rounds.map((r) => r[k]).filter((v): v is number => v !== undefined));
    figures[name] = f;
  }
  const report: Report = {
    date: new Date().toISOString(), node: process.version, cores: cpus().length, loadStart, loadEnd: loadavg(),
    rounds: ROUNDS, calls: CALLS, concurrency: CONCURRENCY,
    peers: { 'docker-mcp': peers.dockerMcp?.version ?? 'missing', 'podman-mcp-server': peers.podman?.version ?? 'missing' },
    perRound: Object.fromEntries(perRound),
    picked: Object.fromEntries([...picked].map(([n, p]) => [n, { ...p, coverage: coverage.get(n) }])), figures,
    errors: Object.fromEntries([...counts].map(([n, c]) => [n, { errors: c.errors, firstError: c.firstError, failedRounds: c.failedRounds }])),
  };
  console.log(`\nmedians of ${ROUNDS} interleaved rounds; ${report.date}; node ${report.node}, ${report.cores} cores, load at start ${loadStart.map((l) => l.toFixed(2)).join(' ')}, at end ${report.loadEnd.map((l) => l.toFixed(2)).join(' ')}`);
  printTable(report);
  for (const [name, e] of Object.entries(report.errors)) {
    if (e.errors > 0 || e.failedRounds.length > 0) console.log(`${name}: ${e.errors} failed calls${e.firstError ? ` (first: ${e.firstError})` : ''}; ${e.failedRounds.length} failed rounds ${e.failedRounds.join('; ')}`);
  }
  if (flags.json) {
    writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`figures written to ${flags.json}`);
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench:peers failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
