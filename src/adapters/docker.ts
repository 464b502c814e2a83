// The Docker boundary: dockerode behind a small interface; Docker's errors become ToolFailure kinds
// in docker-failure.ts. Nothing outside src/adapters imports dockerode.
import { loadOnUse } from '../shared/load-on-use.js';
import type Docker from 'dockerode';
import { ToolFailure, errorMessage } from '../errors.js';
import { redactText } from '../shared/redact.js';
import { DockerRequests, dockerFailure } from './docker-failure.js';
import type { CommandResult, RunOptions } from './commands.js';
import { ContainerListCache, type CacheTimings, type InspectExtras } from './container-list-cache.js';
import { containerFiles } from './docker-archive.js';
import { amendPlan, blueprintOf, type Amendment, type CreatePlan } from './docker-blueprint.js';
import { readEventStream } from './docker-event-stream.js';
import { parseExitCode, parseHealth } from './docker-status.js';
import { runExec } from './docker-exec.js';
import { DEFAULT_MAX_READ_BYTES, readLogStream, type ContainerLogs, type LogsOptions } from './docker-logs.js';
import { toContainerDetails, type ContainerDetails } from './docker-view.js';
import { listDanglingImages, listStoppedContainers, type ImageRow, type PruneFilter, type StoppedContainer } from './docker-prune.js';
import type {
  ContainerBlueprint, ContainerIdentity, ContainerResources, ContainerState, ContainerSummary, DockerAdapter, DockerEvent, DockerEventFilters, ReadOptions,
} from './docker-types.js';
import type { HostFiles } from './host-files.js';
import { bareName } from '../shared/containers.js';

export { dockerFailure, dockerUnreachable } from './docker-failure.js';
export type { ContainerDetails } from './docker-view.js';
export type { ContainerLogs, LogLine, LogsOptions, LogStream, StreamChoice } from './docker-logs.js';
export type { ImageRow, PruneFilter, StoppedContainer } from './docker-prune.js';
export type {
  ContainerBlueprint, ContainerIdentity, ContainerResources, ContainerState, ContainerSummary, DockerAdapter, DockerEvent, DockerEventFilters,
} from './docker-types.js';

/**
 * dockerode, loaded with the first adapter rather than with this module: it pulls in some 300 files
 * (docker-modem, ssh2, gRPC), which `warden stdio` would otherwise load before its first tools/list.
 */
const loadDockerode = (): typeof Docker => loadOnUse<typeof Docker>('dockerode');

/** unix:///path, tcp://host:port (https when a TLS cert dir is given) */
export function dockerOptions(endpoint: string): Docker.DockerOptions {
  const url = new URL(endpoint);
  // docker-modem merges DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_CLIENT_TIMEOUT and DOCKER_PATH_PREFIX from the
  // environment under what we pass: every field they fill is named here, so the endpoint is only ours.
  const unset = { ca: undefined, cert: undefined, key: undefined, timeout: undefined, username: undefined, pathPrefix: undefined };
  if (url.protocol === 'unix:') return { ...unset, socketPath: url.pathname, host: undefined, port: undefined, protocol: undefined } as Docker.DockerOptions;
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    return { ...unset, host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' } as Docker.DockerOptions;
  }
  throw new ToolFailure('invalid_input', `unsupported Docker endpoint scheme ${url.protocol}`);
}

/** The inspect fields a list row shows. */
function extrasOf(d: Docker.ContainerInspectInfo): InspectExtras {
  return {
    state: d.State.Status,
    running: d.State.Running,
    exitCode: d.State.ExitCode,
    health: d.State.Health?.Status,
    restartCount: d.RestartCount,
    restartPolicy: d.HostConfig.RestartPolicy?.Name || 'no',
  };
}

export class DockerodeAdapter implements DockerAdapter {
  private readonly docker: Docker;
  /** Only listContainers reads it; see container-list-cache.ts. */
  private readonly listCache: ContainerListCache;

  constructor(readonly host: string, endpoint: string | Docker.DockerOptions, cacheTimings?: Partial<CacheTimings>) {
    const Dockerode = loadDockerode();
    this.docker = new Dockerode(typeof endpoint === 'string' ? dockerOptions(endpoint) : endpoint);
    this.listCache = new ContainerListCache({
      events: (signal, since) => this.eventStream('watch container events', { type: ['container'] }, signal, since, undefined, true),
      inspect: async (id) => extrasOf(await this.docker.getContainer(id).inspect()),
    }, cacheTimings);
  }

  /** Ends the list cache's event stream (not on the DockerAdapter interface: only the composition root closes). */
  close(): void {
    this.listCache.close();
  }

  async ping(): Promise<void> {
    await this.step('ping', undefined, () => this.docker.ping());
  }

  async resolveContainer(ref: string, opts: ReadOptions = {}): Promise<ContainerIdentity> {
    let d: Docker.ContainerInspectInfo;
    try {
      d = await this.docker.getContainer(ref).inspect(abortable(opts));
    } catch (err) {
      // Docker refuses a prefix of several IDs with "multiple IDs found with provided prefix".
      if (/multiple/i.test((err as { json?: { message?: string } }).json?.message ?? errorMessage(err))) {
        throw new ToolFailure('invalid_input', `"${ref}" is a prefix of more than one container ID on host ${this.host}; give the name or a longer ID`, {}, err);
      }
      throw dockerFailure(err, this.host, 'inspect', ref, true);
    }
    return { id: d.Id, name: bareName(d.Name) };
  }

  async listContainers(opts: { all: boolean }): Promise<ContainerSummary[]> {
    let list: Docker.ContainerInfo[];
    // Docker writes each row's Status ("Up 2 minutes") after this: the cache dates runs from it.
    const askedAt = performance.now();
    try {
      list = await this.docker.listContainers({ all: opts.all });
    } catch (err) {
      throw dockerFailure(err, this.host, 'list containers', undefined, true);
    }
    // The list endpoint lacks restart counts and policies, needed so nobody fights Docker's own
    // restarts: inspected once per container, then kept current by Docker's events.
    const extras = await this.listCache.extras(list.map((c) => ({ id: c.Id, state: c.State, status: c.Status })), opts.all, askedAt);
    return list.map((c, i) => {
      const d = extras[i];
      return {
        id: c.Id.slice(0, 12),
        name: bareName(c.Names?.[0]),
        image: c.Image,
        state: c.State,
        status: c.Status,
        exitCode: d && !d.running ? d.exitCode : parseExitCode(c.Status),
        health: d?.health ?? parseHealth(c.Status),
        restartCount: d?.restartCount ?? 0,
        restartPolicy: d?.restartPolicy ?? 'no',
      };
    });
  }

  async containerState(ref: string): Promise<ContainerState> {
    const d = await this.step('inspect', ref, () => this.docker.getContainer(ref).inspect());
    return {
      id: d.Id.slice(0, 12),
      name: bareName(d.Name),
      state: d.State.Status,
      running: d.State.Running,
      restarting: d.State.Restarting ?? false,
      restartPolicy: { name: d.HostConfig?.RestartPolicy?.Name || 'no', maximumRetryCount: d.HostConfig?.RestartPolicy?.MaximumRetryCount ?? 0 },
      startedAt: d.State.StartedAt,
      finishedAt: d.State.FinishedAt,
      exitCode: d.State.ExitCode,
      oomKilled: d.State.OOMKilled,
      health: d.State.Health?.Status ?? null,
      restartCount: d.RestartCount,
      error: redactText(d.State.Error ?? '').slice(0, 300),
      labels: d.Config?.Labels ?? {},
      healthTest: d.Config?.Healthcheck?.Test ?? null,
    };
  }

  async inspectContainer(ref: string, opts: ReadOptions = {}): Promise<ContainerDetails> {
    return toContainerDetails(await this.step('inspect', ref, () => this.docker.getContainer(ref).inspect(abortable(opts))));
  }

  async containerLogs(ref: string, opts: LogsOptions): Promise<ContainerLogs> {
    const requests = new DockerRequests(this.host, ref);
    // Inspect first: it turns an unknown name into invalid_input, and says whether the log is multiplexed.
    const d = await requests.send('inspect', () => this.docker.getContainer(ref).inspect());
    const fail = requests.begin('read logs');
    try {
      const stream = opts.stream ?? 'both';
      const response = await this.dialStream({
        // The id, not the name: a rename between the two requests cannot switch containers.
        path: `/containers/${d.Id}/logs?`,
        method: 'GET',
        isStream: true,
        abortSignal: opts.signal,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options: {
          stdout: stream !== 'stderr',
          stderr: stream !== 'stdout',
          tail: String(opts.tail),
          timestamps: opts.timestamps,
          ...(opts.sinceUnixSeconds !== undefined ? { since: dockerTime(opts.sinceUnixSeconds) } : {}),
        },
      });
      const read = await readLogStream(response, d.Config.Tty, opts.maxReadBytes ?? DEFAULT_MAX_READ_BYTES);
      return { tty: d.Config.Tty, ...read };
    } catch (err) {
      throw fail(err);
    }
  }

  /** dockerode's logs() buffers the whole response; the raw stream lets us stop at a byte cap. */
  private dialStream(opts: Parameters<Docker['modem']['dial']>[0]): Promise<AsyncIterable<Buffer>> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(opts, (err, stream) => (err ? reject(err) : resolve(stream as AsyncIterable<Buffer>)));
    });
  }

  async restartContainer(ref: string, timeoutS: number): Promise<void> {
    await this.step('restart', ref, () => this.docker.getContainer(ref).restart({ t: timeoutS }));
  }

  exec(ref: string, argv: readonly string[], opts: RunOptions): Promise<CommandResult> {
    return runExec({ docker: this.docker, host: this.host, ref, requests: new DockerRequests(this.host, ref) }, argv, opts);
  }

  async startContainer(ref: string): Promise<void> {
    await this.step('start', ref, () => this.docker.getContainer(ref).start().catch(ignoreNotModified));
  }

  async stopContainer(ref: string, timeoutS: number): Promise<void> {
    await this.step('stop', ref, () => this.docker.getContainer(ref).stop({ t: timeoutS }).catch(ignoreNotModified));
  }

  async killContainer(ref: string, signal: string): Promise<void> {
    await this.step('kill', ref, () => this.docker.getContainer(ref).kill({ signal }));
  }

  async pauseContainer(ref: string): Promise<void> {
    await this.step('pause', ref, () => this.docker.getContainer(ref).pause());
  }

  async unpauseContainer(ref: string): Promise<void> {
    await this.step('unpause', ref, () => this.docker.getContainer(ref).unpause());
  }

  async blueprint(ref: string): Promise<ContainerBlueprint> {
    const d = await this.step('inspect', ref, () => this.docker.getContainer(ref).inspect());
    // The same image, not whatever its name points at now: a recreate must never upgrade in passing.
    const named = await this.docker.getImage(d.Config.Image).inspect().catch(() => undefined);
    return blueprintOf(d, named?.Id === d.Image ? d.Config.Image : d.Image);
  }

  async imageId(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw dockerFailure(err, this.host, `inspect image ${ref}`, undefined, true);
    }
  }

  async createFromBlueprint(bp: ContainerBlueprint, name: string, amend?: Amendment): Promise<string> {
    // Only a failure of the first request may say nothing happened: a create that reached Docker
    // made a container even when the connect after it fails.
    const requests = new DockerRequests(this.host);
    const oldImage = amend?.image
      ? (await requests.send('inspect image', () => this.docker.getImage(bp.imageId).inspect())).Config as unknown as Record<string, unknown>
      : undefined;
    const plan = amend ? amendPlan(bp.plan as CreatePlan, amend, oldImage) : (bp.plan as CreatePlan);
    const created = await requests.send('create', () => this.docker.createContainer({ ...plan.options, name }));
    for (const n of plan.extraNetworks) {
      const fail = requests.begin(`connect network ${n.name}`);
      try {
        await this.docker.getNetwork(n.name).connect({ Container: created.id, EndpointConfig: n.endpoint });
      } catch (err) {
        // Half-built: remove it so the caller's rollback finds the name free.
        await created.remove({ force: true }).catch(() => undefined);
        throw fail(err);
      }
    }
    return created.id.slice(0, 12);
  }

  async renameContainer(ref: string, name: string): Promise<void> {
    await this.step('rename', ref, () => this.docker.getContainer(ref).rename({ name }));
  }

  async removeContainer(ref: string, opts: { force: boolean }): Promise<void> {
    await this.step('remove', ref, () => this.docker.getContainer(ref).remove({ force: opts.force, v: false }));
  }

  async resources(ref: string, opts: ReadOptions = {}): Promise<ContainerResources> {
    const d = await this.step('inspect', ref, () => this.docker.getContainer(ref).inspect(abortable(opts)));
    return resourcesOf(d.HostConfig);
  }

  async updateResources(ref: string, r: Partial<ContainerResources>): Promise<void> {
    const body = updateBody(r, this.host, ref);
    if (Object.keys(body).length === 0) return;
    await this.step('update resources', ref, () => this.docker.getContainer(ref).update(body));
  }

  async setRestartPolicy(ref: string, policy: { name: string; maximumRetryCount: number }): Promise<void> {
    await this.step('update restart policy', ref, () => this.docker.getContainer(ref).update({ RestartPolicy: { Name: policy.name, MaximumRetryCount: policy.maximumRetryCount } }));
  }

  /** Files inside the container `ref`, through Docker's archive API (not on the DockerAdapter interface: only the composition root asks). */
  containerFiles(ref: string): HostFiles {
    return containerFiles({ docker: this.docker, host: this.host, ref, requests: () => new DockerRequests(this.host, ref) });
  }

  stoppedContainers(filter: PruneFilter): Promise<StoppedContainer[]> {
    return this.step('list stopped containers', undefined, () => listStoppedContainers(this.docker, filter));
  }

  danglingImages(filter: PruneFilter): Promise<ImageRow[]> {
    return this.step('list dangling images', undefined, () => listDanglingImages(this.docker, filter));
  }

  async removeImage(id: string): Promise<void> {
    // noprune: an untagged parent image goes only when it is itself listed and reported.
    await this.step(`remove image ${id}`, undefined, () => this.docker.getImage(id).remove({ force: false, noprune: true }));
  }

  events(filters: DockerEventFilters, signal: AbortSignal, sinceUnixSeconds?: number): Promise<AsyncIterable<DockerEvent>> {
    return this.eventStream('watch events', filters, signal, sinceUnixSeconds);
  }

  async pastEvents(filters: DockerEventFilters, sinceUnixSeconds: number, untilUnixSeconds: number, signal: AbortSignal): Promise<DockerEvent[]> {
    const out: DockerEvent[] = [];
    // With `until`, Docker sends what it has and closes the stream.
    for await (const ev of await this.eventStream('read past events', filters, signal, sinceUnixSeconds, untilUnixSeconds)) out.push(ev);
    return out;
  }

  /** `background`: a stream nobody waits on (the list cache's), which must not keep the process alive. */
  private async eventStream(step: string, filters: DockerEventFilters, signal: AbortSignal, since?: number, until?: number, background = false): Promise<AsyncIterable<DockerEvent>> {
    const stream = await this.step(step, undefined, () => this.dialStream({
      path: '/events?',
      method: 'GET',
      isStream: true,
      abortSignal: signal,
      statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
      options: { filters, ...(since !== undefined ? { since: dockerTime(since) } : {}), ...(until !== undefined ? { until: dockerTime(until) } : {}) },
    }));
    if (background) (stream as { socket?: { unref?: () => void } }).socket?.unref?.();
    return readEventStream(stream);
  }

  /**
   * A method's one Docker request, its failure translated once; `ref` makes a 404 read as "no such
   * container". A method sending more than one request uses one DockerRequests for all of them instead.
   */
  private step<T>(step: string, ref: string | undefined, fn: () => Promise<T>): Promise<T> {
    return new DockerRequests(this.host, ref).send(step, fn);
  }
}

/** dockerode's inspect options: no key when there is no signal, as an undefined one would reach the query string. */
function abortable(opts: ReadOptions): Docker.ContainerInspectOptions {
  return opts.signal ? { abortSignal: opts.signal } : {};
}

/** Docker answers 304 to starting a running container or stopping a stopped one: already done. */
function ignoreNotModified(err: unknown): void {
  if ((err as { statusCode?: number }).statusCode !== 304) throw err;
}

function resourcesOf(hc: Docker.HostConfig | undefined): ContainerResources {
  const pids = hc?.PidsLimit;
  return {
    memoryBytes: hc?.Memory ?? 0,
    memorySwapBytes: hc?.MemorySwap ?? 0,
    nanoCpus: hc?.NanoCpus ?? 0,
    pidsLimit: pids === undefined || pids === null || pids <= 0 ? null : pids,
  };
}

/**
 * The update request: only the fields given. Docker reads Memory 0 and NanoCpus 0 as "unchanged" and
 * refuses Memory -1, so neither limit can be removed by an update: refused here rather than reported
 * done. PidsLimit 0 and -1 both remove that limit.
 */
function updateBody(r: Partial<ContainerResources>, host: string, ref: string): Record<string, number> {
  const cannotRemove = (what: string): ToolFailure =>
    new ToolFailure('invalid_input', `docker update cannot remove the ${what} limit of container ${ref} on host ${host}; give a new, larger limit instead`);
  if (r.memoryBytes === 0) throw cannotRemove('memory');
  if (r.nanoCpus === 0) throw cannotRemove('CPU');
  const body: Record<string, number> = {};
  if (r.memoryBytes !== undefined) body.Memory = r.memoryBytes;
  if (r.memorySwapBytes !== undefined) body.MemorySwap = r.memorySwapBytes;
  if (r.nanoCpus !== undefined) body.NanoCpus = r.nanoCpus;
  if (r.pidsLimit !== undefined) body.PidsLimit = r.pidsLimit === null || r.pidsLimit <= 0 ? -1 : r.pidsLimit;
  return body;
}

/** Docker's since parameter: seconds.nanoseconds, as the docker CLI sends it. */
export function dockerTime(unixSeconds: number): string {
  const whole = Math.floor(unixSeconds);
  const nanos = Math.round((unixSeconds - whole) * 1e9);
  return `${whole}.${String(Math.min(nanos, 999_999_999)).padStart(9, '0')}`;
}
