// `warden stdio` as a Claude client runs it: its tools/list follows the configured principal's
// policy and a reload of it (announced with tools/list_changed), and a call's traceparent is in
// the audit `warden audit list --json` prints.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { CLI, warden } from '../support/cli.js';
import { recordPid, tempDir } from '../support/processes.js';

const TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('warden stdio', () => {
  it('lists what the policy lets its principal call, follows a reload, and records the traceparent', async () => {
    const dir = tempDir('warden-stdio-list');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, '{}\n');
    writeFileSync(join(dir, 'warden.yaml'), 'stdio: { principal: alice, role: operator, elicitApprovals: false }\n');
    const env = { WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_POLICY: policy, WARDEN_CONFIG: join(dir, 'warden.yaml') };
    const transport = new StdioClientTransport({
      command: process.execPath, args: [CLI, 'stdio'], stderr: 'pipe',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', WARDEN_LOG_LEVEL: 'warn', DOCKER_HOST: 'unix:///nonexistent.sock', ...env },
    });
    let stderr = '';
    (transport.stderr as Readable | null)?.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-5_000); });
    let changes = 0;
    const client = new Client({ name: 'warden-test', version: '1' }, { listChanged: { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => { changes += 1; } } } });
    await client.connect(transport);
    recordPid(transport.pid!);
    const names = async () => (await client.listTools()).tools.map((t) => t.name);
    try {
      expect(await names()).toContain('search_incidents');
      writeFileSync(policy, 'rules: [{ name: alice-no-search, principal: alice, tool: search_incidents, decision: deny }]\n');
      await vi.waitFor(() => expect(changes, stderr).toBe(1), { timeout: 15_000, interval: 50 });
      expect(await names()).not.toContain('search_incidents');
      expect(await names()).toContain('query_inventory');
      const r = await client.callTool({ name: 'search_incidents', arguments: { query: 'db' }, _meta: { traceparent: TRACE } });
      expect(r._meta?.['warden/failure']).toMatchObject({ kind: 'denied', rule: 'alice-no-search' });
    } finally {
      await client.close();
    }
    const listed = warden(['audit', 'list', '--json'], env);
    expect(listed.status, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(entries.filter((e) => e.tool === 'search_incidents')).toEqual([
      expect.objectContaining({ principal: 'alice', phase: 'denied', rule: 'alice-no-search', traceparent: TRACE }),
    ]);
    expect(warden(['audit', 'verify'], env).status).toBe(0);
  }, 60_000);
});
