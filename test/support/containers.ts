// Containers on the test dockerd, built from the imported busybox image.
import Docker from 'dockerode';
import type { Dockerd } from './dockerd.js';

export interface ContainerOptions {
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  restartPolicy?: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  memoryBytes?: number;
  healthcheck?: { test: string[]; intervalMs: number; retries: number };
  /** Start it (default true). */
  start?: boolean;
}

export function dockerFor(dockerd: Dockerd): Docker {
  return new Docker({ socketPath: dockerd.socketPath });
}

export async function createContainer(dockerd: Dockerd, name: string, opts: ContainerOptions = {}): Promise<Docker.Container> {
  const docker = dockerFor(dockerd);
  const container = await docker.createContainer({
    name,
    Image: dockerd.image,
    Cmd: opts.cmd ?? ['sleep', '1000'],
    Env: opts.env,
    Labels: opts.labels,
    Healthcheck: opts.healthcheck && {
      Test: opts.healthcheck.test,
      Interval: opts.healthcheck.intervalMs * 1e6,
      Retries: opts.healthcheck.retries,
      Timeout: 2e9,
    },
    HostConfig: {
      NetworkMode: 'none',
      RestartPolicy: { Name: opts.restartPolicy ?? 'no' },
      Memory: opts.memoryBytes,
      MemorySwap: opts.memoryBytes,
    },
  });
  if (opts.start ?? true) await container.start();
  return container;
}

export async function startedAt(container: Docker.Container): Promise<string> {
  return (await container.inspect()).State.StartedAt;
}
