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
  /** With restartPolicy 'on-failure': how many restarts Docker makes. */
  maxRetries?: number;
  /** Allocate a TTY: its log is one stream, not multiplexed. */
  tty?: boolean;
  /** Merged over the defaults below (limits, binds, ...). */
  hostConfig?: Docker.HostConfig;
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
    Tty: opts.tty,
    Healthcheck: opts.healthcheck && {
      Test: opts.healthcheck.test,
      Interval: opts.healthcheck.intervalMs * 1e6,
      Retries: opts.healthcheck.retries,
      Timeout: 2e9,
    },
    HostConfig: {
      NetworkMode: 'none',
      RestartPolicy: { Name: opts.restartPolicy ?? 'no', MaximumRetryCount: opts.maxRetries },
      Memory: opts.memoryBytes,
      MemorySwap: opts.memoryBytes,
      ...opts.hostConfig,
    },
  });
  if (opts.start ?? true) await container.start();
  return container;
}

export async function startedAt(container: Docker.Container): Promise<string> {
  return (await container.inspect()).State.StartedAt;
}

/** Polls inspect until `done` holds; fails naming `what` and the last state seen. */
export async function waitUntil(
  container: Docker.Container,
  what: string,
  done: (info: Docker.ContainerInspectInfo) => boolean,
  timeoutMs = 20_000,
): Promise<Docker.ContainerInspectInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await container.inspect();
    if (done(info)) return info;
    if (Date.now() > deadline) throw new Error(`${info.Name} never became ${what}; last state ${JSON.stringify(info.State)}, restarts ${info.RestartCount}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
