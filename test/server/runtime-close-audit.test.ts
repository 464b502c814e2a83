// Shutting a runtime down: the audit entries still queued (outcomes of calls already answered) are
// written before the last signed checkpoint is sent, so that checkpoint covers them.
import { afterEach, describe, expect, it } from 'vitest';
import type { Notification, Notifier } from '../../src/shared/notifier.js';
import type { Runtime } from '../../src/server/runtime.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { testRuntime } from '../support/warden.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close().catch(() => undefined);
});

describe('closing the runtime', () => {
  it('writes the queued entries first: the last signed checkpoint names the newest of them', async () => {
    const sent: Notification[] = [];
    const notifier: Notifier = { send: (n) => { sent.push(n); }, flush: async () => undefined };
    // The hook is never called (the notifier is ours); it only turns signed checkpoints on.
    const config = [
      'notify:',
      '  webhooks:',
      '    - { url: "http://127.0.0.1:9/hook", format: generic, events: [audit.checkpoint] }',
      'audit:',
      '  checkpointEvery: { entries: 1000, minutes: 10 }',
      '',
    ].join('\n');
    const rt = testRuntime({ adapters: fakeAdapters(), notifier, config, serving: true });
    open.push(rt);
    rt.audit.append({ callId: 'write', principal: 'alice', transport: 'memory', tool: 'restart_container', args: {}, argsHash: 'h', phase: 'requested' });
    // An outcome its client already has, still queued when the server shuts down.
    const outcome = rt.audit.appendBatched({ callId: 'write', principal: 'alice', transport: 'memory', tool: 'restart_container', args: {}, argsHash: 'h', phase: 'completed' }, 60_000);
    open.splice(0);
    await rt.close();
    expect(await outcome).toMatchObject({ seq: 2 });
    const checkpoints = sent.filter((n) => n.event === 'audit.checkpoint');
    expect(checkpoints.at(-1)?.fields).toMatchObject({ seq: 2, hash: (await outcome).hash });
  });
});
