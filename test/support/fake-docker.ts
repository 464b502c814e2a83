// A hand-written fake of our own Docker adapter interface (never a module mock): it records
// every call so a test can prove that a refused call touched nothing.
import type { Adapters } from '../../src/adapters/index.js';
import type {
  ContainerIdentity, ContainerResources,
  ContainerBlueprint, ContainerDetails, ContainerLogs, ContainerState, ContainerSummary, DockerAdapter, DockerEvent, DockerEventFilters, ImageRow,
  LogLine, LogsOptions, StoppedContainer,
} from '../../src/adapters/docker.js';
import type { CommandResult, RunOptions } from '../../src/adapters/commands.js';
import { ToolFailure } from '../../src/errors.js';
import { FakeFiles, FakeMetrics, FakeRunner } from './fake-host.js';
import { directDial } from '../../src/adapters/probes.js';

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

  /** Docker's order: full ID, then exact name, then a unique ID prefix. Not recorded: the gate asks, not the tool. */
  async resolveContainer(ref: string): Promise<ContainerIdentity> {
    const byPrefix = this.containers.filter((x) => x.id.startsWith(ref));
    const c = this.containers.find((x) => x.id === ref) ?? this.containers.find((x) => x.name === ref) ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
    if (byPrefix.length > 1 && !c) throw new ToolFailure('invalid_input', `"${ref}" is a prefix of more than one container ID on host local; give the name or a longer ID`);
    if (!c) throw new ToolFailure('invalid_input', `no container "${ref}" on host local; list_containers shows the valid names`);
    return { id: c.id, name: c.name };
  }

  async containerState(ref: string): Promise<ContainerState> {
    this.calls.push(`state ${ref}`);
    const c = this.containers.find((x) => x.name === ref);
    if (!c) throw new ToolFailure('invalid_input', `no container "${ref}" on host local`);
    return {
      id: c.id, name: c.name, state: 'running', running: true, restarting: false, restartPolicy: { name: c.restartPolicy, maximumRetryCount: 0 },
      startedAt: '2026-11-23T00:00:00Z', finishedAt: '', exitCode: 0, oomKilled: false, health: null, restartCount: c.restartCount, error: '', labels: {},
    };
  }

  /** Past events a test scripts (a stop by a person): none by default. */
  pastEventList: DockerEvent[] = [];

  async pastEvents(): Promise<DockerEvent[]> {
    return this.pastEventList;
  }

  async restartContainer(ref: string): Promise<void> {
    this.calls.push(`restart ${ref}`);
  }

  /** Lines containerLogs returns, as a real adapter would: already redacted. */
  logLines: LogLine[] = [{ stream: 'stdout', text: 'listening on :5432' }, { stream: 'stderr', text: 'FATAL: too many connections' }];

  async inspectContainer(ref: string): Promise<ContainerDetails> {
    this.calls.push(`inspect ${ref}`);
    const c = this.find(ref);
    const running = c.state === 'running';
    return {
      id: c.id, name: c.name, createdAt: '2026-11-22T00:00:00Z', image: c.image, imageId: `sha256:${c.id}`,
      status: c.state, running, restarting: false, oomKilled: false, exitCode: c.exitCode ?? 0, error: '',
      startedAt: '2026-11-23T00:00:00Z', finishedAt: running ? null : '2026-11-23T00:01:00Z',
      restartPolicy: { name: c.restartPolicy, maximumRetryCount: 0 }, restartCount: c.restartCount, health: null,
      entrypoint: [], command: [c.image], tty: false,
      limits: { memoryBytes: null, memoryReservationBytes: null, nanoCpus: null, cpuShares: null, cpuQuota: null, cpuPeriod: null, pidsLimit: null },
      labels: {}, mounts: [], networkMode: 'none', envNames: ['PATH'],
      logDriver: 'json-file', logPath: `/var/lib/docker/containers/${c.id}/${c.id}-json.log`,
    };
  }

  async containerLogs(ref: string, opts: LogsOptions): Promise<ContainerLogs> {
    this.calls.push(`logs ${ref}`);
    this.find(ref);
    const lines = this.logLines.filter((l) => (opts.stream ?? 'both') === 'both' || l.stream === opts.stream).slice(-opts.tail);
    return { tty: false, lines, bytesRead: lines.reduce((n, l) => n + l.text.length + 9, 0), readCapped: false };
  }

  /** What exec answers; set it (or replace the function) to script a program's result per argv. */
  execResult: (ref: string, argv: readonly string[]) => CommandResult = () => ({ exitCode: 0, stdout: '', stderr: '', truncated: false });

  async exec(ref: string, argv: readonly string[], _opts: RunOptions): Promise<CommandResult> {
    this.calls.push(`exec ${ref} ${argv.join(' ')}`);
    this.find(ref);
    return this.execResult(ref, argv);
  }

  async startContainer(ref: string): Promise<void> {
    this.calls.push(`start ${ref}`);
  }

  async stopContainer(ref: string): Promise<void> {
    this.calls.push(`stop ${ref}`);
  }

  async killContainer(ref: string, signal: string): Promise<void> {
    this.calls.push(`kill ${ref} ${signal}`);
  }

  async pauseContainer(ref: string): Promise<void> {
    this.calls.push(`pause ${ref}`);
  }

  async unpauseContainer(ref: string): Promise<void> {
    this.calls.push(`unpause ${ref}`);
  }

  async blueprint(ref: string): Promise<ContainerBlueprint> {
    this.calls.push(`blueprint ${ref}`);
    const c = this.find(ref);
    return { id: c.id, name: c.name, imageName: c.image, image: c.image, imageId: `sha256:${c.id}`, running: c.state === 'running', autoRemove: false, carried: ['Cmd (1)'], plan: {} };
  }

  async createFromBlueprint(bp: ContainerBlueprint, name: string): Promise<string> {
    this.calls.push(`create ${name} from ${bp.id}`);
    return `new-${bp.id}`;
  }

  async setRestartPolicy(ref: string, policy: { name: string }): Promise<void> {
    this.calls.push(`restart-policy ${ref} ${policy.name}`);
  }

  async imageId(ref: string): Promise<string | undefined> {
    return this.containers.some((c) => c.image === ref) ? `sha256:${ref}` : undefined;
  }

  async renameContainer(ref: string, name: string): Promise<void> {
    this.calls.push(`rename ${ref} ${name}`);
  }

  async removeContainer(ref: string): Promise<void> {
    this.calls.push(`remove ${ref}`);
  }

  /** Limits per container name; a container not listed has none. */
  resourceLimits: Record<string, ContainerResources> = {};

  async resources(ref: string): Promise<ContainerResources> {
    this.calls.push(`resources ${ref}`);
    const c = this.find(ref);
    return { ...(this.resourceLimits[c.name] ?? { memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 0, pidsLimit: null }) };
  }

  /** Merges the given fields; refuses, as Docker does, memory above a memory+swap limit already set and not raised with it. */
  async updateResources(ref: string, r: Partial<ContainerResources>): Promise<void> {
    this.calls.push(`update ${ref} ${JSON.stringify(r)}`);
    const c = this.find(ref);
    const now = await this.resources(c.name);
    this.calls.pop();
    const swap = r.memorySwapBytes ?? now.memorySwapBytes;
    if (r.memoryBytes !== undefined && swap > 0 && r.memoryBytes > swap) {
      throw new ToolFailure('target_failed', 'Docker on host local refused update resources: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    this.resourceLimits[c.name] = { ...now, ...r, pidsLimit: r.pidsLimit === undefined ? now.pidsLimit : r.pidsLimit || null };
  }

  async stoppedContainers(): Promise<StoppedContainer[]> {
    this.calls.push('list stopped');
    return [];
  }

  async danglingImages(): Promise<ImageRow[]> {
    this.calls.push('list dangling');
    return [];
  }

  async removeImage(id: string): Promise<void> {
    this.calls.push(`remove image ${id}`);
  }

  /** Every events() request: its filters and since. */
  readonly eventRequests: Array<{ filters: DockerEventFilters; since?: number }> = [];
  /** The next this many events() requests fail as unavailable. */
  eventFailures = 0;
  private feed?: { queue: DockerEvent[]; ended: boolean; wake?: () => void };
  private readonly pendingEvents: DockerEvent[] = [];

  async events(filters: DockerEventFilters, signal: AbortSignal, since?: number): Promise<AsyncIterable<DockerEvent>> {
    this.calls.push('events');
    this.eventRequests.push({ filters, ...(since !== undefined ? { since } : {}) });
    if (this.eventFailures > 0) {
      this.eventFailures -= 1;
      throw new ToolFailure('unavailable', 'Docker on host local is unreachable (ECONNREFUSED) during watch events; retry later');
    }
    const feed: { queue: DockerEvent[]; ended: boolean; wake?: () => void } = { queue: this.pendingEvents.splice(0), ended: false };
    this.feed = feed;
    return (async function* () {
      while (!signal.aborted) {
        const next = feed.queue.shift();
        if (next) yield next;
        else if (feed.ended) return;
        else await new Promise<void>((resolve) => { feed.wake = resolve; signal.addEventListener('abort', () => resolve(), { once: true }); });
      }
    })();
  }

  /** Delivers an event on the open stream (or the next one to open). */
  emitEvent(event: DockerEvent): void {
    if (this.feed && !this.feed.ended) {
      this.feed.queue.push(event);
      this.feed.wake?.();
    } else this.pendingEvents.push(event);
  }

  /** Ends the open event stream, as a restarting dockerd would. */
  endEventStream(): void {
    if (!this.feed) return;
    this.feed.ended = true;
    this.feed.wake?.();
    this.feed = undefined;
  }

  private find(ref: string): ContainerSummary {
    const c = this.containers.find((x) => x.name === ref || x.id === ref);
    if (!c) throw new ToolFailure('invalid_input', `no container "${ref}" on host local; list_containers shows the valid names`);
    return c;
  }
}

export interface FakeAdapters extends Adapters {
  fake: FakeDocker;
  runner: FakeRunner;
  probe: FakeMetrics;
  /** The host's files, and each container's (created on first use, kept for the test to inspect). */
  hostFiles: FakeFiles;
  containerFiles(container: string): FakeFiles;
}

export function fakeAdapters(docker = new FakeDocker()): FakeAdapters {
  const runner = new FakeRunner();
  const probe = new FakeMetrics();
  const hostFiles = new FakeFiles();
  const inContainers = new Map<string, FakeFiles>();
  const containerFiles = (container: string): FakeFiles => {
    let f = inContainers.get(container);
    if (!f) {
      f = new FakeFiles('local', `in container ${container} on host local`);
      inContainers.set(container, f);
    }
    return f;
  };
  return {
    fake: docker, runner, probe, hostFiles, containerFiles,
    hosts: () => ['local'], docker: () => docker, commands: () => runner, metrics: () => probe,
    files: (_host, container) => (container === undefined ? hostFiles : containerFiles(container)),
    dial: () => directDial,
    close: async () => undefined,
  };
}
