// How dockerode reaches a host's Docker: a URL (unix socket, or tcp with optional TLS client files),
// or the remote unix socket forwarded through the host's pooled SSH connection, so the far side
// needs only sshd and dockerd (no docker CLI, no TCP port opened).
import { readFileSync } from 'node:fs';
import { Agent, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { ToolFailure } from '../errors.js';
import { dockerOptions } from './docker.js';
import { hostFileError, type DockerEndpoint, type SshSpec } from './hosts.js';
import { asSocket, type SshPool } from './ssh.js';

/** An http.Agent whose every connection is a fresh channel to `socketPath` on the far side of SSH. */
export class SshSocketAgent extends Agent {
  constructor(private readonly pool: SshPool, private readonly host: string, private readonly ssh: SshSpec, private readonly socketPath: string) {
    super({ keepAlive: false });
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    this.forward().then(
      (stream) => callback?.(null, stream),
      (err: unknown) => callback?.(err as Error, undefined as unknown as Duplex),
    );
    return undefined;
  }

  private forward(): Promise<Duplex> {
    return this.pool.open(this.host, this.ssh, `forwarding to the Docker socket ${this.socketPath}`,
      async (conn) => asSocket(await conn.forwardOutStreamLocal(this.socketPath)));
  }
}

function readTlsFile(host: string, field: 'ca' | 'cert' | 'key', path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ToolFailure('unavailable', `Docker on host ${host}: cannot read a TLS client file ${hostFileError(host, `dockerTls.${field}`, path, err)}; check the inventory entry`, {}, err);
  }
}

/** dockerode options for one host's endpoint. */
export function dockerEndpointOptions(host: string, endpoint: DockerEndpoint, pool: SshPool, ssh: SshSpec | undefined): Docker.DockerOptions {
  if (endpoint.kind === 'ssh') {
    if (!ssh) throw new ToolFailure('invalid_input', `host ${host} has a Docker endpoint over SSH but no SSH login in the inventory`);
    // The hostname only fills the Host header; the agent decides where bytes go. Explicit TLS
    // fields stop docker-modem's DOCKER_* environment defaults from leaking in.
    return {
      host: 'docker.invalid', port: 80, protocol: 'http', ca: undefined, cert: undefined, key: undefined,
      agent: new SshSocketAgent(pool, host, ssh, endpoint.socketPath),
    } as Docker.DockerOptions;
  }
  const base = dockerOptions(endpoint.url);
  if (!endpoint.tls) return base;
  const url = new URL(endpoint.url);
  return {
    ...base,
    protocol: 'https',
    port: Number(url.port || 2376),
    ca: readTlsFile(host, 'ca', endpoint.tls.caPath),
    cert: readTlsFile(host, 'cert', endpoint.tls.certPath),
    key: readTlsFile(host, 'key', endpoint.tls.keyPath),
  };
}
