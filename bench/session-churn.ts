// Memory of `warden serve` under session churn: rounds of new 2025-11-25 clients that initialize,
// list the tools and call list_containers (FakeDocker), then go away without ever deleting their
// sessions, as the v2 SDK's close() leaves them. Each round's clients run in a child process that
// exits when they are done, so this process holds only the server. After each round (and a full
// GC) it prints the server's RSS, V8 heap used, open sessions and the bytes their replay buffers
// hold against the budget. With --keep the children stay alive to the end instead, each client
// still connected (its SSE stream open) and idle. It asserts nothing and is not a test.
//
// --containers and --calls make the tool results, and so the replay buffers, larger.
//
// Run: npm run bench:sessions [-- --rounds 8 --clients 16 --calls 1 --containers 2 --replay-mib 32 --keep]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    clients: { type: 'string', default: '16' },
    'replay-mib': { type: 'string' },
    calls: { type: 'string', default: '1' },
    containers: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    client: { type: 'boolean', default: false },
  },
});

/** The child: N clients, each with its own token, doing one round's work; then it exits with their sessions open. */
async function clientRound(url: string, tokens: string[], calls: number, keep: boolean): Promise<void> {
  let failed = 0;
  await Promise.all(tokens.map(async (token) => {
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'bench-churn', version: '1' });
    try {
      await client.connect(transport);
      await client.listTools();
      for (let i = 0; i < calls; i += 1) {
        const r = await client.callTool({ name: 'list_containers', arguments: {} });
        if (r.isError) failed += 1;
      }
    } catch (err) {
      failed += 1;
      console.error(`${String(err)}${(err as { cause?: unknown }).cause ? ` (${String((err as { cause?: unknown }).cause)})` : ''}`);
    }
  }));
  process.stdout.write(`failed ${failed}\n`);
  // No DELETE, no close(): the sessions stay on the server, and the connections drop with the process
  // (with --keep, when the parent ends it).
  if (!keep) process.exit(0);
}

const children: ChildProcess[] = [];

/** One round's clients in a child process: resolves with how many failed, once it exited (or, with keep, reported). */
function runClients(url: string, tokens: string[], keep: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--client', '--calls', String(flags.calls), ...(keep ? ['--keep'] : [])];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, CHURN_URL: url, CHURN_TOKENS: JSON.stringify(tokens) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    const failed = (): number => Number(/failed (\d+)/.exec(out)?.[1] ?? tokens.length);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (keep && /failed \d+/.test(out)) resolve(failed());
    });
    child.once('error', reject);
    child.once('exit', () => resolve(failed()));
  });
}

const mib = (n: number): string => (n / 1_048_576).toFixed(1).padStart(7);

async function main(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { loadConfig } = await import('../src/config.js');
  const { silentLogger } = await import('../src/log.js');
  const { issueToken } = await import('../src/server/auth.js');
  const { startDaemon } = await import('../src/server/daemon.js');
  const { createRuntime } = await import('../src/compose.js');
  const { TokenStore } = await import('../src/store/tokens.js');
  const { FakeDocker, fakeAdapters } = await import('../test/support/fake-docker.js');

  const rounds = Number(flags.rounds);
  const clients = Number(flags.clients);
  const root = mkdtempSync(join(tmpdir(), 'warden-bench-churn-'));
  mkdirSync(join(root, 'warden'));
  writeFileSync(join(root, 'warden', 'policy.yaml'), 'rules: []\nlimits: []\n');
  const env = { WARDEN_DATA_DIR: join(root, 'warden', 'data'), WARDEN_POLICY: join(root, 'warden', 'policy.yaml') };
  const docker = new FakeDocker();
  docker.containers = Array.from({ length: Number(flags.containers) }, (_, i) => ({
    id: `${i.toString(16).padStart(12, '0')}`, name: `svc-${i}`, image: 'nginx:1.27', state: 'running', status: 'Up 3 hours',
    exitCode: null, health: 'healthy', restartCount: 0, restartPolicy: 'unless-stopped',
  }));
  const rt = createRuntime(loadConfig({}, env, root), silentLogger, { adapters: fakeAdapters(docker) });
  const server = { ...rt.config.server, port: 0, rateLimit: { perMinute: 1e9, burst: 1e9 } };
  if (flags['replay-mib'] !== undefined) Object.assign(server, { sessionReplayMiB: Number(flags['replay-mib']) });
  const daemon = await startDaemon(rt, server);
  const tokenStore = new TokenStore(rt.db);
  const tokens = Array.from({ length: clients }, (_, i) => issueToken({ tokens: tokenStore, audit: rt.audit }, { principal: `churn-${i}`, role: 'operator', by: 'bench' }).token);
  const sessions = daemon.gateway.mcp.sessions as unknown as { size: number; replayBytesUsed?: number };
  const replayBudget = (server as { sessionReplayMiB?: number }).sessionReplayMiB;
  try {
    console.log(`session churn: ${rounds} rounds of ${clients} new 2025-11-25 clients (initialize, tools/list, ${flags.calls} x list_containers ` +
      `of ${flags.containers} containers, never closed; ` +
      `${flags.keep ? 'kept connected' : 'gone after each round'}); ` +
      `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`replay budget: ${replayBudget === undefined ? 'none configured (the default, if this build has one)' : `${replayBudget} MiB`}\n`);
    console.log(`${'round'.padStart(5)} ${'sessions'.padStart(8)} ${'RSS MiB'.padStart(7)} ${'heap MiB'.padStart(8)} ${'replay MiB'.padStart(10)} failed`);
    const row = (label: string, failed: string): void => {
      gc();
      const m = process.memoryUsage();
      const replay = sessions.replayBytesUsed === undefined ? '-'.padStart(10) : mib(sessions.replayBytesUsed).padStart(10);
      console.log(`${label.padStart(5)} ${String(sessions.size).padStart(8)} ${mib(m.rss)} ${mib(m.heapUsed).padStart(8)} ${replay} ${failed}`);
    };
    row('0', '-');
    for (let round = 1; round <= rounds; round += 1) {
      const failed = await runClients(daemon.url, tokens, flags.keep);
      // The dropped connections' close events and the transports' clean-up run before the reading.
      await new Promise((r) => setTimeout(r, 500));
      row(String(round), String(failed));
    }
  } finally {
    for (const child of children) child.kill();
    await daemon.close();
    await rt.close();
    rmSync(root, { recursive: true, force: true });
  }
}

if (flags.client) await clientRound(process.env.CHURN_URL!, JSON.parse(process.env.CHURN_TOKENS!) as string[], Number(flags.calls), flags.keep);
else await main();
