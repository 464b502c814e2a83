// truncate_container_log on a real dockerd, through warden's real MCP server and guard: a container
// that logged megabytes gets its json-file log emptied in place while it keeps running, `docker logs`
// goes on working with only what came after, a container without a log file is refused with
// nothing run, the default policy holds the call for a human, and an ID prefix is audited as
// host/name. Every command the tool runs on the host is recorded.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdapters, type Adapters } from '../../src/adapters/index.js';
import { localHost } from '../../src/adapters/hosts.js';
import { silentLogger } from '../../src/log.js';
import { createContainer, dockerFor, waitUntil } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { linkClient, testRuntime } from '../support/warden.js';

let dockerd: Dockerd;

beforeAll(async () => {
  dockerd = await startDockerd();
});

afterEach(async () => {
  const docker = dockerFor(dockerd);
  const mine = await docker.listContainers({ all: true, filters: { name: ['^/tl-'] } });
  await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true })));
});

afterAll(async () => {
  await dockerd?.stop();
});

const ALLOW = 'rules:\n  - { name: test-allows-truncate, tool: truncate_container_log, decision: allow }\n';
const BULK_LINES = 20_000;
/** ~2 MB of output (100-character lines, more with json-file's framing), then one line per SIGUSR1, and sleep. */
const CHATTY = [
  'sh', '-c',
  `trap 'echo after-truncate' USR1; i=0; while [ $i -lt ${BULK_LINES} ]; do echo "bulk $i ${'x'.repeat(88)}"; i=$((i+1)); done; ` +
  'echo bulk-done; while true; do sleep 0.1; done',
];

/** A runtime whose host commands are recorded, with one linked client; closed by `close`. */
async function session(policy?: string) {
  const real: Adapters = createAdapters([localHost(dockerd.dockerHost)], silentLogger);
  const commands: string[][] = [];
  const adapters: Adapters = {
    ...real,
    commands(host) {
      const runner = real.commands(host);
      return { ...runner, run: (argv, opts) => { commands.push([...argv]); return runner.run(argv, opts); } };
    },
  };
  const rt = testRuntime({ dockerHost: dockerd.dockerHost, adapters, ...(policy === undefined ? {} : { policy }) });
  const linked = await linkClient(rt);
  const call = async (args: Record<string, unknown>) => {
    const r = (await linked.client.callTool({ name: 'truncate_container_log', arguments: args })) as CallToolResult;
    return {
      r, text: (r.content[0] as { text: string }).text,
      out: (r.structuredContent ?? {}) as Record<string, unknown>,
      failure: (r._meta?.['warden/failure'] ?? {}) as { kind?: string; approvalId?: string },
    };
  };
  return { rt, commands, call, close: async () => { await linked.close(); await rt.close(); await real.close(); } };
}

/** A running container that has written its bulk: its inspect, with LogPath holding well over 1 MB. */
async function chatty(name: string): Promise<{ c: Docker.Container; info: Docker.ContainerInspectInfo }> {
  const c = await createContainer(dockerd, name, { cmd: CHATTY });
  const info = await waitUntil(c, 'done with its bulk output', (i) => i.LogPath !== '' && existsSync(i.LogPath) && statSync(i.LogPath).size > 2_000_000 && readFileSync(i.LogPath, 'utf8').includes('"bulk-done\\n"'));
  return { c, info };
}


/** What `docker logs` returns, demultiplexed into lines (no TTY: 8-byte frame headers). */
async function dockerLogs(c: Docker.Container): Promise<string[]> {
  const buf = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  let text = '';
  for (let at = 0; at + 8 <= buf.length;) {
    const size = buf.readUInt32BE(at + 4);
    text += buf.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  return text.split('\n').filter((l) => l !== '');
}

describe('truncate_container_log', () => {
  it('empties the log file in place, reports the bytes freed, and docker logs shows only what came after', async () => {
    const { c, info } = await chatty('tl-chatty');
    expect((await dockerLogs(c)).length).toBe(BULK_LINES + 1);
    const s = await session(ALLOW);
    try {
      const { r, text, out } = await s.call({ container: 'tl-chatty' });
      expect(r.isError, text).toBeFalsy();
      expect(statSync(info.LogPath).size).toBe(0);
      expect(out).toEqual({ host: 'local', container: 'tl-chatty', logPath: info.LogPath, bytesFreed: expect.any(Number), note: expect.stringMatching(/^`docker logs` .* no longer show anything/) });
      expect(out.bytesFreed).toBeGreaterThan(1_000_000);
      expect(text).toMatch(/^local\/tl-chatty: emptied its Docker log, [\d.]+ MiB freed; its earlier history is gone \(see note\)$/);
      expect(s.commands).toEqual([['stat', '-c', '%F %s', '--', info.LogPath], ['truncate', '-s', '0', '--', info.LogPath]]);
    } finally {
      await s.close();
    }
    expect(await dockerLogs(c)).toEqual([]);
    await c.kill({ signal: 'SIGUSR1' });
    await waitUntil(c, 'logging after the truncate', () => statSync(info.LogPath).size > 0, 10_000);
    expect(await dockerLogs(c)).toEqual(['after-truncate']);
    expect((await c.inspect()).State.Running).toBe(true);
  });

  it('refuses a container with log driver none, naming the driver, and runs nothing on the host', async () => {
    await createContainer(dockerd, 'tl-silent', { hostConfig: { LogConfig: { Type: 'none', Config: {} } } });
    const s = await session(ALLOW);
    try {
      const { r, text, failure } = await s.call({ container: 'tl-silent' });
      expect(r.isError).toBe(true);
      expect(failure.kind).toBe('invalid_input');
      expect(text).toMatch(/^\[invalid_input\] HostConfig\.LogConfig\.Type: container tl-silent logs with the "none" driver, not json-file/);
      expect(s.commands).toEqual([]);
      expect(s.rt.audit.list().map((e) => [e.phase, e.target, e.errorKind])).toEqual([['requested', 'local/tl-silent', null], ['failed', 'local/tl-silent', 'invalid_input']]);
    } finally {
      await s.close();
    }
  });

  it('is held for approval by the default policy, and nothing is truncated until a human approves', async () => {
    const { info } = await chatty('tl-held');
    const size = statSync(info.LogPath).size;
    const s = await session();
    try {
      const held = await s.call({ container: 'tl-held' });
      expect(held.failure).toMatchObject({ kind: 'approval_required', approvalId: expect.stringMatching(/^apr_/) });
      expect(s.commands).toEqual([]);
      expect(statSync(info.LogPath).size).toBeGreaterThanOrEqual(size);
      expect(s.rt.audit.list()).toMatchObject([{ tool: 'truncate_container_log', phase: 'pending', decision: 'approve', risk: 'medium', target: 'local/tl-held' }]);

      s.rt.approvals.decide(held.failure.approvalId!, 'approved', 'alice', null);
      const done = await s.call({ container: 'tl-held', approvalId: held.failure.approvalId });
      expect(done.r.isError, done.text).toBeFalsy();
      expect(done.out.bytesFreed).toBeGreaterThan(1_000_000);
      expect(statSync(info.LogPath).size).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('resolves a call by ID prefix to host/name, in its output and its audit', async () => {
    const { info } = await chatty('tl-by-id');
    const s = await session(ALLOW);
    try {
      const { r, text, out } = await s.call({ container: info.Id.slice(0, 12) });
      expect(r.isError, text).toBeFalsy();
      expect(out).toMatchObject({ container: 'tl-by-id', logPath: info.LogPath });
      const entries = s.rt.audit.list();
      expect(entries.map((e) => [e.phase, e.target, e.targetId])).toEqual([['requested', 'local/tl-by-id', info.Id], ['completed', 'local/tl-by-id', info.Id]]);
      expect(JSON.parse(entries[0]!.args)).toMatchObject({ host: 'local', container: 'tl-by-id' });
      expect(statSync(info.LogPath).size).toBe(0);
    } finally {
      await s.close();
    }
  });
});
