// A container called by any spelling is the same target to the gate: name, /name, a 12-hex ID
// prefix and the full ID get the same rule, one breaker count, and the audit names the container
// and keeps its ID. Real dockerd, real guard, a real SDK client.
import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainer, dockerFor } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { linkClient, testRuntime } from '../support/warden.js';

let dockerd: Dockerd;
let guardedId: string;

beforeAll(async () => {
  dockerd = await startDockerd();
  guardedId = (await (await createContainer(dockerd, 'guarded')).inspect()).Id;
});

afterAll(async () => {
  await dockerd?.stop();
});

const spellings = (): [string, string][] => [
  ['its name', 'guarded'],
  ['/name', '/guarded'],
  ['a 12-hex ID prefix', guardedId.slice(0, 12)],
  ['a 16-hex ID prefix', guardedId.slice(0, 16)],
  ['the full ID', guardedId],
];

async function session(policy: string) {
  const rt = testRuntime({ dockerHost: dockerd.dockerHost, policy });
  const linked = await linkClient(rt);
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = (await linked.client.callTool({ name, arguments: args })) as CallToolResult;
    return { r, text: (r.content[0] as { text: string }).text };
  };
  return { rt, call, close: async () => { await linked.close(); await rt.close(); } };
}

describe('canonical container targets', () => {
  it.each([
    ['a target rule', 'rules:\n  - { name: protect-guarded, tool: restart_container, target: "*/guarded", decision: deny }\n'],
    ['a bare-name target rule', 'rules:\n  - { name: protect-guarded, tool: restart_container, target: guarded, decision: deny }\n'],
  ])('denies every spelling of a container that %s protects, and audits the name with the ID', async (_what, policy) => {
    const s = await session(policy);
    try {
      for (const [, ref] of spellings()) {
        const { text } = await s.call('restart_container', { container: ref, timeoutSeconds: 0 });
        expect(text, ref).toMatch(/^\[denied\] restart_container on local\/guarded denied by protect-guarded/);
      }
      const entries = s.rt.audit.list().filter((e) => e.tool === 'restart_container');
      expect(entries.map((e) => [e.phase, e.target, e.targetId])).toEqual(spellings().map(() => ['denied', 'local/guarded', guardedId]));
    } finally {
      await s.close();
    }
  });

  it('counts every spelling against one restart breaker', async () => {
    const s = await session('rules:\n  - { tool: restart_container, decision: allow }\nlimits:\n  - { name: breaker, effect: restart, per: target, max: 3, windowMinutes: 15, then: approve }\n');
    try {
      for (const ref of ['guarded', '/guarded', guardedId.slice(0, 12)]) {
        const { r, text } = await s.call('restart_container', { container: ref, timeoutSeconds: 0, waitSeconds: 0 });
        expect(r.isError, text).toBeFalsy();
      }
      const fourth = await s.call('restart_container', { container: guardedId, timeoutSeconds: 0, waitSeconds: 0 });
      expect(fourth.text).toMatch(/^\[approval_required\] restart_container on local\/guarded is held for approval \(breaker:/);
    } finally {
      await s.close();
    }
  });

  it('binds an approval to the container: approved by name, it runs once when called by ID', async () => {
    const s = await session('rules:\n  - { tool: stop_container, decision: approve }\n');
    try {
      const held = await s.call('stop_container', { container: 'guarded', timeoutSeconds: 0 });
      const approvalId = /approval id (apr_\S+?),/i.exec(held.text)?.[1];
      expect(approvalId, held.text).toBeDefined();
      s.rt.approvals.decide(approvalId!, 'approved', 'alice', null);
      const stopped = await s.call('stop_container', { container: guardedId, timeoutSeconds: 0, approvalId });
      expect(stopped.r.isError, stopped.text).toBeFalsy();
      expect((await dockerFor(dockerd).getContainer(guardedId).inspect()).State.Running).toBe(false);
    } finally {
      await dockerFor(dockerd).getContainer(guardedId).start().catch(() => undefined);
      await s.close();
    }
  });

  it('does not let a container recreated under the same name inherit an approval', async () => {
    const first = await createContainer(dockerd, 'phoenix');
    const s = await session('rules:\n  - { tool: stop_container, decision: approve }\n');
    try {
      const held = await s.call('stop_container', { container: 'phoenix', timeoutSeconds: 0 });
      const approvalId = /approval id (apr_\S+?),/i.exec(held.text)?.[1]!;
      s.rt.approvals.decide(approvalId, 'approved', 'alice', null);
      await first.remove({ force: true });
      const second = await createContainer(dockerd, 'phoenix');
      const r = await s.call('stop_container', { container: 'phoenix', timeoutSeconds: 0, approvalId });
      expect(r.text).toMatch(/cannot be used: it was granted for another tool, principal or other arguments/);
      expect((await second.inspect()).State.Running).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('refuses a write whose target cannot be resolved, and an ID prefix shared by two containers', async () => {
    // 17 containers: two of them must share the first hex digit of their IDs.
    const ids: string[] = [];
    for (let i = 0; i < 17; i += 1) ids.push((await (await createContainer(dockerd, `twin-${i}`, { start: false })).inspect()).Id);
    const shared = ids.map((id) => id[0]!).find((c, i, all) => all.indexOf(c) !== i)!;
    const s = await session('rules:\n  - { tool: "*", decision: allow }\n');
    try {
      const ambiguous = await s.call('stop_container', { container: shared, timeoutSeconds: 0 });
      expect(ambiguous.text).toMatch(/^\[invalid_input\] ".+" is a prefix of more than one container ID on host local/);
      const ghost = await s.call('restart_container', { container: 'ghost', timeoutSeconds: 0 });
      expect(ghost.text).toBe('[invalid_input] no container "ghost" on host local; list_containers shows the valid names');
      expect(s.rt.audit.list().map((e) => [e.tool, e.phase, e.errorKind])).toEqual([
        ['stop_container', 'failed', 'invalid_input'],
        ['restart_container', 'failed', 'invalid_input'],
      ]);
    } finally {
      await s.close();
    }
  });
});
