// Calling the container write tools on a real dockerd through warden's real MCP server and guard:
// a policy that lets them run (or only dry-runs them), and a snapshot of what the daemon holds.
import type { CallToolResult } from '@modelcontextprotocol/client';
import type Docker from 'dockerode';
import type { AuditEntry } from '../../src/store/audit.js';
import type { Dockerd } from './dockerd.js';
import { dockerFor } from './containers.js';
import { linkClient, testRuntime } from './warden.js';

export const WRITE_TOOL_NAMES = ['restart_container', 'start_container', 'stop_container', 'recreate_container', 'docker_prune'];

/** Every container write tool allowed outright: these tests are about what the tools do, not the gate. */
export const PERMISSIVE_POLICY = `rules:\n  - name: test-allows-container-writes\n    tool: [${WRITE_TOOL_NAMES.join(', ')}]\n    decision: allow\n`;
export const DRY_RUN_POLICY = `dryRun: true\n${PERMISSIVE_POLICY}`;

export interface ToolCall {
  result: CallToolResult;
  text: string;
  out: Record<string, unknown>;
  /** The audit entries of this runtime, read after the call. */
  audit: AuditEntry[];
}

/** One call in a fresh runtime (its own data dir and audit); the runtime is closed before returning. */
export async function callTool(dockerd: Dockerd, name: string, args: Record<string, unknown>, policy = PERMISSIVE_POLICY): Promise<ToolCall> {
  const rt = testRuntime({ dockerHost: dockerd.dockerHost, policy });
  const linked = await linkClient(rt);
  try {
    const result = (await linked.client.callTool({ name, arguments: args })) as CallToolResult;
    const text = (result.content[0] as { text: string }).text;
    return { result, text, out: (result.structuredContent ?? {}) as Record<string, unknown>, audit: rt.audit.list() };
  } finally {
    await linked.close();
    await rt.close();
  }
}

/** Each container by name: id, state and StartedAt; what a dry run must leave exactly as it was. */
export async function snapshot(dockerd: Dockerd): Promise<Record<string, string>> {
  const docker = dockerFor(dockerd);
  const list = await docker.listContainers({ all: true });
  const rows = await Promise.all(list.map(async (c) => {
    const i = await docker.getContainer(c.Id).inspect();
    return [i.Name.replace(/^\//, ''), `${i.Id} ${i.State.Status} ${i.State.StartedAt}`] as const;
  }));
  const images = await docker.listImages({ all: true });
  return { ...Object.fromEntries(rows), images: images.map((i) => i.Id).sort().join(' ') };
}

export async function inspectByName(dockerd: Dockerd, name: string): Promise<Docker.ContainerInspectInfo> {
  return dockerFor(dockerd).getContainer(name).inspect();
}

export async function containerNames(dockerd: Dockerd): Promise<string[]> {
  const list = await dockerFor(dockerd).listContainers({ all: true });
  return list.map((c) => (c.Names?.[0] ?? '').replace(/^\//, '')).sort();
}
