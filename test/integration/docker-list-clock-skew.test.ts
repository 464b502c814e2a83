// The stream's `since` comes from warden's clock but Docker filters by its own. A
// Docker host whose clock is an hour behind warden's (since lies in Docker's future) must still
// deliver live events, or the cache would trust a stream that tells it nothing.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { DockerodeAdapter, type ContainerSummary } from '../../src/adapters/docker.js';
import { createContainer } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';

let dockerd: Dockerd;
beforeAll(async () => {
  dockerd = await startDockerd();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await dockerd?.stop();
});

const row = (list: ContainerSummary[], name: string) => list.find((c) => c.name === name);

it('sees a policy change made on a Docker host whose clock is an hour behind', async () => {
  const c = await createContainer(dockerd, 'web');
  const real = Date.now.bind(Date);
  vi.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000);
  const a = new DockerodeAdapter('local', dockerd.dockerHost);
  try {
    for (let i = 0; i < 3; i += 1) {
      await a.listContainers({ all: true });
      await new Promise((r) => setTimeout(r, 1_200));
    }
    expect(a['listCache'].trusted).toBe(true);
    expect(row(await a.listContainers({ all: true }), 'web')?.restartPolicy).toBe('no');
    await c.update({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    const deadline = real() + 5_000;
    let list = await a.listContainers({ all: true });
    while (row(list, 'web')?.restartPolicy !== 'always' && real() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      list = await a.listContainers({ all: true });
    }
    expect(row(list, 'web')?.restartPolicy).toBe('always');
  } finally {
    a.close();
  }
}, 60_000);
