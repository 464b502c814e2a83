// warden's own monitors end to end on the real dockerd, Claude unreachable (the runbooks act): a
// busybox httpd on the host network whose process keeps running while its HTTP stops answering is
// found by warden's probe within interval x retries, restarted through the gate, verified by the
// same probe, and the incident resolves; a service that keeps hanging after each fix is stopped by
// the loop's flap limit, not restarted forever.
import { describe, expect, it } from 'vitest';
import { createContainer, dockerFor } from '../support/containers.js';
import { freePort } from '../support/ports.js';
import { eventually, useLoopWorlds, type LoopWorld } from '../support/loop-world.js';

const worlds = useLoopWorlds('');

/** httpd as a child of `sleep` (pid 1), so a SIGSTOP to httpd leaves the container running. */
function httpdCmd(port: number, hangAfterSeconds?: number): string[] {
  const serve = `mkdir -p /www && echo warden-ok > /www/index.html && httpd -f -p 127.0.0.1:${port} -h /www &`;
  const hang = hangAfterSeconds === undefined ? '' : ` sleep ${hangAfterSeconds}; kill -STOP $(pidof httpd);`;
  return ['sh', '-c', `${serve}${hang} exec sleep 100000`];
}

function inventory(name: string, port: number, monitor: string): Record<string, string> {
  return {
    'services.yaml': `services:\n  - name: ${name}\n    host: local\n    container: ${name}\n    tier: standard\n`
      + `    healthCheck: { http: "http://127.0.0.1:${port}/", keyword: warden-ok }\n    monitor: ${monitor}\n`,
  };
}

const restartsBy = (w: LoopWorld, principal: string) =>
  w.rt.audit.list().filter((e) => e.tool === 'restart_container' && e.phase === 'completed' && e.principal === principal);

async function exec(w: ReturnType<typeof worlds.dockerd>, name: string, cmd: string[]): Promise<void> {
  const e = await dockerFor(w).getContainer(name).exec({ Cmd: cmd, AttachStdout: false, AttachStderr: false });
  await e.start({ Detach: true });
  await eventually(`${cmd.join(' ')} to finish`, async () => !(await e.inspect()).Running, 10_000);
}

describe("warden's own probes, Claude unreachable", () => {
  it('finds a hung HTTP endpoint (process running) within interval x retries, restarts it through the gate, verifies and resolves', async () => {
    const port = await freePort();
    const w = await worlds.world({ script: null, inventory: inventory('mon-web', port, '{ interval: 1s, timeout: 1s, retries: 3 }') });
    const c = await createContainer(worlds.dockerd(), 'mon-web', { cmd: httpdCmd(port), hostConfig: { NetworkMode: 'host' } });
    await eventually('the probe to see it up', () => w.loop.monitors!.states().some((s) => s.id === 'service:mon-web' && s.state === 'up'), 20_000);
    const startedBefore = (await c.inspect()).State.StartedAt;
    const hungAt = Date.now();
    await exec(worlds.dockerd(), 'mon-web', ['sh', '-c', 'kill -STOP $(pidof httpd)']);
    expect((await c.inspect()).State.Running).toBe(true);

    const inc = await w.incident((i) => i.source === 'warden' && i.service === 'mon-web', ['resolved', 'escalated'], 60_000);
    // interval 1 s x retries 3, each probe bounded by its 1 s timeout: the margin is for a loaded machine.
    const detectedMs = Date.parse(inc.openedAt) - hungAt;
    expect(detectedMs).toBeLessThan(3 * 1_000 + 1_000 + 3_000);
    expect(inc).toMatchObject({ status: 'resolved', fingerprint: 'warden:service:mon-web', target: 'local/mon-web', attempts: 1 });
    expect(inc.title).toMatch(/^mon-web is down: GET http:\/\/127\.0\.0\.1:\d+\/ with "warden-ok" failed 3 times in a row/);
    expect(inc.resolution).toMatch(/^runbook restart_container on local\/mon-web \(running, but warden's probe of mon-web fails .*: restart\); verified: running .*answered 200 with "warden-ok".*warden's probe: .*answered 200/);
    expect((await c.inspect()).State.StartedAt).not.toBe(startedBefore);
    expect(restartsBy(w, 'loop')).toHaveLength(1);
    // The gate saw the loop's restart like any other: requested before it ran, on the canonical target.
    expect(w.rt.audit.forIncident(inc.id).filter((e) => e.tool === 'restart_container').map((e) => `${e.phase}:${e.target}`))
      .toEqual(['requested:local/mon-web', 'completed:local/mon-web']);
    await eventually('the probe to see it up again', () => w.loop.monitors!.states().some((s) => s.id === 'service:mon-web' && s.state === 'up'), 10_000);
    console.log(`[figure] hung HTTP detected after ${detectedMs} ms (interval 1 s x retries 3)`);
  });

  it('a health check that has never passed (a wrong port in the inventory) is escalated as a check to fix; the healthy container is never restarted', async () => {
    const port = await freePort();
    const wrong = await freePort();
    const w = await worlds.world({ script: null, inventory: inventory('mon-typo', wrong, '{ interval: 1s, timeout: 1s, retries: 2 }') });
    const c = await createContainer(worlds.dockerd(), 'mon-typo', { cmd: httpdCmd(port), hostConfig: { NetworkMode: 'host' } });
    const startedBefore = (await c.inspect()).State.StartedAt;
    const inc = await w.incident((i) => i.fingerprint === 'warden:service:mon-typo', ['resolved', 'escalated'], 30_000);
    expect(inc.status).toBe('escalated');
    expect(inc.resolution).toMatch(/warden's probe of mon-typo has never passed since it started .*connection refused.*check the service's healthCheck/);
    expect(restartsBy(w, 'loop')).toEqual([]);
    expect((await c.inspect()).State.StartedAt).toBe(startedBefore);
  });

  it('a service that hangs again after every restart is restarted at most up to the flap limit, then escalated as flapping', async () => {
    const port = await freePort();
    const w = await worlds.world({
      script: null, loop: 'flapLimit: 2\ncooldownMinutes: 10', inventory: inventory('mon-flap', port, '{ interval: 1s, timeout: 1s, retries: 2 }'),
    });
    await createContainer(worlds.dockerd(), 'mon-flap', { cmd: httpdCmd(port, 4), hostConfig: { NetworkMode: 'host' } });
    await eventually('an incident escalated as flapping', () => w.loop.incidents.list().some((i) => i.status === 'escalated' && /flapping/.test(i.resolution ?? '')), 120_000);
    const mine = w.loop.incidents.list().filter((i) => i.fingerprint === 'warden:service:mon-flap');
    const restarts = restartsBy(w, 'loop').length;
    // flapLimit 2: the first incident and two re-openings are acted on at most; the next is escalated unacted.
    expect(restarts).toBeGreaterThanOrEqual(1);
    expect(restarts).toBeLessThanOrEqual(3);
    const escalated = mine.find((i) => i.status === 'escalated')!;
    expect(w.rt.audit.forIncident(escalated.id).filter((e) => e.tool === 'restart_container')).toEqual([]);
    expect(mine.filter((i) => i.status === 'resolved').length).toBe(restarts);
    // Nothing more happens while it stays hung: the monitor stays down and reports nothing new.
    const settled = restartsBy(w, 'loop').length;
    await new Promise((r) => setTimeout(r, 4_000));
    expect(restartsBy(w, 'loop').length).toBe(settled);
  });
});
