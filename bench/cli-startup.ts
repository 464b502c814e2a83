// What starting the built `warden` costs: `warden --help` wall time, and `warden stdio` from
// spawn to the answer of its first tools/list (the real SDK client over stdin/stdout), then that
// process's RSS once idle. The first stdio run creates the temp data dir (database, migrations,
// audit key) and is shown apart; the others start on it, as Claude Desktop restarts warden. One
// more stdio run under the load recorder (test/support/load-recorder.mjs) counts the modules it
// loaded and names the heavy packages among them. Uses dist/: run `npm run build` first. It
// asserts nothing and is not a test.
//
// Run: npm run bench:startup [-- --runs 7 --cli path/to/other/dist/cli.js]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const RECORDER = resolve(import.meta.dirname, '../test/support/load-recorder.mjs');
/** Packages `warden stdio` needs only once a tool, the daemon or the loop uses them. */
const HEAVY = ['@anthropic-ai/sdk', 'hono', '@hono/node-server', 'node-ssh', 'ssh2', 'systeminformation', 'dockerode', 'prom-client', 'tar-stream'];

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, 'idle-ms': { type: 'string', default: '1000' }, cli: { type: 'string', default: resolve(import.meta.dirname, '../dist/cli.js') } },
});
/** Another build can be measured side by side with --cli (its test/support need not have the recorder). */
const CLI = resolve(flags.cli);
const RUNS = Number(flags.runs);
const IDLE_MS = Number(flags['idle-ms']);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function helpMs(): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`warden --help exited ${r.status}: ${r.stderr}`);
  return performance.now() - t;
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** One `warden stdio` on data dir `dir`: ms from spawn to the first tools/list answer, and its RSS after IDLE_MS idle. */
async function stdioRun(dir: string, extraEnv: Record<string, string> = {}, nodeArgs: string[] = []): Promise<{ ms: number; rss: number; tools: number }> {
  const env = {
    PATH: process.env.PATH ?? '', HOME: dir, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_LOG_LEVEL: 'warn',
    // Nothing listens there: the start must not wait on Docker.
    DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, ...extraEnv,
  };
  const transport = new StdioClientTransport({ command: process.execPath, args: [...nodeArgs, CLI, 'stdio'], env, cwd: dir, stderr: 'pipe' });
  const client = new Client({ name: 'bench-startup', version: '1' });
  try {
    const t = performance.now();
    await client.connect(transport);
    const { tools } = await client.listTools();
    const ms = performance.now() - t;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { ms, rss: rssMiB(transport.pid!), tools: tools.length };
  } finally {
    await client.close();
  }
}

function packageOf(url: string): string | undefined {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return m?.[1];
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  console.log(`warden start-up: ${RUNS} runs each; node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  helpMs();
  const help = Array.from({ length: RUNS }, helpMs);
  console.log(`warden --help              median ${median(help).toFixed(0)} ms   runs ${help.map((x) => x.toFixed(0)).join(' ')}`);

  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-startup-'));
  const log = join(dir, 'loads.txt');
  try {
    const fresh = await stdioRun(dir);
    console.log(`stdio, fresh data dir      ${fresh.ms.toFixed(0)} ms to the first tools/list (creates the database)`);
    const runs = [];
    for (let i = 0; i < RUNS; i += 1) runs.push(await stdioRun(dir));
    console.log(`stdio -> first tools/list  median ${median(runs.map((r) => r.ms)).toFixed(0)} ms   runs ${runs.map((r) => r.ms.toFixed(0)).join(' ')}  (${runs[0]!.tools} tools)`);
    console.log(`stdio idle RSS after it    median ${median(runs.map((r) => r.rss)).toFixed(1)} MiB   runs ${runs.map((r) => r.rss.toFixed(0)).join(' ')}`);

    await stdioRun(dir, { WARDEN_LOAD_LOG: log }, ['--import', RECORDER]);
    // The CommonJS modules are listed when the process exits, after the client closed it.
    const deadline = Date.now() + 10_000;
    while (!(existsSync(log) && readFileSync(log, 'utf8').endsWith('# exited\n')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const urls = new Set(readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:')));
    const packages = new Set([...urls].map(packageOf).filter((p): p is string => p !== undefined));
    const own = [...urls].filter((u) => u.includes('/dist/')).length;
    console.log(`\nstdio up to its first tools/list loaded ${urls.size} module files (${own} of warden's own) from ${packages.size} packages`);
    console.log(`heavy packages loaded: ${HEAVY.filter((p) => packages.has(p)).join(', ') || 'none'}`);
    console.log(`heavy packages not loaded: ${HEAVY.filter((p) => !packages.has(p)).join(', ') || 'none'}`);
    console.log(`\nload at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
