// Docker events from a real dockerd become alerts: an exit, an OOM kill, a failing health check, a
// restart storm; a stop someone asked for does not.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DockerodeAdapter } from '../../src/adapters/docker.js';
import { silentLogger } from '../../src/log.js';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import { watchDockerEvents, type DockerEventWatch } from '../../src/loop/docker-events.js';
import { createContainer, waitUntil } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';

const MiB = 1024 * 1024;
let dockerd: Dockerd;
let adapter: DockerodeAdapter;
let watch: DockerEventWatch | undefined;
const alerts: NormalizedAlert[] = [];

beforeAll(async () => {
  dockerd = await startDockerd();
  adapter = new DockerodeAdapter('local', dockerd.dockerHost);
});
afterAll(async () => {
  await dockerd?.stop();
});
afterEach(async () => {
  await watch?.close();
  watch = undefined;
  alerts.length = 0;
});

async function watching(opts: Parameters<typeof watchDockerEvents>[4] = {}): Promise<void> {
  watch = watchDockerEvents(['local'], { docker: () => adapter }, (a) => alerts.push(...a), silentLogger, opts);
  await watch.ready();
}

async function alertFor(container: string, event: string, timeoutMs = 30_000): Promise<NormalizedAlert> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = alerts.find((a) => a.hints.container === container && a.labels.event === event);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${event} alert for ${container}; got ${JSON.stringify(alerts.map((a) => a.summary))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('watchDockerEvents on a real dockerd', () => {
  it('reports a container exiting 3 as a die alert with exit code 3', async () => {
    await watching();
    await createContainer(dockerd, 'exits-3', { cmd: ['sh', '-c', 'exit 3'] });
    const a = await alertFor('exits-3', 'die');
    expect(a).toMatchObject({
      source: 'docker', fingerprint: 'docker:local/exits-3', summary: 'exits-3 exited with code 3',
      labels: { event: 'die', exitCode: '3', image: dockerd.image }, hints: { host: 'local', container: 'exits-3' },
    });
  });

  it('reports an OOM-killed container with an oom alert', async () => {
    await watching();
    await createContainer(dockerd, 'oom-1', { cmd: ['sh', '-c', 'x=a; while true; do x=$x$x; done'], memoryBytes: 16 * MiB });
    const a = await alertFor('oom-1', 'oom');
    expect(a).toMatchObject({ severity: 'critical', fingerprint: 'docker:local/oom-1' });
  });

  it('reports a failing health check with a health_status alert', async () => {
    await watching();
    await createContainer(dockerd, 'sick-1', { healthcheck: { test: ['CMD-SHELL', 'exit 1'], intervalMs: 200, retries: 1 } });
    const a = await alertFor('sick-1', 'health_status');
    expect(a).toMatchObject({ summary: 'sick-1 is unhealthy: its health check fails', fingerprint: 'docker:local/sick-1' });
  });

  it('reports nothing when a container is stopped or restarted on request', async () => {
    await watching();
    const c = await createContainer(dockerd, 'stopped-1', { cmd: ['sleep', '1000'] });
    await c.restart({ t: 1 });
    await c.stop({ t: 1 });
    // A control container dies afterwards: once its alert is in, any alert for the stops would be too.
    await createContainer(dockerd, 'control-1', { cmd: ['sh', '-c', 'exit 1'] });
    await alertFor('control-1', 'die');
    expect(alerts.filter((a) => a.hints.container === 'stopped-1')).toEqual([]);
  });

  it('marks a container that Docker keeps restarting as a restart storm, under one fingerprint', async () => {
    await watching({ storm: { dies: 2, windowMs: 60_000 } });
    const c = await createContainer(dockerd, 'storm-1', { cmd: ['sh', '-c', 'exit 1'], restartPolicy: 'on-failure', maxRetries: 3 });
    await waitUntil(c, 'done restarting', (i) => i.RestartCount === 3 && i.State.Status === 'exited' && !i.State.Restarting);
    const mine = () => alerts.filter((a) => a.hints.container === 'storm-1');
    const deadline = Date.now() + 10_000;
    while (mine().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const all = mine();
    expect(all).toHaveLength(4);
    expect(all.map((a) => a.labels.storm ?? 'no')).toEqual(['no', 'no', 'true', 'true']);
    expect(new Set(all.map((a) => a.fingerprint))).toEqual(new Set(['docker:local/storm-1']));
  });
});
