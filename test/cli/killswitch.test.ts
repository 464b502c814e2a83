// The kill switch and the policy are live in running processes: a `warden stdio` and a
// `warden serve` deny the next write once the policy file says killSwitch or once
// `warden killswitch on` ran, a call approved before is denied too, and an invalid new file keeps
// the last good policy in force and says so.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { CLI, warden, readyUrl } from '../support/cli.js';
import { connectHttp } from '../support/http-gateway.js';
import { startProcess, tempDir, waitFor } from '../support/processes.js';
import { spawnWardenStdio } from '../support/stdio-client.js';

const PRUNE = { name: 'docker_prune', arguments: { containers: true } };
const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;

function world(policy: string) {
  const dir = tempDir('killswitch');
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, policy);
  // No Docker is reachable at this socket: a write that is let through fails there, touching nothing.
  const env = { WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_POLICY: policyPath, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` };
  const audit = () => JSON.parse(warden(['audit', 'list', '--json'], env).stdout) as Array<{ tool: string; phase: string; rule: string | null; approvalId: string | null; principal: string }>;
  return { dir, policyPath, env, audit };
}

describe('a running warden stdio', () => {
  it('denies the next write once the policy file turns the kill switch on, and keeps it on through an invalid file', async () => {
    const w = world('rules:\n  - { tool: docker_prune, decision: allow }\n');
    const stdio = await spawnWardenStdio(w.env);
    try {
      expect(text(await stdio.client.callTool(PRUNE))).not.toMatch(/^\[denied\]/);
      writeFileSync(w.policyPath, 'killSwitch: true\nrules:\n  - { tool: docker_prune, decision: allow }\n');
      await waitFor('the reloaded policy', async () => /killSwitch/.test(text(await stdio.client.callTool(PRUNE))));
      writeFileSync(w.policyPath, 'killSwitch: false\nrules:\n  - { tool: docker_prun, decision: allow }\n');
      await waitFor('the refused reload', async () => /new policy file is invalid/.test(stdio.stderr()));
      expect(text(await stdio.client.callTool(PRUNE))).toMatch(/^\[denied\] docker_prune on local\/\* denied by killSwitch/);
      expect(stdio.stderr()).toMatch(/rules\[0\]\.tool: \\"docker_prun\\" names no tool; did you mean \\"docker_prune\\"/);
      expect(w.audit().filter((e) => e.tool === 'policy.reload').map((e) => e.phase)).toEqual(['completed', 'failed']);
    } finally {
      await stdio.close();
    }
  });

  it('denies an approved call once `warden killswitch on` ran, and audits the switch and the refusal', async () => {
    const w = world('rules:\n  - { tool: docker_prune, decision: approve }\n');
    const stdio = await spawnWardenStdio(w.env);
    try {
      const held = text(await stdio.client.callTool(PRUNE));
      const id = /approval id (apr_\S+?),/i.exec(held)?.[1];
      expect(id, held).toBeDefined();
      expect(warden(['approvals', 'approve', id!, '--by', 'alice'], w.env).status).toBe(0);
      const on = warden(['killswitch', 'on', '--by', 'bob', '--reason', 'incident 42'], w.env);
      expect(on.status, on.stderr).toBe(0);
      expect(warden(['killswitch', 'status'], w.env).stdout).toMatch(/^kill switch ON\n  database: on \(set by bob at .*: incident 42\)/);
      const refused = text(await stdio.client.callTool({ ...PRUNE, arguments: { ...PRUNE.arguments, approvalId: id } }));
      expect(refused).toMatch(/^\[denied\] docker_prune on local\/\* denied by killSwitch/);
      const entries = w.audit();
      expect(entries.find((e) => e.tool === 'killswitch.on')).toMatchObject({ principal: 'bob', phase: 'completed' });
      expect(entries.filter((e) => e.tool === 'docker_prune').map((e) => [e.phase, e.rule, e.approvalId])).toEqual([
        ['pending', 'rules[0]', id], ['approved', 'rules[0]', id], ['denied', 'killSwitch', id],
      ]);
      expect(warden(['killswitch', 'off', '--by', 'bob'], w.env).status).toBe(0);
      expect(warden(['audit', 'verify'], w.env).status).toBe(0);
    } finally {
      await stdio.close();
    }
  });
});

describe('a running warden serve', () => {
  it('denies the next write after `warden killswitch on`, and reports an invalid policy file on /healthz', async () => {
    const w = world('rules:\n  - { tool: docker_prune, decision: allow }\n');
    const { token } = JSON.parse(warden(['tokens', 'create', '--principal', 'ops', '--role', 'operator', '--json'], w.env).stdout) as { token: string };
    const serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0', '--no-loop'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ...w.env },
    });
    const url = await readyUrl(serve);
    const c = await connectHttp(url, token);
    try {
      expect(text(await c.client.callTool(PRUNE))).not.toMatch(/^\[denied\]/);
      expect(warden(['killswitch', 'on', '--by', 'bob'], w.env).status).toBe(0);
      expect(text(await c.client.callTool(PRUNE))).toMatch(/^\[denied\] docker_prune on local\/\* denied by killSwitch/);

      writeFileSync(w.policyPath, 'rules: [ { tool: docker_prune, decision: allow, extra: 1 } ]\n');
      await waitFor('the health warning', async () => {
        const h = (await (await fetch(`${url}/healthz`)).json()) as { status: string; warnings?: string[] };
        return h.status === 'degraded' && /policy file is invalid/.test(h.warnings?.[0] ?? '');
      });
      const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      expect(metrics).toMatch(/^warden_policy_reload_failed 1$/m);
    } finally {
      await c.close().catch(() => undefined);
      process.kill(serve.pid, 'SIGTERM');
      await new Promise((resolve) => serve.child.once('exit', resolve));
    }
  });
});
