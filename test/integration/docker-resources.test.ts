// DockerAdapter.resources and updateResources on a real dockerd: what inspect reports, what
// `docker update` changes (checked in the container's own cgroup, not only in inspect), and that
// Docker's refusals come back as Docker said them. The test dockerd must accept memory limits:
// if its cgroup setup refuses them, creating the first container here fails and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodeAdapter, type DockerAdapter } from '../../src/adapters/docker.js';
import { createContainer } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { failureOf } from '../support/failures.js';

const MiB = 1024 * 1024;
let dockerd: Dockerd;
let docker: DockerAdapter;

beforeAll(async () => {
  dockerd = await startDockerd();
  docker = new DockerodeAdapter('local', dockerd.dockerHost);
});

afterAll(async () => {
  await dockerd?.stop(); // removes every container it holds
});


/** What the kernel enforces, read inside the container (cgroup v2 first, then v1). */
async function cgroup(name: string, v2: string, v1: string): Promise<string> {
  const res = await docker.exec(name, ['sh', '-c', `cat /sys/fs/cgroup/${v2} 2>/dev/null || cat /sys/fs/cgroup/${v1}`], { timeoutMs: 10_000 });
  expect(res.exitCode, res.stderr).toBe(0);
  return res.stdout.trim();
}
const memoryLimit = (name: string): Promise<string> => cgroup(name, 'memory.max', 'memory/memory.limit_in_bytes');
const pidsMax = (name: string): Promise<string> => cgroup(name, 'pids.max', 'pids/pids.max');

describe('resources', () => {
  it('reports the limits a container was created with', async () => {
    await createContainer(dockerd, 'res-limited', { memoryBytes: 32 * MiB, hostConfig: { MemorySwap: 48 * MiB, NanoCpus: 500_000_000, PidsLimit: 64 } });
    expect(await docker.resources('res-limited')).toEqual({ memoryBytes: 32 * MiB, memorySwapBytes: 48 * MiB, nanoCpus: 500_000_000, pidsLimit: 64 });
  });

  it('reports no limits as zeros and a null pids limit', async () => {
    await createContainer(dockerd, 'res-free', { hostConfig: { Memory: 0, MemorySwap: 0 } });
    expect(await docker.resources('res-free')).toEqual({ memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 0, pidsLimit: null });
  });

  it('refuses an unknown container as invalid_input', async () => {
    const f = await failureOf(docker.resources('no-such'));
    expect([f.kind, f.message]).toEqual(['invalid_input', 'no container "no-such" on host local; list_containers shows the valid names']);
  });
});

describe('updateResources', () => {
  it('doubles memory and memory+swap on a running container, which the kernel then enforces', async () => {
    await createContainer(dockerd, 'res-double', { memoryBytes: 32 * MiB });
    expect(await docker.resources('res-double')).toMatchObject({ memoryBytes: 32 * MiB, memorySwapBytes: 32 * MiB });
    expect(await memoryLimit('res-double')).toBe(String(32 * MiB));
    await docker.updateResources('res-double', { memoryBytes: 64 * MiB, memorySwapBytes: 64 * MiB });
    expect(await docker.resources('res-double')).toEqual({ memoryBytes: 64 * MiB, memorySwapBytes: 64 * MiB, nanoCpus: 0, pidsLimit: null });
    expect(await memoryLimit('res-double')).toBe(String(64 * MiB));
    expect(await docker.containerState('res-double')).toMatchObject({ running: true, restartCount: 0 });
  });

  it("passes on Docker's refusal of memory above the memory+swap already set, changing nothing", async () => {
    await createContainer(dockerd, 'res-swap', { memoryBytes: 32 * MiB });
    const f = await failureOf(docker.updateResources('res-swap', { memoryBytes: 64 * MiB }));
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(/^Docker on host local refused update resources: .*Memory limit should be smaller than already set memoryswap limit/);
    expect(await docker.resources('res-swap')).toMatchObject({ memoryBytes: 32 * MiB, memorySwapBytes: 32 * MiB });
  });

  it('changes only the fields given', async () => {
    await createContainer(dockerd, 'res-partial', { memoryBytes: 32 * MiB, hostConfig: { PidsLimit: 64 } });
    await docker.updateResources('res-partial', { nanoCpus: 250_000_000, pidsLimit: 128 });
    expect(await docker.resources('res-partial')).toEqual({ memoryBytes: 32 * MiB, memorySwapBytes: 32 * MiB, nanoCpus: 250_000_000, pidsLimit: 128 });
    expect(await pidsMax('res-partial')).toBe('128');
  });

  it('removes the pids limit when given null', async () => {
    await createContainer(dockerd, 'res-pids', { hostConfig: { PidsLimit: 64 } });
    await docker.updateResources('res-pids', { pidsLimit: null });
    expect((await docker.resources('res-pids')).pidsLimit).toBeNull();
    expect(await pidsMax('res-pids')).toBe('max');
  });

  it.each([
    ['memory', { memoryBytes: 0 }],
    ['CPU', { nanoCpus: 0 }],
  ])('refuses to remove the %s limit, which docker update would silently ignore', async (what, change) => {
    await createContainer(dockerd, `res-keep-${what.toLowerCase()}`, { memoryBytes: 32 * MiB, hostConfig: { NanoCpus: 500_000_000 } });
    const f = await failureOf(docker.updateResources(`res-keep-${what.toLowerCase()}`, change));
    expect([f.kind, f.message]).toEqual(['invalid_input', `docker update cannot remove the ${what} limit of container res-keep-${what.toLowerCase()} on host local; give a new, larger limit instead`]);
    expect(await docker.resources(`res-keep-${what.toLowerCase()}`)).toMatchObject({ memoryBytes: 32 * MiB, nanoCpus: 500_000_000 });
  });

  it("passes on Docker's refusal of a memory limit below its minimum", async () => {
    await createContainer(dockerd, 'res-tiny', { memoryBytes: 32 * MiB });
    const f = await failureOf(docker.updateResources('res-tiny', { memoryBytes: MiB, memorySwapBytes: MiB }));
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(/Minimum memory limit allowed is 6MB/);
  });

  it('refuses an unknown container as invalid_input', async () => {
    const f = await failureOf(docker.updateResources('no-such', { pidsLimit: 10 }));
    expect(f.kind).toBe('invalid_input');
  });
});
