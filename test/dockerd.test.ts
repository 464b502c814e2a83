// The test dockerd is a real Docker daemon: containers really run and really exit, and stopping it
// leaves no daemon, containerd or shim behind.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type Dockerd } from './support/dockerd.js';
import { isAlive } from './support/processes.js';

async function runToExit(docker: Docker, image: string, networkMode: 'none' | 'host', script: string): Promise<number> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sh', '-c', script],
    HostConfig: { NetworkMode: networkMode },
  });
  await container.start();
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  await container.remove({ force: true });
  return StatusCode;
}

function childrenOf(pid: number): number[] {
  // Each thread lists the children it forked (CONFIG_PROC_CHILDREN); dockerd forks from any of its threads.
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(' ').map(Number);
  });
}

function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('the test dockerd', () => {
  let dockerd: Dockerd;
  let docker: Docker;

  beforeAll(async () => {
    dockerd = await startDockerd();
    docker = new Docker({ socketPath: dockerd.socketPath });
  });

  afterAll(async () => {
    await dockerd?.stop();
    if (dockerd) expect(isAlive(dockerd.pid)).toBe(false);
  });

  it('runs a container with network mode none and reports its exit code', async () => {
    expect(await runToExit(docker, dockerd.image, 'none', 'exit 3')).toBe(3);
  });

  it('runs a container with host networking and reports its exit code', async () => {
    expect(await runToExit(docker, dockerd.image, 'host', 'exit 3')).toBe(3);
  });
});

describe('stopping the test dockerd', () => {
  it('ends dockerd, its containerd and the shim of a running container, and removes its mounts', async () => {
    const dockerd = await startDockerd();
    try {
      const docker = new Docker({ socketPath: dockerd.socketPath });
      const container = await docker.createContainer({
        Image: dockerd.image,
        Cmd: ['sleep', '1000'],
        HostConfig: { NetworkMode: 'none' },
      });
      await container.start();
      const containerPid = (await container.inspect()).State.Pid;
      const shimPid = ppidOf(containerPid);
      expect(readFileSync(`/proc/${shimPid}/cmdline`, 'utf8')).toContain('containerd-shim');
      const [containerdPid] = childrenOf(dockerd.pid);
      expect(containerdPid).toBeDefined();
      const socketDir = dockerd.socketPath.slice(0, dockerd.socketPath.lastIndexOf('/'));
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(socketDir);

      await dockerd.stop();

      for (const pid of [dockerd.pid, containerdPid!, shimPid, containerPid]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(socketDir);
      expect(existsSync(socketDir)).toBe(false);
    } finally {
      await dockerd.stop();
    }
  });
});

describe('starting the test dockerd', () => {
  it("fails with dockerd's own output when dockerd cannot start", async () => {
    await expect(startDockerd({ storageDriver: 'no-such-driver' })).rejects.toThrow(/did not start; its last output:\n[^]*no-such-driver/);
  });
});
