// A hand-written fake of our own Docker adapter interface (never a module mock): it records
// every call so a test can prove that a refused call touched nothing.
import type { Adapters } from '../../src/adapters/index.js';
import type { ContainerState, ContainerSummary, DockerAdapter } from '../../src/adapters/docker.js';
import { ToolFailure } from '../../src/errors.js';

export class FakeDocker implements DockerAdapter {
  readonly host = 'local';
  readonly calls: string[] = [];
  containers: ContainerSummary[] = [
    { id: 'aaa', name: 'web-1', image: 'nginx', state: 'running', status: 'Up 1 hour', exitCode: null, health: null, restartCount: 0, restartPolicy: 'no' },
    { id: 'bbb', name: 'db', image: 'postgres', state: 'exited', status: 'Exited (1) 2 minutes ago', exitCode: 1, health: null, restartCount: 2, restartPolicy: 'no' },
  ];

  async ping(): Promise<void> {
    this.calls.push('ping');
  }

  async listContainers(): Promise<ContainerSummary[]> {
    this.calls.push('list');
    return this.containers;
  }

  async containerState(ref: string): Promise<ContainerState> {
    this.calls.push(`state ${ref}`);
    const c = this.containers.find((x) => x.name === ref);
    if (!c) throw new ToolFailure('invalid_input', `no container "${ref}" on host local`);
    return { id: c.id, name: c.name, state: 'running', running: true, startedAt: '2026-11-23T00:00:00Z', finishedAt: '', exitCode: 0, oomKilled: false, health: null, restartCount: c.restartCount };
  }

  async restartContainer(ref: string): Promise<void> {
    this.calls.push(`restart ${ref}`);
  }
}

export function fakeAdapters(docker = new FakeDocker()): Adapters & { fake: FakeDocker } {
  return { fake: docker, hosts: () => ['local'], docker: () => docker };
}
