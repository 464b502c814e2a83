// listContainers on a real dockerd, seen through a unix-socket proxy that counts every Docker API
// request and can cut, refuse, swallow or stall the event stream: a steady-state list is one list
// request, and whatever happens outside warden (restarts by policy, docker update, stop, rm,
// create) shows, even when dockerd drops the events that tell of it.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type Docker from 'dockerode';
import { DockerodeAdapter, type ContainerSummary } from '../../src/adapters/docker.js';
import { createContainer, dockerFor, waitUntil } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { tempDir } from '../support/processes.js';

/** A proxy in front of dockerd's socket that records each request line it forwards. */
class CountingProxy {
  readonly requests: string[] = [];
  /** Refuse (close at once) any connection that asks for /events. */
  refuseEvents = false;
  /** Take this many /events requests and never answer them (nor close them). */
  swallowEvents = 0;
  private readonly events = new Set<{ client: Socket; upstream: Socket }>();
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server, readonly socketPath: string) {}

  static async start(target: string): Promise<CountingProxy> {
    const socketPath = join(tempDir('proxy'), 'p.sock');
    const server = createServer();
    const proxy = new CountingProxy(server, socketPath);
    server.on('connection', (client) => proxy.relay(client, target));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return proxy;
  }

  get url(): string {
    return `unix://${this.socketPath}`;
  }

  count(pattern: RegExp): number {
    return this.requests.filter((r) => pattern.test(r)).length;
  }

  reset(): void {
    this.requests.length = 0;
  }

  /** Drops every open event stream, as a network cut would. */
  cutEvents(): void {
    for (const e of this.events) { e.client.destroy(); e.upstream.destroy(); }
    this.events.clear();
  }

  /** Stops passing events on while keeping the connection open: a link gone silent. */
  stallEvents(): void {
    for (const e of this.events) { e.upstream.unpipe(e.client); e.upstream.pause(); }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private relay(client: Socket, target: string): void {
    const upstream = createConnection(target);
    this.sockets.add(client).add(upstream);
    let pending = '';
    let swallowing = false;
    client.on('data', (chunk: Buffer) => {
      if (swallowing) return;
      pending += chunk.toString('latin1');
      const lines = pending.split('\r\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const m = /^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]$/.exec(line);
        if (!m) continue;
        this.requests.push(`${m[1]} ${m[2]}`);
        if (/\/events\?/.test(m[2]!)) {
          if (this.refuseEvents) { client.destroy(); upstream.destroy(); return; }
          if (this.swallowEvents > 0) { this.swallowEvents -= 1; swallowing = true; return; }
          this.events.add({ client, upstream });
        }
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}

const LIST = /^GET \S*\/containers\/json/;
const INSPECT = /^GET \S*\/containers\/[0-9a-f]{64}\/json/;
const EVENTS = /^GET \S*\/events\?/;

let dockerd: Dockerd;
let docker: Docker;
let proxy: CountingProxy | undefined;
let adapter: DockerodeAdapter | undefined;

beforeAll(async () => {
  dockerd = await startDockerd();
  docker = dockerFor(dockerd);
});
afterAll(async () => {
  await dockerd?.stop();
});
afterEach(async () => {
  adapter?.close();
  adapter = undefined;
  await proxy?.close();
  proxy = undefined;
  await Promise.all((await docker.listContainers({ all: true })).map((c) => docker.getContainer(c.Id).remove({ force: true })));
});

async function setUp(timings?: ConstructorParameters<typeof DockerodeAdapter>[2]): Promise<{ a: DockerodeAdapter; p: CountingProxy }> {
  proxy = await CountingProxy.start(dockerd.socketPath);
  adapter = new DockerodeAdapter('local', proxy.url, timings);
  return { a: adapter, p: proxy };
}

/**
 * Lists until one list is a single request. A new stream asks Docker for the last second or two
 * again (see container-list-cache.ts), so the events of containers just created drop the entries
 * of the first list; a list that inspects every time never gets here.
 */
async function steady(a: DockerodeAdapter, p: CountingProxy, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    p.reset();
    await a.listContainers({ all: true });
    if (p.requests.length === 1 && p.count(LIST) === 1) return;
    if (Date.now() > deadline) throw new Error(`lists never became one request each; the last made ${JSON.stringify(p.requests)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What listContainers said before the cache: a fresh adapter inspects every container. `status` ("Up 2 seconds") moves with the clock. */
async function uncached(): Promise<Array<Omit<ContainerSummary, 'status'>>> {
  const fresh = new DockerodeAdapter('local', dockerd.dockerHost);
  try {
    return withoutStatus(await fresh.listContainers({ all: true }));
  } finally {
    fresh.close();
  }
}

const withoutStatus = (list: ContainerSummary[]) => list.map(({ status: _status, ...rest }) => rest).sort((a, b) => a.name.localeCompare(b.name));
const row = (list: ContainerSummary[], name: string) => list.find((c) => c.name === name);

/** Lists until `done` holds; Docker's event for a change arrives a moment after the change. */
async function listUntil(a: DockerodeAdapter, what: string, done: (list: ContainerSummary[]) => boolean, timeoutMs = 10_000): Promise<ContainerSummary[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await a.listContainers({ all: true });
    if (done(list)) return list;
    if (Date.now() > deadline) throw new Error(`the list never showed ${what}: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (i: Docker.ContainerInspectInfo) => i.State.Status === 'exited';

/**
 * Has another process flood Docker with `renames` container events, then make Docker restart
 * `name` by its policy, while this process is blocked and reads nothing: dockerd drops events for
 * a subscriber whose 1024-event buffer is full, without a sign on the stream.
 */
function floodThenRestart(name: string, renames: number): void {
  const require = createRequire(import.meta.url);
  const script = join(tempDir('flood'), 'flood.cjs');
  writeFileSync(script, `
    const Docker = require(${JSON.stringify(require.resolve('dockerode'))});
    const P = ${JSON.stringify(`${name}-d`)};
    const d = new Docker({ socketPath: ${JSON.stringify(dockerd.socketPath)} });
    (async () => {
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < ${renames / 8}; i += 1) await d.getContainer(P + w + (i % 2 ? '' : 'x')).rename({ name: P + w + (i % 2 ? 'x' : '') }).catch(() => {});
      }));
      const t = d.getContainer(${JSON.stringify(name)});
      await (await t.exec({ Cmd: ['touch', '/go'] })).start({});
      for (;;) {
        const i = await t.inspect();
        if (i.RestartCount === 1 && i.State.Running && !i.State.Restarting) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    })().catch((e) => { console.error(e); process.exit(1); });
  `);
  execFileSync(process.execPath, [script], { timeout: 120_000 });
}

/** A policy restart while this process cannot read events; the list must show it within seconds, far inside the entry lifetime. */
async function restartUnseen(name: string, renames: number): Promise<void> {
  // Exits 1 once it is told to (the file /go), then runs: the file system survives Docker's restart.
  const target = await createContainer(dockerd, name, {
    cmd: ['sh', '-c', 'if [ -e /ran ]; then exec sleep 1000; fi; while [ ! -e /go ]; do sleep 0.1; done; touch /ran; exit 1'],
    restartPolicy: 'on-failure', maxRetries: 3,
  });
  for (let i = 0; i < 8; i += 1) await createContainer(dockerd, `${name}-d${i}`);
  const { a, p } = await setUp();
  await steady(a, p);
  // Long enough a run that the restarted one is younger by more than the age check's slack.
  await new Promise((r) => setTimeout(r, 2_500));
  await steady(a, p);
  expect(row(await a.listContainers({ all: true }), name)).toMatchObject({ state: 'running', restartCount: 0 });
  floodThenRestart(name, renames);
  await waitUntil(target, 'restarted once', (i) => i.RestartCount === 1 && i.State.Running);
  await listUntil(a, 'restart count 1', (l) => row(l, name)?.restartCount === 1, 8_000);
  expect(a['listCache'].trusted).toBe(true);
}

describe('listContainers with its event-kept cache', () => {
  it('answers a steady-state list with one list request and no inspect', async () => {
    const { a, p } = await setUp();
    await createContainer(dockerd, 'web');
    await createContainer(dockerd, 'db', { restartPolicy: 'unless-stopped' });
    await waitUntil(await createContainer(dockerd, 'job', { cmd: ['sh', '-c', 'exit 4'] }), 'exited', exited);
    await createContainer(dockerd, 'fresh', { start: false });
    await steady(a, p);
    p.reset();
    for (let i = 0; i < 3; i += 1) expect(withoutStatus(await a.listContainers({ all: true }))).toEqual(await uncached());
    expect(p.count(LIST)).toBe(3);
    expect(p.count(INSPECT)).toBe(0);
    expect(p.requests).toHaveLength(3);
    expect(row(await a.listContainers({ all: true }), 'job')).toMatchObject({ state: 'exited', exitCode: 4, restartPolicy: 'no' });
  });

  it('shows the restart count after Docker restarts a container by its on-failure policy', async () => {
    const { a, p } = await setUp();
    // Exits 1 once, then runs: the container keeps its file system across Docker's restart.
    const c = await createContainer(dockerd, 'once', {
      cmd: ['sh', '-c', 'if [ -e /ran ]; then sleep 1000; else touch /ran; sleep 3; exit 1; fi'], restartPolicy: 'on-failure', maxRetries: 3,
    });
    await steady(a, p);
    expect(row(await a.listContainers({ all: true }), 'once')).toMatchObject({ state: 'running', restartCount: 0 });
    await waitUntil(c, 'running again after one restart', (i) => i.RestartCount === 1 && i.State.Running && !i.State.Restarting);
    // Running before and after: only Docker's die and start events tell the cache the count moved.
    const list = await listUntil(a, 'restart count 1', (l) => row(l, 'once')?.restartCount === 1);
    expect(row(list, 'once')).toMatchObject({ state: 'running', restartCount: 1, restartPolicy: 'on-failure' });
    await steady(a, p);
  });

  it('shows a final restart count and exit code once the on-failure retries run out', async () => {
    const { a } = await setUp();
    const c = await createContainer(dockerd, 'flaky', { cmd: ['sh', '-c', 'sleep 0.3; exit 3'], restartPolicy: 'on-failure', maxRetries: 2 });
    const done = (i: Docker.ContainerInspectInfo) => i.RestartCount === 2 && exited(i) && !i.State.Restarting;
    // Lists all through the restarts, so the cache holds every intermediate count at some point.
    while (!done(await c.inspect())) {
      await a.listContainers({ all: true });
      await new Promise((r) => setTimeout(r, 50));
    }
    const list = await listUntil(a, 'the final state', (l) => row(l, 'flaky')?.restartCount === 2 && row(l, 'flaky')?.state === 'exited');
    expect(row(list, 'flaky')).toMatchObject({ exitCode: 3, restartCount: 2, restartPolicy: 'on-failure' });
    expect(withoutStatus(await a.listContainers({ all: true }))).toEqual(await uncached());
  });

  it('shows a restart policy changed with docker update outside warden', async () => {
    const { a, p } = await setUp();
    const c = await createContainer(dockerd, 'web');
    await steady(a, p);
    expect(row(await a.listContainers({ all: true }), 'web')?.restartPolicy).toBe('no');
    await c.update({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    await listUntil(a, 'policy always', (l) => row(l, 'web')?.restartPolicy === 'always');
  });

  it('follows a stop, a removal and a new container under the same name', async () => {
    const { a, p } = await setUp();
    const old = await createContainer(dockerd, 'web', { cmd: ['sh', '-c', 'trap "exit 7" TERM; sleep 1000 & wait'] });
    await steady(a, p);
    const before = row(await a.listContainers({ all: true }), 'web')!;
    await old.stop({ t: 5 });
    await listUntil(a, 'web exited 7', (l) => row(l, 'web')?.state === 'exited' && row(l, 'web')?.exitCode === 7);
    await old.remove();
    await listUntil(a, 'web gone', (l) => row(l, 'web') === undefined);
    await createContainer(dockerd, 'web', { restartPolicy: 'unless-stopped' });
    const list = await listUntil(a, 'the new web', (l) => row(l, 'web') !== undefined);
    expect(row(list, 'web')!.id).not.toBe(before.id);
    expect(row(list, 'web')).toMatchObject({ state: 'running', restartPolicy: 'unless-stopped', restartCount: 0, exitCode: null });
  });

  it('forgets everything when the event stream is cut, stays correct while it is down, and is steady again once it is back', async () => {
    const { a, p } = await setUp({ backoff: { initialMs: 100, maxMs: 200 } });
    const c = await createContainer(dockerd, 'web');
    await createContainer(dockerd, 'db');
    await steady(a, p);
    p.refuseEvents = true;
    p.cutEvents();
    // Made while no stream is open, so no event will ever tell of it.
    await c.update({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    await listUntil(a, 'policy always', (l) => row(l, 'web')?.restartPolicy === 'always', 3_000);
    p.reset();
    await a.listContainers({ all: true });
    expect(p.count(INSPECT)).toBe(2);
    p.refuseEvents = false;
    await steady(a, p);
    expect(withoutStatus(await a.listContainers({ all: true }))).toEqual(await uncached());
  });

  it('inspects again after its entry lifetime when the stream has gone silent without closing', async () => {
    const { a, p } = await setUp({ entryTtlMs: 300 });
    const c = await createContainer(dockerd, 'web');
    await steady(a, p);
    p.stallEvents();
    await c.update({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    await listUntil(a, 'policy always', (l) => row(l, 'web')?.restartPolicy === 'always', 3_000);
  });

  it('lists correctly, inspecting every container, when the event stream cannot be opened', async () => {
    const { a, p } = await setUp({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
    p.refuseEvents = true;
    await createContainer(dockerd, 'web', { restartPolicy: 'always' });
    expect(withoutStatus(await a.listContainers({ all: true }))).toEqual(await uncached());
    p.reset();
    await a.listContainers({ all: true });
    expect(p.count(INSPECT)).toBe(1);
    expect(p.count(EVENTS)).toBe(0);
  });

  it('shows a policy restart whose events dockerd dropped while this process was blocked (2,400 events flooded first)', () => restartUnseen('once', 2_400), 180_000);

  // The same with a flood Docker's buffers hold: the die and start events come late, but come.
  it('control: shows a policy restart made while this process was blocked (16 events flooded first)', () => restartUnseen('twice', 16), 120_000);

  it('stays one request per list when warden\'s wall clock is an hour ahead of Docker\'s', async () => {
    const { a, p } = await setUp();
    await createContainer(dockerd, 'web');
    await waitUntil(await createContainer(dockerd, 'job', { cmd: ['sh', '-c', 'exit 4'] }), 'exited', exited);
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000);
    try {
      await steady(a, p);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('gives up a stream connect that never answers, and tries again', async () => {
    const { a, p } = await setUp({ connectWaitMs: 50, connectTimeoutMs: 300, backoff: { initialMs: 100, maxMs: 200 } });
    await createContainer(dockerd, 'web');
    p.swallowEvents = 1;
    const deadline = Date.now() + 5_000;
    while (!a['listCache'].trusted && Date.now() < deadline) {
      await a.listContainers({ all: true });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect({ trusted: a['listCache'].trusted, eventRequests: p.count(EVENTS) }).toEqual({ trusted: true, eventRequests: 2 });
    await steady(a, p);
  });

  it('does not keep the process alive for its event stream', async () => {
    await createContainer(dockerd, 'web');
    // A process that lists once and never closes its adapter must still end by itself.
    const script = `import { DockerodeAdapter } from ${JSON.stringify(new URL('../../src/adapters/docker.ts', import.meta.url).pathname)};
      const a = new DockerodeAdapter('local', ${JSON.stringify(dockerd.dockerHost)});
      console.log((await a.listContainers({ all: true })).length);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const code = await new Promise<number | null | 'hung'>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('hung'); }, 30_000);
      child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    expect({ code, out: out.trim() }).toEqual({ code: 0, out: '1' });
  }, 40_000);
});
