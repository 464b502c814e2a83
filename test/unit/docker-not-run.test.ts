// Which Docker failures say that nothing reached Docker (notRun), so a claimed approval may be given
// back: only the failure of an adapter method's first request. A docker exec is three requests
// (create, start, inspect for the exit code); once the start has run the program, Docker going away
// before the inspect must not read as "never ran". A hand-written fake Docker Engine over loopback
// HTTP that stops accepting connections part-way through a method, as a restarting dockerd does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerodeAdapter, type ContainerBlueprint } from '../../src/adapters/docker.js';
import type { Adapters } from '../../src/adapters/index.js';
import { directDial } from '../../src/adapters/probes.js';
import { EffectWatch } from '../../src/policy/effect-watch.js';

let server: Server | undefined;
const adapters: DockerodeAdapter[] = [];
afterEach(async () => {
  for (const a of adapters.splice(0)) a.close();
  server?.closeAllConnections();
  await new Promise((r) => (server?.listening ? server.close(r) : r(undefined)));
  server = undefined;
});

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** A fake Engine answering `handle`, or 404; each answer closes its connection, so every request dials anew. */
async function fakeEngine(handle: (req: IncomingMessage, res: ServerResponse, path: string) => boolean): Promise<{ docker: DockerodeAdapter; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '');
    seen.push(`${req.method} ${path}`);
    req.resume();
    if (!handle(req, res, path)) res.writeHead(404, { 'content-type': 'application/json', connection: 'close' }).end('{"message":"not found"}');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const docker = new DockerodeAdapter('local', `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`);
  adapters.push(docker);
  return { docker, seen };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
};

function watched(docker: DockerodeAdapter): { watch: EffectWatch; docker: DockerodeAdapter } {
  const all: Adapters = {
    hosts: () => ['local'], docker: () => docker,
    commands: () => { throw new Error('unused'); }, metrics: () => { throw new Error('unused'); },
    files: () => { throw new Error('unused'); }, dial: () => directDial, close: async () => undefined,
  };
  const watch = new EffectWatch();
  return { watch, docker: watch.adapters(all).docker('local') as DockerodeAdapter };
}

const notRunOf = (err: unknown): boolean | undefined => (err as { details?: { notRun?: boolean } }).details?.notRun;

describe('notRun from a Docker method of several requests', () => {
  it('an exec whose program ran (start answered) and whose exit-code inspect is refused may have acted', async () => {
    const { docker, seen } = await fakeEngine((req, res, path) => {
      if (req.method === 'POST' && path === '/containers/web/exec') return (json(res, 201, { Id: 'exec1' }), true);
      if (req.method === 'POST' && path === '/exec/exec1/start') {
        // The program runs; Docker then goes away (dockerd restarting): no new connection is accepted.
        server!.close();
        res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream', connection: 'close' }).end(frame(1, 'reloaded\n'));
        return true;
      }
      return false;
    });
    const w = watched(docker);
    const err = await w.docker.exec('web', ['nginx', '-s', 'reload'], { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(seen).toEqual(['POST /containers/web/exec', 'POST /exec/exec1/start']);
    expect(err).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/ECONNREFUSED\) during exec inspect \(earlier requests of this call had reached Docker\)/) });
    expect(notRunOf(err)).toBeUndefined();
    expect(w.watch.sealIfUntouched()).toBe(false);
  });

  it('an exec whose create is refused never reached Docker: notRun, and the watch gives the call back', async () => {
    const { docker } = await fakeEngine(() => false);
    server!.close();
    const w = watched(docker);
    const err = await w.docker.exec('web', ['true'], { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', details: { notRun: true }, message: expect.stringMatching(/ECONNREFUSED\) during exec create; retry later$/) });
    expect(w.watch.sealIfUntouched()).toBe(true);
  });

  it('a container created whose network connect is then refused may have acted', async () => {
    const { docker, seen } = await fakeEngine((req, res, path) => {
      if (req.method === 'POST' && path === '/containers/create') {
        server!.close();
        json(res, 201, { Id: 'new1new1new1new1' });
        return true;
      }
      return false;
    });
    const bp = { plan: { options: { Image: 'nginx' }, extraNetworks: [{ name: 'back', endpoint: {} }] } } as unknown as ContainerBlueprint;
    const w = watched(docker);
    const err = await w.docker.createFromBlueprint(bp, 'web').catch((e: unknown) => e);
    expect(seen).toEqual(['POST /containers/create']);
    expect(err).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/during connect network back/) });
    expect(notRunOf(err)).toBeUndefined();
    expect(w.watch.sealIfUntouched()).toBe(false);
  });

  it('a container file write whose reads answered and whose upload is refused counts as may have acted (only a first request can say otherwise)', async () => {
    const { docker, seen } = await fakeEngine((req, res, path) => {
      if (req.method === 'GET' && path === '/containers/web/json') return (json(res, 200, { Id: 'c0ffee', Name: '/web' }), true);
      if (req.method === 'GET' && path === '/containers/c0ffee/archive') {
        server!.close();
        json(res, 404, { message: 'Could not find the file /etc/app.conf in container c0ffee' });
        return true;
      }
      return false;
    });
    const w = watched(docker);
    const err = await w.docker.containerFiles('web').write('/etc/app.conf', Buffer.from('x'), { mode: 0o644 }).catch((e: unknown) => e);
    expect(seen).toEqual(['GET /containers/web/json', 'GET /containers/c0ffee/archive']);
    expect(err).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/during write \/etc\/app\.conf/) });
    expect(notRunOf(err)).toBeUndefined();
  });

  it('a one-request write refused at connect never reached Docker: notRun', async () => {
    const { docker } = await fakeEngine(() => false);
    server!.close();
    const w = watched(docker);
    const err = await w.docker.restartContainer('web', 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', details: { notRun: true } });
    expect(w.watch.sealIfUntouched()).toBe(true);
  });
});
