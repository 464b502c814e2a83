// list_containers as Claude Desktop gets it, against dockerode's listContainers called directly,
// in one run on a real dockerd with 20 containers:
//   stdio    `warden stdio` as a child process, the real SDK client over stdin/stdout, gate and
//            audit on (each call: one audit entry, group-committed, and one Docker list request;
//            restart counts and policies come from the adapter's list cache, kept by Docker's
//            events: the warm-up calls inspect each container once);
//   direct   dockerode.listContainers({ all: true }) on the same socket.
// Latency per call at 1 and at 16 concurrent calls (median, p90), throughput, and the size in
// characters of what the model receives (the text part, and structuredContent) against the raw
// Docker API answer. It asserts nothing and is not a test.
//
// Run: npm run bench:list [-- --calls 200]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';

const { values: flags } = parseArgs({ options: { calls: { type: 'string', default: '200' }, containers: { type: 'string', default: '20' } } });
const CALLS = Number(flags.calls);
const CONTAINERS = Number(flags.containers);
const runDir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
process.env.WARDEN_TEST_RUN_DIR = runDir;

const { startDockerd } = await import('../test/support/dockerd.js');
const { createContainer } = await import('../test/support/containers.js');
const { spawnWardenStdio } = await import('../test/support/stdio-client.js');
const { killRecorded } = await import('../test/support/processes.js');

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function measure(concurrency: number, call: () => Promise<unknown>): Promise<{ median: number; p90: number; perSecond: number }> {
  for (let i = 0; i < 20; i += 1) await call();
  const times: number[] = [];
  const started = performance.now();
  for (let done = 0; done < CALLS; done += concurrency) {
    await Promise.all(Array.from({ length: Math.min(concurrency, CALLS - done) }, async () => {
      const t = performance.now();
      await call();
      times.push(performance.now() - t);
    }));
  }
  const seconds = (performance.now() - started) / 1000;
  return { median: pct(times, 50), p90: pct(times, 90), perSecond: CALLS / seconds };
}

const dockerd = await startDockerd();
try {
  for (let i = 0; i < CONTAINERS; i += 1) {
    await createContainer(dockerd, `svc-${String(i).padStart(2, '0')}`, { start: i % 4 !== 0, cmd: i % 4 === 0 ? ['sh', '-c', 'exit 1'] : undefined });
  }
  const docker = new Docker({ socketPath: dockerd.socketPath });
  const w = await spawnWardenStdio({ DOCKER_HOST: dockerd.dockerHost, WARDEN_DATA_DIR: join(runDir, 'data'), WARDEN_LOG_LEVEL: 'warn' });
  const viaStdio = () => w.client.callTool({ name: 'list_containers', arguments: {} });
  const direct = () => docker.listContainers({ all: true });

  const sample = await viaStdio();
  const text = (sample.content as Array<{ text: string }>)[0]!.text;
  const rawSize = JSON.stringify(await direct()).length;

  console.log(`list_containers: ${CONTAINERS} containers, ${CALLS} calls per row; node ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);
  console.log('path    concurrency  median ms   p90 ms   calls/s');
  const rows: Array<[string, number, Awaited<ReturnType<typeof measure>>]> = [];
  for (const concurrency of [1, 16]) {
    rows.push(['direct', concurrency, await measure(concurrency, direct)]);
    rows.push(['stdio', concurrency, await measure(concurrency, viaStdio)]);
  }
  for (const [path, c, r] of rows) {
    console.log(`${path.padEnd(7)} ${String(c).padStart(11)} ${r.median.toFixed(2).padStart(10)} ${r.p90.toFixed(2).padStart(8)} ${r.perSecond.toFixed(0).padStart(9)}`);
  }
  for (const c of [1, 16]) {
    const d = rows.find((r) => r[0] === 'direct' && r[1] === c)![2];
    const s = rows.find((r) => r[0] === 'stdio' && r[1] === c)![2];
    console.log(`at ${c} concurrent: stdio median / direct median = ${(s.median / d.median).toFixed(1)}x`);
  }
  console.log(`what the model receives: text ${text.length} chars, structuredContent ${JSON.stringify(sample.structuredContent).length} chars; raw Docker API answer ${rawSize} chars`);
  await w.close();
} finally {
  await dockerd.stop();
  killRecorded();
  rmSync(runDir, { recursive: true, force: true });
}
