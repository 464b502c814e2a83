// The adapters a tool may use, injected through ToolContext. Hosts resolve to adapters here,
// so tools never see endpoints, keys or sockets.
import { ToolFailure } from '../errors.js';
import { DockerodeAdapter, type DockerAdapter } from './docker.js';

export interface Adapters {
  docker(host: string): DockerAdapter;
  hosts(): string[];
}

export interface HostEndpoints {
  /** host name -> Docker endpoint (unix://, tcp://) */
  docker: Record<string, string>;
}

export function createAdapters(endpoints: HostEndpoints): Adapters {
  const cache = new Map<string, DockerAdapter>();
  return {
    hosts: () => Object.keys(endpoints.docker),
    docker(host) {
      const cached = cache.get(host);
      if (cached) return cached;
      const endpoint = endpoints.docker[host];
      if (!endpoint) {
        throw new ToolFailure('invalid_input', `unknown host "${host}"; known hosts: ${Object.keys(endpoints.docker).join(', ')}`);
      }
      const adapter = new DockerodeAdapter(host, endpoint);
      cache.set(host, adapter);
      return adapter;
    },
  };
}
