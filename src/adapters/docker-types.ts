// The Docker adapter's interface and the plain shapes it returns; the dockerode implementation is
// in docker.ts. Tools depend on this interface only, so tests can hand them a fake.
import type { CommandResult, RunOptions } from './commands.js';
import type { Amendment, Blueprint } from './docker-blueprint.js';
import type { ContainerLogs, LogsOptions } from './docker-logs.js';
import type { ImageRow, PruneFilter, StoppedContainer } from './docker-prune.js';
import type { ContainerDetails } from './docker-view.js';

/** What recreate needs from inspect; `plan` is the create request, read only by the adapter that made it. */
export type ContainerBlueprint = Omit<Blueprint, 'plan'> & { readonly plan: unknown };

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: string;
  status: string;
  exitCode: number | null;
  health: string | null;
  restartCount: number;
  restartPolicy: string;
}

/** Who a container is, whatever it was called by: its full ID and its name. */
export interface ContainerIdentity {
  id: string;
  name: string;
}

export interface ContainerState {
  id: string;
  name: string;
  state: string;
  /** Docker says true while it is restarting too: `restarting` tells the two apart. */
  running: boolean;
  /** Docker's restart policy owns it now: it exited and Docker will start it again after a back-off. */
  restarting: boolean;
  restartPolicy: { name: string; maximumRetryCount: number };
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  oomKilled: boolean;
  health: string | null;
  /** Policy restarts since the last start through the API (a start or restart resets it to 0). */
  restartCount: number;
  /** Docker's error for the last start (exec: "x": executable file not found, ...), redacted; '' when none. */
  error: string;
  /** The container's labels (Config.Labels): `warden.maintenance=true` is an operator's "leave it down". */
  labels: Record<string, string>;
  /** Its health check's test (Config.Healthcheck.Test), e.g. ["CMD-SHELL", "..."]; null when it has none. Absent from fakes. */
  healthTest?: string[] | null;
}

/** One entry of Docker's event stream (GET /events), trimmed to what the loop reads. */
export interface DockerEvent {
  /** container, image, network, ... */
  type: string;
  /** die, oom, kill, start, `health_status: unhealthy`, ... */
  action: string;
  /** The object's id (a container's full id). */
  id: string;
  /** The container's name (Actor.Attributes.name), without the leading slash. */
  name: string;
  /** Actor.Attributes: image, name, exitCode, signal, and the container's labels. */
  attributes: Record<string, string>;
  /** Nanoseconds since the epoch (as a float: sub-microsecond precision is lost). */
  timeNano: number;
}

/** A container's resource limits as `docker update` sets them (HostConfig). */
export interface ContainerResources {
  /** Bytes; 0 = no limit. */
  memoryBytes: number;
  /** Bytes of memory plus swap; 0 = not set (Docker's default: twice the memory when memory is set), -1 = unlimited swap. */
  memorySwapBytes: number;
  /** CPUs in billionths (NanoCpus); 0 = no limit. */
  nanoCpus: number;
  /** Most processes in the container; null = no limit (Docker reports 0, -1 or null for that). */
  pidsLimit: number | null;
}

/** Docker's event filters, e.g. { type: ['container'], event: ['die', 'oom'] }. */
export type DockerEventFilters = Record<string, string[]>;

/** A read its caller may abandon: `signal` aborts the request to Docker (the console's previews time out). */
export interface ReadOptions {
  signal?: AbortSignal;
}

export interface DockerAdapter {
  readonly host: string;
  listContainers(opts: { all: boolean }): Promise<ContainerSummary[]>;
  /** Name, `/name`, unique ID prefix or full ID -> the container; an ambiguous prefix is invalid_input. */
  resolveContainer(ref: string, opts?: ReadOptions): Promise<ContainerIdentity>;
  containerState(ref: string): Promise<ContainerState>;
  restartContainer(ref: string, timeoutS: number): Promise<void>;
  /** A trimmed, redacted view: env names without values, last health probes, limits, mounts. */
  inspectContainer(ref: string, opts?: ReadOptions): Promise<ContainerDetails>;
  /** Demultiplexed, redacted lines, oldest first, read up to a byte cap. */
  containerLogs(ref: string, opts: LogsOptions): Promise<ContainerLogs>;
  ping(): Promise<void>;
  /**
   * Runs argv inside a running container (no shell), stdout and stderr capped at opts.maxOutputBytes
   * each (default 1 MiB). On timeout the call fails as unavailable, but the process runs on in the container.
   */
  exec(ref: string, argv: readonly string[], opts: RunOptions): Promise<CommandResult>;
  /** Starting a running container, or stopping a stopped one, is not an error. */
  startContainer(ref: string): Promise<void>;
  stopContainer(ref: string, timeoutS: number): Promise<void>;
  /** `docker kill --signal`: Docker records a kill event, which the loop reads as a requested stop. */
  killContainer(ref: string, signal: string): Promise<void>;
  /** Pausing a paused container, or unpausing a running one, is Docker's refusal (target_failed). */
  pauseContainer(ref: string): Promise<void>;
  unpauseContainer(ref: string): Promise<void>;
  blueprint(ref: string): Promise<ContainerBlueprint>;
  /** Creates (not starts) a container from a blueprint under `name`, amended when asked; returns its short id. */
  createFromBlueprint(bp: ContainerBlueprint, name: string, amend?: Amendment): Promise<string>;
  /** `docker update --restart`: an old container kept aside must not come back when dockerd restarts. */
  setRestartPolicy(ref: string, policy: { name: string; maximumRetryCount: number }): Promise<void>;
  /** The id of an image on the host, or undefined when the host does not have it (warden never pulls). */
  imageId(ref: string): Promise<string | undefined>;
  renameContainer(ref: string, name: string): Promise<void>;
  /** Never removes volumes; without force, Docker refuses a running container. */
  removeContainer(ref: string, opts: { force: boolean }): Promise<void>;
  /** Its resource limits, from inspect's HostConfig. */
  resources(ref: string, opts?: ReadOptions): Promise<ContainerResources>;
  /**
   * `docker update` of the fields given, the others untouched; pidsLimit null removes the limit.
   * memoryBytes 0 and nanoCpus 0 are invalid_input: Docker cannot remove those limits by an update.
   * Docker's own refusals (memory above the memory+swap already set, below its minimum) are
   * target_failed with Docker's words: the caller computes swap.
   */
  updateResources(ref: string, r: Partial<ContainerResources>): Promise<void>;
  /** Containers in state created, exited or dead, matching every label filter, with their writable-layer size. */
  stoppedContainers(filter: PruneFilter): Promise<StoppedContainer[]>;
  danglingImages(filter: PruneFilter): Promise<ImageRow[]>;
  /** That image alone (never its untagged parents); without force, so Docker refuses an image a container uses. */
  removeImage(id: string): Promise<void>;
  /**
   * Docker's event stream from now (or from `sinceUnixSeconds`) until `signal` aborts or the
   * connection ends; opening it fails as unavailable when Docker cannot be reached.
   */
  events(filters: DockerEventFilters, signal: AbortSignal, sinceUnixSeconds?: number): Promise<AsyncIterable<DockerEvent>>;
  /** Docker's events matching `filters` between two times: a finite read, as `docker events --since --until`. */
  pastEvents(filters: DockerEventFilters, sinceUnixSeconds: number, untilUnixSeconds: number, signal: AbortSignal): Promise<DockerEvent[]>;
}
