// The Docker boundary: dockerode behind a small interface, and the one place Docker's errors
// become ToolFailure kinds. Nothing outside src/adapters imports dockerode.
import Docker from 'dockerode';
import { ToolFailure, errorMessage } from '../errors.js';
import { redactText } from '../policy/redact.js';

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

export interface ContainerState {
  id: string;
  name: string;
  state: string;
  running: boolean;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  oomKilled: boolean;
  health: string | null;
  restartCount: number;
}

export interface DockerAdapter {
  readonly host: string;
  listContainers(opts: { all: boolean }): Promise<ContainerSummary[]>;
  containerState(ref: string): Promise<ContainerState>;
  restartContainer(ref: string, timeoutS: number): Promise<void>;
  ping(): Promise<void>;
}

/** unix:///path, tcp://host:port (https when a TLS cert dir is given) */
export function dockerOptions(endpoint: string): Docker.DockerOptions {
  const url = new URL(endpoint);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    return { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' };
  }
  throw new ToolFailure('invalid_input', `unsupported Docker endpoint scheme ${url.protocol}`);
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'EPIPE']);

/** Translates a dockerode error into a kind the model can act on; the raw error is kept as cause. */
export function dockerFailure(err: unknown, host: string, step: string, ref?: string): ToolFailure {
  if (err instanceof ToolFailure) return err;
  const e = err as { statusCode?: number; code?: string; json?: { message?: string } };
  const said = redactText(e.json?.message ?? errorMessage(err)).slice(0, 300);
  if (e.statusCode === 404 && ref) {
    return new ToolFailure('invalid_input', `no container "${ref}" on host ${host}; list_containers shows the valid names`, {}, err);
  }
  if (e.code && UNREACHABLE.has(e.code)) {
    return new ToolFailure('unavailable', `Docker on host ${host} is unreachable (${e.code}) during ${step}; retry later`, {}, err);
  }
  if (e.statusCode !== undefined) {
    return new ToolFailure('target_failed', `Docker on host ${host} refused ${step}: ${said}`, {}, err);
  }
  return new ToolFailure('unavailable', `Docker on host ${host} failed during ${step}: ${said}`, {}, err);
}

function parseExitCode(status: string): number | null {
  const m = /^Exited \((-?\d+)\)/.exec(status);
  return m ? Number(m[1]) : null;
}

function parseHealth(status: string): string | null {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  if (!m) return null;
  return m[1] === 'health: starting' ? 'starting' : m[1]!;
}

const trimName = (n: string | undefined): string => (n ?? '').replace(/^\//, '');

export class DockerodeAdapter implements DockerAdapter {
  private readonly docker: Docker;

  constructor(readonly host: string, endpoint: string | Docker.DockerOptions) {
    this.docker = new Docker(typeof endpoint === 'string' ? dockerOptions(endpoint) : endpoint);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw dockerFailure(err, this.host, 'ping');
    }
  }

  async listContainers(opts: { all: boolean }): Promise<ContainerSummary[]> {
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ all: opts.all });
    } catch (err) {
      throw dockerFailure(err, this.host, 'list containers');
    }
    // The list endpoint lacks restart counts and policies; fetch them so nobody fights Docker's own restarts.
    const details = await mapLimit(list, 8, (c) => this.docker.getContainer(c.Id).inspect().catch(() => undefined));
    return list.map((c, i) => {
      const d = details[i];
      return {
        id: c.Id.slice(0, 12),
        name: trimName(c.Names?.[0]),
        image: c.Image,
        state: c.State,
        status: c.Status,
        exitCode: d && !d.State.Running ? d.State.ExitCode : parseExitCode(c.Status),
        health: d?.State.Health?.Status ?? parseHealth(c.Status),
        restartCount: d?.RestartCount ?? 0,
        restartPolicy: d?.HostConfig.RestartPolicy?.Name || 'no',
      };
    });
  }

  async containerState(ref: string): Promise<ContainerState> {
    try {
      const d = await this.docker.getContainer(ref).inspect();
      return {
        id: d.Id.slice(0, 12),
        name: trimName(d.Name),
        state: d.State.Status,
        running: d.State.Running,
        startedAt: d.State.StartedAt,
        finishedAt: d.State.FinishedAt,
        exitCode: d.State.ExitCode,
        oomKilled: d.State.OOMKilled,
        health: d.State.Health?.Status ?? null,
        restartCount: d.RestartCount,
      };
    } catch (err) {
      throw dockerFailure(err, this.host, 'inspect', ref);
    }
  }

  async restartContainer(ref: string, timeoutS: number): Promise<void> {
    try {
      await this.docker.getContainer(ref).restart({ t: timeoutS });
    } catch (err) {
      throw dockerFailure(err, this.host, 'restart', ref);
    }
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
