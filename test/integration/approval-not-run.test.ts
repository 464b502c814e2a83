// An approved call against a real dockerd whose socket is not there yet: it fails before acting,
// the approval stays usable, and the retry (once the socket answers) runs on it and consumes it.
// The socket is a symlink made only after the first try, so nothing but the connect differs.
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallOutcome, Caller } from '../../src/policy/call.js';
import { createContainer, dockerFor } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { tempDir } from '../support/processes.js';
import { testRuntime } from '../support/warden.js';

let dockerd: Dockerd;

beforeAll(async () => {
  dockerd = await startDockerd();
});

afterAll(async () => {
  await dockerd?.stop();
});

const POLICY = 'rules:\n  - { name: prune-needs-a-human, tool: docker_prune, decision: approve }\n  - { name: restart-needs-a-human, tool: restart_container, decision: approve }\n';
const ALICE: Caller = { principal: 'alice', role: 'admin', transport: 'memory' };
const approvalOf = (o: CallOutcome): string => (o as { details: { approvalId: string } }).details.approvalId;

describe('an approved call that could not reach Docker', () => {
  it('leaves the approval usable; the retry runs on it once Docker answers, and then it is used', async () => {
    const label = `warden.test=not-run-${Date.now()}`;
    const stopped = await createContainer(dockerd, `prune-me-${Date.now()}`, { start: false, labels: { [label.split('=')[0]!]: label.split('=')[1]! } });
    const socket = join(tempDir('late-socket'), 'docker.sock');
    const rt = testRuntime({ dockerHost: `unix://${socket}`, policy: POLICY });
    try {
      const args = { host: 'local', labels: [label] };
      const id = approvalOf(await rt.guard.call(ALICE, 'docker_prune', args));
      rt.decider.decide({ id, verdict: 'approved', by: 'bob', transport: 'cli' });

      const first = await rt.guard.call(ALICE, 'docker_prune', { ...args, approvalId: id });
      expect(first).toMatchObject({ ok: false, kind: 'unavailable', details: { notRun: true, approvalId: id } });
      expect((first as { message: string }).message).toMatch(/unreachable \(ENOENT\).*approval .* is still valid/);
      expect(rt.approvals.get(id)?.status).toBe('approved');

      symlinkSync(dockerd.socketPath, socket);
      const retry = await rt.guard.call(ALICE, 'docker_prune', { ...args, approvalId: id });
      expect(retry, JSON.stringify(retry)).toMatchObject({ ok: true, output: { removedContainers: [{ id: stopped.id.slice(0, 12) }] } });
      expect(rt.approvals.get(id)?.status).toBe('used');
      expect(await rt.guard.call(ALICE, 'docker_prune', { ...args, approvalId: id })).toMatchObject({ ok: false, kind: 'denied' });

      const phases = rt.audit.list().filter((e) => e.tool === 'docker_prune' && e.approvalId === id).map((e) => e.phase);
      expect(phases).toEqual(['pending', 'approved', 'requested', 'failed', 'requested', 'completed', 'denied']);
    } finally {
      await rt.close();
    }
  });

  it('consumes the approval of a call that ran: a second use is refused', async () => {
    const name = `restart-me-${Date.now()}`;
    const c = await createContainer(dockerd, name);
    const rt = testRuntime({ dockerHost: dockerd.dockerHost, policy: POLICY });
    try {
      const args = { container: name, timeoutSeconds: 0, waitSeconds: 0 };
      const id = approvalOf(await rt.guard.call(ALICE, 'restart_container', args));
      rt.decider.decide({ id, verdict: 'approved', by: 'bob', transport: 'cli' });
      const ran = await rt.guard.call(ALICE, 'restart_container', { ...args, approvalId: id });
      expect(ran, JSON.stringify(ran)).toMatchObject({ ok: true });
      expect(rt.approvals.get(id)?.status).toBe('used');
      expect(await rt.guard.call(ALICE, 'restart_container', { ...args, approvalId: id })).toMatchObject({ ok: false, kind: 'denied' });
      expect((await dockerFor(dockerd).getContainer(c.id).inspect()).State.Running).toBe(true);
    } finally {
      await rt.close();
    }
  });
});
