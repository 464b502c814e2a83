// The adapters a tool may use, injected through ToolContext. Hosts resolve to adapters here,
// so tools never see endpoints, keys or sockets; only host names.
import { InputError, ToolFailure } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './commands.js';
import { DockerodeAdapter, type DockerAdapter } from './docker.js';
import { dockerEndpointOptions } from './docker-endpoint.js';
import { localHostFiles, sftpHostFiles, type HostFiles } from './host-files.js';
import type { HostSpec } from './hosts.js';
import { localCommandRunner } from './local-commands.js';
import { localMetricsProbe, remoteMetricsProbe, type MetricsProbe } from './metrics.js';
import { SshPool, sshCommandRunner, sshDial, type Dial } from './ssh.js';
import { directDial } from './probes.js';
import type { BreakerBoard } from './breakers.js';
import { dockerBehindBreaker, dockerBreaker } from './breaker-wrap.js';

export interface Adapters {
  hosts(): string[];
  docker(host: string): DockerAdapter;
  /** Fixed programs on the host: local for "local" unless it has an SSH login, else over SSH. */
  commands(host: string): CommandRunner;
  metrics(host: string): MetricsProbe;
  /**
   * Single files on the host (locally for "local" unless it has an SSH login, else over SFTP), or,
   * with `container`, inside that container on the host's Docker (the container nginx runs in).
   */
  files(host: string, container?: string): HostFiles;
  /**
   * Connections as `host` makes them: for a host reached over SSH, through its sshd (a monitor
   * probing what listens on that host's loopback); for the local host, directly.
   */
  dial(host: string): Dial;
  /** Ends the SSH connections and the Docker list caches' event streams. */
  close(): Promise<void>;
}

/** Whether `spec` is the machine warden runs on, reached without SSH. */
const isLocal = (spec: HostSpec): boolean => spec.name === 'local' && !spec.ssh;

/** Runs `nvidia-smi` / `nginx` from the paths the inventory gives for this host, so tools can name programs plainly. */
function withProgramPaths(runner: CommandRunner, spec: HostSpec): CommandRunner {
  const paths: Record<string, string | undefined> = { 'nvidia-smi': spec.nvidiaSmiPath, nginx: spec.nginxPath };
  return {
    host: runner.host,
    ...(runner.remote ? { remote: true } : {}),
    run(argv, opts) {
      const path = argv[0] === undefined ? undefined : paths[argv[0]];
      return runner.run(path ? [path, ...argv.slice(1)] : argv, opts);
    },
  };
}

function memo<T>(make: (host: string) => T): (host: string) => T {
  const cache = new Map<string, T>();
  return (host) => {
    let v = cache.get(host);
    if (v === undefined) {
      v = make(host);
      cache.set(host, v);
    }
    return v;
  };
}

/** `breakers`: each Docker endpoint and SSH host behind its circuit breaker (the runtime's; tests may leave them out). */
export function createAdapters(hosts: HostSpec[], log: Logger, breakers?: BreakerBoard): Adapters {
  const byName = new Map<string, HostSpec>();
  for (const h of hosts) {
    if (byName.has(h.name)) throw new InputError(`host "${h.name}" is defined twice`);
    byName.set(h.name, h);
  }
  const pool = new SshPool(log, breakers);
  /** Each holds its list cache's event stream open. */
  const dockerodes: DockerodeAdapter[] = [];
  const spec = (host: string): HostSpec => {
    const found = byName.get(host);
    if (!found) throw new ToolFailure('invalid_input', `unknown host "${host}"; known hosts: ${[...byName.keys()].join(', ') || 'none'}`);
    return found;
  };
  const commands = memo((host): CommandRunner => {
    const s = spec(host);
    if (isLocal(s)) return withProgramPaths(localCommandRunner(host), s);
    if (!s.ssh) throw new ToolFailure('invalid_input', `host "${host}" has no SSH login in the inventory, so nothing can run there`);
    return withProgramPaths(sshCommandRunner(pool, host, s.ssh), s);
  });
  const docker = memo((host) => {
    const s = spec(host);
    if (!s.docker) throw new ToolFailure('invalid_input', `host "${host}" has no Docker endpoint in the inventory`);
    const adapter = new DockerodeAdapter(host, dockerEndpointOptions(host, s.docker, pool, s.ssh));
    dockerodes.push(adapter);
    return breakers ? dockerBehindBreaker(adapter, dockerBreaker(breakers, host)) : adapter;
  });
  const hostFiles = memo((host): HostFiles => {
    const s = spec(host);
    if (isLocal(s)) return localHostFiles(host);
    if (!s.ssh) throw new ToolFailure('invalid_input', `host "${host}" has no SSH login in the inventory, so its files cannot be reached`);
    return sftpHostFiles(pool, host, s.ssh);
  });
  return {
    hosts: () => [...byName.keys()],
    docker,
    commands,
    metrics: memo((host) => (isLocal(spec(host)) ? localMetricsProbe(host) : remoteMetricsProbe(commands(host)))),
    files: (host, container) => (container === undefined ? hostFiles(host) : docker(host).containerFiles(container)),
    dial: memo((host): Dial => {
      const s = spec(host);
      if (isLocal(s)) return directDial;
      if (!s.ssh) throw new ToolFailure('invalid_input', `host "${host}" has no SSH login in the inventory, so nothing can be probed from it`);
      return sshDial(pool, host, s.ssh);
    }),
    close: () => {
      for (const d of dockerodes) d.close();
      return pool.close();
    },
  };
}
