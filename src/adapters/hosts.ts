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

/** Why a file named in the inventory cannot be read, in a few words, from the error's code. */
export function fileProblem(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'a directory, not a file';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  return typeof code === 'string' ? `cannot read (${code})` : 'cannot read';
}

/**
 * `hosts.web-1.ssh.keyPath: /root/.ssh/id_x: no such file`: the inventory field and the path, so
 * whoever reads it knows which entry to fix (a path names no secret; the file's content never appears).
 */
export function hostFileError(host: string, field: string, path: string, err: unknown): string {
  return `hosts.${host}.${field}: ${path}: ${fileProblem(err)}`;
}
