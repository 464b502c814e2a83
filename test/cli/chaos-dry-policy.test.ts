// `warden chaos run` under a policy file with `dryRun: true`: the guard answers inject_fault with a
// plan and runs nothing; the run reports that nothing was injected (it used to die on a TypeError).
// Docker is a small Engine API on loopback (GET only: any POST, a kill or a stop, would fail the test).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runChaos } from '../../src/commands/chaos-run.js';
import { tempDir } from '../support/processes.js';

const ID = 'a'.repeat(64);
const inspect = {
  Id: ID, Name: '/web-1', Created: '2026-11-22T00:00:00Z', Image: `sha256:${'b'.repeat(64)}`, RestartCount: 0, LogPath: '', Mounts: [],
  Config: { Image: 'nginx', Labels: { 'warden.chaos': 'true' }, Entrypoint: null, Cmd: ['nginx'], Env: ['PATH=/bin'], Tty: false },
  State: { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 42, ExitCode: 0, Error: '', StartedAt: '2026-11-23T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
  HostConfig: { RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, Memory: 64 * 1024 * 1024, NetworkMode: 'none', LogConfig: { Type: 'json-file' } },
};
const summary = { Id: ID, Names: ['/web-1'], Image: 'nginx', State: 'running', Status: 'Up 1 hour', Labels: { 'warden.chaos': 'true' } };

let server: Server | undefined;
const posts: string[] = [];
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

function engine(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '').replace(/^\/v[0-9.]+/, '').split('?')[0]!;
  const json = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    posts.push(`${req.method} ${path}`);
    return json(500, { message: 'this fake Docker takes reads only' });
  }
  if (path === '/_ping') { res.writeHead(200, { 'content-type': 'text/plain' }); return void res.end('OK'); }
  if (path === '/events') { res.writeHead(200, { 'content-type': 'application/json' }); return; } // held open, silent
  if (path === '/containers/json') return json(200, [summary]);
  const m = /^\/containers\/([^/]+)\/json$/.exec(path);
  if (m && (m[1] === 'web-1' || ID.startsWith(m[1]!))) return json(200, inspect);
  return json(404, { message: `No such container: ${m?.[1] ?? path}` });
}

describe('warden chaos run under a dry-run policy', () => {
  it('reports the dry run instead of crashing on the dry-run output', async () => {
    server = createServer(engine);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const dir = tempDir('chaos-dry-policy');
    writeFileSync(join(dir, 'warden.yaml'), 'tools:\n  enabled: [inject_fault]\n');
    writeFileSync(join(dir, 'policy.yaml'), 'dryRun: true\nrules:\n  - { name: chaos-may-inject, principal: chaos, tool: inject_fault, decision: allow }\n');
    const env = {
      WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_CONFIG: join(dir, 'warden.yaml'), WARDEN_POLICY: join(dir, 'policy.yaml'),
      DOCKER_HOST: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    };
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
    const exitCode = process.exitCode;
    let thrown: unknown;
    try {
      await runChaos(() => loadConfig({}, env, dir), { rounds: 1, interval: 0, maxConcurrent: 1, faults: ['kill'], seed: 7, timeout: 1, json: true });
    } catch (err) {
      thrown = err;
    } finally {
      process.stdout.write = write;
      process.exitCode = exitCode;
    }
    expect(posts, 'the dry run acted on Docker').toEqual([]);
    expect(thrown === undefined ? 'no error' : String((thrown as Error).stack ?? thrown).slice(0, 400)).toBe('no error');
    const report = JSON.parse(out.join('')) as { records: Array<{ outcome: string }> };
    expect(report.records.map((r) => r.outcome)).not.toContain('injected');
  }, 30_000);
});
