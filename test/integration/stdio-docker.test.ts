// warden stdio end to end, as Claude Desktop runs it: a real child process, the real SDK client
// over stdin/stdout, a real dockerd, a real SQLite file, and the real `warden approvals` command.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer, dockerFor, startedAt } from '../support/containers.js';
import { tempDir } from '../support/processes.js';
import { spawnWardenStdio, spawnWardenStdioV1 } from '../support/stdio-client.js';
import { warden } from '../support/cli.js';

let dockerd: Dockerd;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dockerd = await startDockerd();
  await createContainer(dockerd, 'web');
  await createContainer(dockerd, 'db');
  await createContainer(dockerd, 'batch', { cmd: ['sh', '-c', 'exit 1'] });
  const dir = tempDir('stdio');
  writeFileSync(join(dir, 'policy.yaml'), 'rules:\n  - name: db-needs-a-human\n    target: "*/db"\n    decision: approve\n');
  // Long enough for a CLI process to start and approve on a loaded machine, short enough to wait out.
  writeFileSync(join(dir, 'warden.yaml'), 'approvals:\n  ttlMinutes: 0.2\n');
  env = { DOCKER_HOST: dockerd.dockerHost, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_POLICY: join(dir, 'policy.yaml'), WARDEN_CONFIG: join(dir, 'warden.yaml') };
});

afterAll(async () => {
  await dockerd?.stop();
});

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;
const approvalIdOf = (r: unknown): string => ((r as CallToolResult)._meta?.['warden/failure'] as { approvalId: string }).approvalId;
const auditOf = () => JSON.parse(warden(['audit', 'list', '--json', '--limit', '1000'], env).stdout) as Array<Record<string, unknown>>;

describe('warden stdio on a real dockerd', () => {
  it('lists containers with their state and exit codes', async () => {
    const w = await spawnWardenStdio(env);
    try {
      const r = await w.client.callTool({ name: 'list_containers', arguments: {} });
      const rows = (r.structuredContent as { containers: Array<{ name: string; state: string; exitCode: number | null }> }).containers;
      expect(rows.map((c) => c.name)).toEqual(['batch', 'db', 'web']);
      expect(rows.find((c) => c.name === 'web')).toMatchObject({ state: 'running' });
      expect(rows.find((c) => c.name === 'batch')).toMatchObject({ state: 'exited', exitCode: 1 });
      expect(w.stderr()).toMatch(/warden stdio ready/);
    } finally {
      await w.close();
    }
  });

  it('restarts a container under a notify decision: StartedAt changes and the call is audited', async () => {
    const web = dockerFor(dockerd).getContainer('web');
    const before = await startedAt(web);
    const w = await spawnWardenStdio(env);
    try {
      const r = await w.client.callTool({ name: 'restart_container', arguments: { container: 'web', timeoutSeconds: 1 } });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ name: 'web', running: true });
      expect(await startedAt(web)).not.toBe(before);
    } finally {
      await w.close();
    }
    expect(auditOf().filter((e) => e.tool === 'restart_container').map((e) => [e.phase, e.decision, e.principal, e.transport])).toEqual([
      ['requested', 'notify', 'local', 'stdio'],
      ['completed', 'notify', 'local', 'stdio'],
    ]);
  });

  it('holds a restart for approval, runs it once after `warden approvals approve`, and refuses reuse, other arguments and expiry', async () => {
    const db = dockerFor(dockerd).getContainer('db');
    const before = await startedAt(db);
    const w = await spawnWardenStdio(env);
    try {
      const args = { container: 'db', timeoutSeconds: 1 };
      const held = await w.client.callTool({ name: 'restart_container', arguments: args });
      const id = approvalIdOf(held);
      expect(text(held)).toMatch(/\[approval_required\].*db-needs-a-human/);
      expect(await startedAt(db)).toBe(before);

      expect(warden(['approvals', 'approve', id, '--by', 'alice'], env).status).toBe(0);
      const other = await w.client.callTool({ name: 'restart_container', arguments: { ...args, timeoutSeconds: 2, approvalId: id } });
      expect(text(other)).toMatch(/other arguments/);
      const ran = await w.client.callTool({ name: 'restart_container', arguments: { ...args, approvalId: id } });
      expect(ran.isError).toBeFalsy();
      const after = await startedAt(db);
      expect(after).not.toBe(before);
      const reuse = await w.client.callTool({ name: 'restart_container', arguments: { ...args, approvalId: id } });
      expect(text(reuse)).toMatch(/already used/);
      expect(await startedAt(db)).toBe(after);

      const late = approvalIdOf(await w.client.callTool({ name: 'restart_container', arguments: args }));
      expect(warden(['approvals', 'approve', late, '--by', 'alice'], env).status).toBe(0);
      await new Promise((r) => setTimeout(r, 12_200));
      const expired = await w.client.callTool({ name: 'restart_container', arguments: { ...args, approvalId: late } });
      expect(text(expired)).toMatch(/expired/);
      expect(await startedAt(db)).toBe(after);
    } finally {
      await w.close();
    }
    expect(warden(['audit', 'verify'], env)).toMatchObject({ status: 0, stdout: expect.stringMatching(/^ok: \d+ entries/) });
  }, 90_000);

  it('serves a client of the v1 SDK line', async () => {
    const w = await spawnWardenStdioV1(env);
    try {
      const { tools } = await w.client.listTools();
      expect(tools.map((t) => t.name)).toContain('restart_container');
      const r = await w.client.callTool({ name: 'list_containers', arguments: { name: 'we' } });
      expect(r.structuredContent).toMatchObject({ containers: [{ name: 'web', state: 'running' }] });
    } finally {
      await w.close();
    }
  });
});

describe('a crash mid-call', () => {
  it('keeps the requested entry of a call whose process was SIGKILLed while the handler hung', async () => {
    // PID 1 in a container ignores SIGTERM, so a restart with a long grace period hangs in Docker.
    await createContainer(dockerd, 'stubborn');
    const w = await spawnWardenStdio(env);
    const call = w.client.callTool({ name: 'restart_container', arguments: { container: 'stubborn', timeoutSeconds: 300 } }).catch((e: unknown) => e);
    const deadline = Date.now() + 15_000;
    while (!auditOf().some((e) => e.target === 'local/stubborn' && e.phase === 'requested')) {
      if (Date.now() > deadline) throw new Error('the requested entry never appeared');
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(w.pid, 'SIGKILL');
    await call;
    await w.close().catch(() => undefined);
    const entries = auditOf().filter((e) => e.target === 'local/stubborn');
    expect(entries.map((e) => e.phase)).toEqual(['requested']);
    expect(warden(['audit', 'verify'], env).status).toBe(0);
  });
});
