// warden watching itself, end to end on a real dockerd with the real daemon: a storm of Messages API
// failures opens its breaker (the runbooks act alone, no request is sent) and the half-open trial
// closes it; the loop's writes failing verification again and again switch it to safe mode, where
// its next write is a dry run, until `warden loop arm` re-arms it, audited both ways.
import { describe, expect, it } from 'vitest';
import { createContainer, waitUntil } from '../support/containers.js';
import { warden } from '../support/cli.js';
import { request } from '../support/http-gateway.js';
import { alertmanagerPayload, eventually, useLoopWorlds } from '../support/loop-world.js';
import type { ScriptedTurn } from '../support/messages-api.js';

const worlds = useLoopWorlds('watchDockerEvents: false\n');

/** Exits 1 on its first run; runs on after any restart (the marker survives in its writable layer). */
const CRASH_ONCE = ['sh', '-c', 'if [ -f /crashed ]; then exec sleep 100000; fi; touch /crashed; exit 1'];
const ALWAYS_FAILS = ['sh', '-c', 'exit 1'];
const exited = (i: { State: { Status: string } }) => i.State.Status === 'exited';
const byContainer = (name: string) => (i: { container: string | null }) => i.container === name;

async function crashed(name: string, cmd = CRASH_ONCE) {
  const c = await createContainer(worlds.dockerd(), name, { cmd });
  await waitUntil(c, 'exited', exited);
  return c;
}

describe('warden watching itself', () => {
  it('a storm of model 5xx and timeouts opens the breaker, the runbooks act alone, and the half-open trial closes it', async () => {
    for (const n of [1, 2, 3, 4, 5]) await crashed(`sw-m${n}`);
    const script: ScriptedTurn[] = [
      { error: { status: 500 } },
      { delayMs: 2_500, content: [{ type: 'text', text: 'too late: the request timed out' }] },
      { error: { status: 529 } },
      { content: [{ type: 'tool_use', name: 'restart_container', input: { container: 'sw-m5', timeoutSeconds: 1 } }] },
      { content: [{ type: 'text', text: 'sw-m5 restarted.' }] },
    ];
    const w = await worlds.world({ script, loop: 'requestTimeoutSeconds: 1\n', config: 'breakers:\n  failures: 3\n  halfOpenSeconds: 6\n' });
    const breaker = () => w.rt.breakers.find('messages-api')?.view();
    for (const n of [1, 2, 3]) {
      await w.postAlert('alertmanager', alertmanagerPayload(`sw-m${n}`, `sw-m${n} is down`));
      const inc = await w.incident(byContainer(`sw-m${n}`));
      expect(inc, `sw-m${n}`).toMatchObject({ status: 'resolved' });
      expect(inc.resolution).toMatch(/^runbook (re)?start_container/);
    }
    expect(breaker()).toMatchObject({ state: 'open', failures: 3 });
    const health = await request(w.daemon.url, '/healthz');
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'degraded', breakersOpen: 1 });

    // Open: no request reaches the API, the runbooks act at once.
    await w.postAlert('alertmanager', alertmanagerPayload('sw-m4', 'sw-m4 is down'));
    const fourth = await w.incident(byContainer('sw-m4'));
    expect(fourth).toMatchObject({ status: 'resolved' });
    expect(w.api!.requests).toHaveLength(3);
    const said = w.loop.incidents.timeline(fourth.id).filter((e) => e.kind === 'model').map((e) => e.summary).join('\n');
    expect(said).toMatch(/circuit breaker is open/);

    await eventually('the breaker is due for its trial', () => w.rt.breakers.find('messages-api')!.blocked() === false, 15_000);
    await w.postAlert('alertmanager', alertmanagerPayload('sw-m5', 'sw-m5 is down'));
    const fifth = await w.incident(byContainer('sw-m5'));
    expect(fifth, w.loop.incidents.timeline(fifth.id).map((e) => e.summary).join('\n')).toMatchObject({ status: 'resolved' });
    expect(fifth.resolution).toMatch(/^Claude: restart_container/);
    w.api!.assertDone();
    expect(breaker()).toMatchObject({ state: 'closed', failures: 0 });
    expect(w.rt.healthStates.breakers().find((b) => b.name === 'messages-api')).toMatchObject({ state: 'closed' });
  });

  it('a garbage answer from the Messages API (a proxy\'s HTML page) is Claude being unreachable: the runbooks restore the container', async () => {
    await crashed('sw-g1');
    const w = await worlds.world({ script: [{ raw: { contentType: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' } }] });
    await w.postAlert('alertmanager', alertmanagerPayload('sw-g1', 'sw-g1 is down'));
    const inc = await w.incident(byContainer('sw-g1'));
    w.api!.assertDone();
    expect(inc).toMatchObject({ status: 'resolved' });
    expect(inc.resolution).toMatch(/^runbook (re)?start_container/);
    const said = w.loop.incidents.timeline(inc.id).filter((e) => e.kind === 'model').map((e) => e.summary).join('\n');
    expect(said).toMatch(/Claude could not be reached: the answer (is not a message|could not be read)/);
  });

  it('writes that keep failing verification switch the loop to safe mode: the next write is not executed, and re-arming is audited', async () => {
    const w = await worlds.world({ script: null, loop: 'safeMode: { consecutive: 5, minWrites: 100 }\nmaxAttempts: 3\n' });
    const failed: string[] = [];
    for (const n of [1, 2, 3]) {
      if (w.rt.safeMode.isOn()) break;
      await crashed(`sw-s${n}`, ALWAYS_FAILS);
      await w.postAlert('alertmanager', alertmanagerPayload(`sw-s${n}`, `sw-s${n} is down`));
      failed.push((await w.incident(byContainer(`sw-s${n}`))).id);
    }
    expect(w.rt.safeMode.state()).toMatchObject({ on: true, by: 'warden', reason: "5 of the loop's writes in a row failed" });
    expect(w.rt.audit.list().filter((e) => e.tool === 'loop.safe_mode')).toHaveLength(1);
    await eventually('the safe-mode notification', () => w.hooks.received.some((b) => /SAFE MODE/.test(String(b.title))));
    expect((await request(w.daemon.url, '/healthz')).json()).toMatchObject({ status: 'degraded', safeMode: true });

    const c = await crashed('sw-next', ALWAYS_FAILS);
    const before = (await c.inspect()).State.StartedAt;
    await w.postAlert('alertmanager', alertmanagerPayload('sw-next', 'sw-next is down'));
    const next = await w.incident(byContainer('sw-next'));
    expect(next.status).toBe('escalated');
    expect(next.resolution).toMatch(/dry run \(safe mode\).*warden loop arm/);
    expect((await c.inspect()).State.StartedAt).toBe(before);
    const attempted = w.rt.audit.forIncident(next.id).filter((e) => e.tool === 'start_container' || e.tool === 'restart_container');
    expect(attempted.every((e) => e.dryRun)).toBe(true);
    expect(attempted.length).toBeGreaterThan(0);

    const env = { WARDEN_CONFIG: w.rt.config.source!, WARDEN_DATA_DIR: w.rt.config.dataDir };
    expect(warden(['loop', 'arm'], env)).toMatchObject({ status: 2 });
    const armed = warden(['loop', 'arm', '--reason', 'the image is fixed', '--by', 'alice'], env);
    expect(armed).toMatchObject({ status: 0, stdout: expect.stringMatching(/armed/) });
    expect(w.rt.safeMode.isOn()).toBe(false);
    expect(w.rt.audit.list().filter((e) => e.tool === 'loop.arm')).toEqual([expect.objectContaining({ principal: 'alice', transport: 'cli', result: 'the image is fixed' })]);
    expect(warden(['loop', 'status'], env)).toMatchObject({ status: 0, stdout: expect.stringMatching(/^armed \(last re-armed by alice/) });
    expect(w.rt.audit.verify()).toMatchObject({ ok: true });
  });
});
