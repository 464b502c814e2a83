// How to reach a host: its Docker endpoint and its SSH login. The inventory produces these; the
// adapters consume them. Secrets stay in files named here, never inline.

export interface SshSpec {
  address: string;
  port: number;
  user: string;
  /** Path of the private key file. */
  keyPath: string;
  /** Path of a known_hosts file; when absent the host key is not pinned (a warning is logged). */
  knownHostsPath?: string;
  connectTimeoutMs?: number;
}

export type DockerEndpoint =
  /** unix:///path or tcp://host:port, optionally with TLS client files. */
  | { kind: 'url'; url: string; tls?: { caPath: string; certPath: string; keyPath: string } }
  /** The Docker socket on the far side of the host's SSH login, forwarded over that connection. */
  | { kind: 'ssh'; socketPath: string };

export interface HostSpec {
  name: string;
  docker?: DockerEndpoint;
  ssh?: SshSpec;
  /** Absolute path of nvidia-smi on that host, where its PATH lacks it (default: found on PATH). */
  nvidiaSmiPath?: string;
  /** Absolute path of nginx on that host, where its PATH lacks it (default: found on PATH). */
  nginxPath?: string;
}

/** The machine warden runs on; its Docker endpoint is DOCKER_HOST or the default socket. */
export function localHost(dockerHost: string): HostSpec {
  return { name: 'local', docker: { kind: 'url', url: dockerHost } };
}
