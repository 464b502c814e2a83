// recreate_container on a real dockerd, through the guard with a real SDK client: the new container
// has a new id and, field by field, the configuration of the old one; its anonymous volume comes
// along; a create that Docker refuses leaves the old container under its own name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { DockerodeAdapter } from '../../src/adapters/docker.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer, dockerFor, waitUntil } from '../support/containers.js';
import { tempDir } from '../support/processes.js';
import { callTool, containerNames, inspectByName } from '../support/write-tools.js';

const MiB = 1024 * 1024;
let dockerd: Dockerd;
let docker: DockerodeAdapter;

beforeAll(async () => {
  dockerd = await startDockerd();
  docker = new DockerodeAdapter('local', dockerd.dockerHost);
});

afterAll(async () => {
  await dockerd?.stop();
});

const exec = async (container: string, script: string) => docker.exec(container, ['sh', '-c', script], { timeoutMs: 10_000 });

/** A container with as much configuration as this dockerd allows with network mode none. */
async function richContainer(name: string, bindDir: string): Promise<Docker.Container> {
  const c = await dockerFor(dockerd).createContainer({
    name,
    Image: dockerd.image,
    Entrypoint: ['/bin/busybox'],
    Cmd: ['sh', '-c', 'exec sleep 1000'],
    Env: ['APP_MODE=prod', 'DB_PASSWORD=hunter2'],
    Labels: { 'com.example.owner': 'team-a', 'warden-test': 'rich' },
    WorkingDir: '/tmp',
    User: '0:0',
    StopSignal: 'SIGINT',
    StopTimeout: 3,
    Healthcheck: { Test: ['CMD-SHELL', 'test -d /data'], Interval: 200e6, Timeout: 2e9, Retries: 1 },
    Volumes: { '/cache': {} },
    HostConfig: {
      NetworkMode: 'none',
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
      Memory: 64 * MiB,
      MemorySwap: 128 * MiB,
      NanoCpus: 500_000_000,
      CpuShares: 512,
      PidsLimit: 64,
      Binds: [`${bindDir}:/data:ro`],
      CapAdd: ['SYS_PTRACE'],
      CapDrop: ['NET_RAW'],
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
      Tmpfs: { '/run': 'size=1m' },
    },
  });
  await c.start();
  await waitUntil(c, 'healthy', (i) => i.State.Health?.Status === 'healthy');
  return c;
}

describe('recreate_container', () => {
  it('creates a new container with the same configuration, field by field, and removes the old one', async () => {
    const bindDir = tempDir('recreate-bind');
    writeFileSync(join(bindDir, 'seen'), 'from the host\n');
    await richContainer('rich', bindDir);
    expect((await exec('rich', 'echo kept > /cache/marker && echo lost > /layer-marker')).exitCode).toBe(0);
    const before = await inspectByName(dockerd, 'rich');

    const call = await callTool(dockerd, 'recreate_container', { container: 'rich', timeoutSeconds: 1 });
    expect(call.result.isError, call.text).toBeFalsy();
    const after = await inspectByName(dockerd, 'rich');

    expect(after.Id).not.toBe(before.Id);
    expect(after.Image).toBe(before.Image);
    expect(after.Config.Image).toBe(before.Config.Image);
    for (const field of ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'Healthcheck', 'StopSignal', 'Volumes', 'Tty'] as const) {
      expect(after.Config[field as keyof typeof after.Config], `Config.${field}`).toEqual(before.Config[field as keyof typeof before.Config]);
    }
    expect((after.Config as { StopTimeout?: number }).StopTimeout).toBe(3);
    const hc = (i: Docker.ContainerInspectInfo) => i.HostConfig as Record<string, unknown>;
    for (const field of ['Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'PidsLimit', 'RestartPolicy', 'NetworkMode', 'Binds', 'CapAdd', 'CapDrop', 'Ulimits', 'LogConfig', 'Tmpfs']) {
      expect(hc(after)[field], `HostConfig.${field}`).toEqual(hc(before)[field]);
    }
    // Everything else in HostConfig too; Mounts gains the anonymous volume, mounted again by name.
    const { Mounts: _a, ...restAfter } = hc(after);
    const { Mounts: _b, ...restBefore } = hc(before);
    expect(restAfter).toEqual(restBefore);

    const volume = (i: Docker.ContainerInspectInfo) => i.Mounts.find((m) => m.Destination === '/cache')?.Name;
    expect(volume(after)).toBe(volume(before));
    expect((await exec('rich', 'cat /cache/marker /data/seen')).stdout).toBe('kept\nfrom the host\n');
    expect((await exec('rich', 'test -e /layer-marker')).exitCode).toBe(1); // a new writable layer
    expect((await containerNames(dockerd)).filter((n) => n.startsWith('rich'))).toEqual(['rich']);

    expect(call.out).toMatchObject({
      name: 'rich', id: after.Id.slice(0, 12), previousId: before.Id.slice(0, 12), state: 'running', health: 'healthy',
      settled: true, reason: null, previousKept: null, image: dockerd.image, imageId: before.Image,
    });
    expect(call.out.carried).toEqual(expect.arrayContaining([
      'Env (2)', 'Cmd (3)', 'Entrypoint (1)', 'Labels', 'Healthcheck', 'StopSignal', 'WorkingDir',
      'HostConfig.Binds (1)', 'HostConfig.Memory', 'HostConfig.RestartPolicy', 'HostConfig.NetworkMode', 'HostConfig.CapAdd (1)', 'HostConfig.Ulimits (1)',
      'anonymous volumes reattached (1)',
    ]));
    expect(JSON.stringify(call.out) + call.text + JSON.stringify(call.audit)).not.toMatch(/hunter2|APP_MODE=prod/);
    expect(call.audit.map((e) => e.phase)).toEqual(['requested', 'completed']);
  });

  it('recreates a stopped container and starts the new one', async () => {
    const c = await createContainer(dockerd, 'rc-stopped', { start: false, env: ['A=1'] });
    const before = await c.inspect();
    const call = await callTool(dockerd, 'recreate_container', { container: 'rc-stopped' });
    const after = await inspectByName(dockerd, 'rc-stopped');
    expect(after.Id).not.toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect(after.Config.Env).toEqual(before.Config.Env);
    expect(call.out).toMatchObject({ settled: true, previousKept: null });
  });

  it('leaves the old container under its own name when Docker refuses to create the new one', async () => {
    // A bind source given with Mounts must exist when a container is created; deleting it under a
    // running container makes create fail. Starting the old one fails for the same reason, so this is
    // the rollback that cannot finish: the name is restored, the start failure reported. (The clean
    // rollback is proven against a hand-written adapter in test/unit/docker-recreate.test.ts: nothing
    // inspect reports makes a real create fail while the old container still starts.)
    const src = tempDir('recreate-gone');
    const old = await createContainer(dockerd, 'rc-fails', { hostConfig: { Mounts: [{ Type: 'bind', Source: src, Target: '/data' }] } });
    const before = await old.inspect();
    rmSync(src, { recursive: true });

    const call = await callTool(dockerd, 'recreate_container', { container: 'rc-fails', timeoutSeconds: 0 });
    expect(call.result.isError).toBe(true);
    expect(call.text).toMatch(/^\[target_failed\] recreate of rc-fails on host local failed at create: Docker on host local refused create: invalid mount config .*bind source path does not exist/);
    expect(call.text).toMatch(new RegExp(`rollback incomplete \\(starting it: .*\\): the old container is ${before.Id.slice(0, 12)}, named rc-fails; a human must restore it$`));
    expect(call.audit.map((e) => [e.phase, e.errorKind])).toEqual([['requested', null], ['failed', 'target_failed']]);

    expect((await containerNames(dockerd)).filter((n) => n.startsWith('rc-fails'))).toEqual(['rc-fails']);
    const now = await inspectByName(dockerd, 'rc-fails');
    expect(now.Id).toBe(before.Id);
    mkdirSync(src);
    await old.start();
    expect((await old.inspect()).State.Running).toBe(true);
  });

  it('refuses a container with AutoRemove, touching nothing', async () => {
    const c = await createContainer(dockerd, 'rc-auto', { hostConfig: { AutoRemove: true } });
    const before = await c.inspect();
    const call = await callTool(dockerd, 'recreate_container', { container: 'rc-auto' });
    expect(call.text).toMatch(/^\[invalid_input\] rc-auto on host local has AutoRemove set/);
    expect((await c.inspect()).State.StartedAt).toBe(before.State.StartedAt);
  });
});
