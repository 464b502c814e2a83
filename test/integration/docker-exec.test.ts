// DockerAdapter.exec on a real dockerd: argv straight to the container (no shell), stdout and stderr
// apart, the program's real exit code, the output cap, the timeout, and the errors a tool sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodeAdapter, dockerOptions } from '../../src/adapters/docker.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer } from '../support/containers.js';
import { failureOf } from '../support/failures.js';

let dockerd: Dockerd;
let docker: DockerodeAdapter;

beforeAll(async () => {
  dockerd = await startDockerd();
  docker = new DockerodeAdapter('local', dockerd.dockerHost);
  await createContainer(dockerd, 'box');
  await createContainer(dockerd, 'stopped', { start: false });
});

afterAll(async () => {
  await dockerd?.stop();
});


describe('DockerAdapter.exec', () => {
  it('returns stdout and stderr apart, and the exit code of the program', async () => {
    const r = await docker.exec('box', ['sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 10_000 });
    expect(r).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', truncated: false });
  });

  it('passes arguments as argv, never through a shell', async () => {
    const r = await docker.exec('box', ['echo', '$HOME; rm -rf /'], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 0, stdout: '$HOME; rm -rf /\n' });
  });

  it('adds opts.env to the environment of the program', async () => {
    const r = await docker.exec('box', ['sh', '-c', 'echo "$GREETING"'], { timeoutMs: 10_000, env: { GREETING: 'hello' } });
    expect(r.stdout).toBe('hello\n');
  });

  it('keeps the first maxOutputBytes of each stream and the real exit code of a chatty program', async () => {
    const r = await docker.exec('box', ['sh', '-c', 'seq 1 100000; echo tail >&2; exit 4'], { timeoutMs: 20_000, maxOutputBytes: 1000 });
    expect(r.exitCode).toBe(4);
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBe(1000);
    expect(r.stdout.startsWith('1\n2\n3\n')).toBe(true);
    expect(r.stderr).toBe('tail\n');
  });

  it('reports a program that is not in the container by its exit code, as a shell would', async () => {
    const r = await docker.exec('box', ['no-such-program'], { timeoutMs: 10_000 });
    expect([126, 127]).toContain(r.exitCode);
  });

  it('fails as unavailable on timeout, saying the program may still run in the container', async () => {
    const started = Date.now();
    const f = await failureOf(docker.exec('box', ['sh', '-c', 'touch /tmp/began; sleep 3; touch /tmp/finished'], { timeoutMs: 500 }));
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(f.kind).toBe('unavailable');
    expect(f.message).toMatch(/timed out after 500 ms; it may still be running inside the container/);
    // Docker cannot kill an exec'd process: it runs to its end.
    await new Promise((r) => setTimeout(r, 3_500));
    expect((await docker.exec('box', ['ls', '/tmp/finished'], { timeoutMs: 10_000 })).exitCode).toBe(0);
  });

  it('fails as unavailable when the caller cancels', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const f = await failureOf(docker.exec('box', ['sleep', '5'], { timeoutMs: 10_000, signal: ac.signal }));
    expect(f).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/was cancelled/) });
  });

  it('says a missing container is invalid input', async () => {
    const f = await failureOf(docker.exec('ghost', ['true'], { timeoutMs: 10_000 }));
    expect(f).toMatchObject({ kind: 'invalid_input', message: 'no container "ghost" on host local; list_containers shows the valid names' });
  });

  it('says Docker refused when the container is not running', async () => {
    const f = await failureOf(docker.exec('stopped', ['true'], { timeoutMs: 10_000 }));
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(/refused exec create: .*not running/);
  });
});

describe('dockerOptions', () => {
  it('names every endpoint field, so DOCKER_HOST and DOCKER_CERT_PATH in the environment cannot override a unix socket', () => {
    const opts = dockerOptions('unix:///run/x.sock') as Record<string, unknown>;
    expect(opts).toMatchObject({ socketPath: '/run/x.sock' });
    for (const k of ['host', 'port', 'protocol', 'ca', 'cert', 'key', 'timeout']) {
      expect(Object.hasOwn(opts, k), k).toBe(true);
      expect(opts[k], k).toBeUndefined();
    }
  });

  it('reaches the socket it was given even with DOCKER_HOST set to somewhere else', async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:9';
    try {
      const adapter = new DockerodeAdapter('local', dockerd.dockerHost);
      await expect(adapter.ping()).resolves.toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
