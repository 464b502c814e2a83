// reboot_host's change kind on a host that reboots in memory: what counts as the reboot being sent,
// the check after it (a new boot id, every container that ran before running again, or a restore
// that starts it), a reboot that did not happen, and the change recovery finishes when warden itself
// was the host rebooted. run() is called directly here so the wait can be shorter than the tool allows.
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/adapters/commands.js';
import { ToolFailure } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { recoverChanges } from '../../src/server/change-recovery.js';
import type { Runtime } from '../../src/server/runtime.js';
import { filterCatalog, CATALOG, OPT_IN } from '../../src/tools/catalog.js';
import { notRunning, parseBoot, type HostState, type RebootPlan } from '../../src/tools/host-reboot-change.js';
import { rebootHost, sendOutcome } from '../../src/tools/reboot-host.js';
import type { ToolContext } from '../../src/tools/spec.js';
import { failureOf } from '../support/failures.js';
import { BOOT_1, BOOT_2, HOSTS_REBOOTABLE, rebootableHost, type RebootBehaviour } from '../support/reboot-host.js';
import { testRuntime } from '../support/warden.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
});

/** A host, a runtime over it, and the tool's run() with a short wait. */
function world(behaviour: RebootBehaviour, opts: Parameters<typeof rebootableHost>[1] = {}) {
  const host = rebootableHost(behaviour, opts);
  const rt = testRuntime({ adapters: host.adapters, config: 'tools:\n  enabled: [reboot_host]\n', inventory: { 'hosts.yaml': HOSTS_REBOOTABLE } });
  open.push(rt);
  const ctx = {
    adapters: rt.adapters, inventory: rt.inventory, changes: rt.changes, signal: new AbortController().signal, log: silentLogger,
    call: { id: 'call-reboot', principal: 'alice', incidentId: null },
  } as unknown as ToolContext;
  const run = (waitSeconds = 1) => rebootHost.run({ host: 'local', reason: 'test', waitSeconds, verifySeconds: 1 }, ctx);
  const change = () => rt.changes.list({ limit: 1 })[0]!;
  return { ...host, rt, run, change };
}

const res = (exitCode: number, stderr = '', signal?: string): CommandResult => ({ exitCode, stdout: '', stderr, truncated: false, ...(signal ? { signal } : {}) });

describe('sendOutcome', () => {
  it.each<[string, CommandResult | ToolFailure, boolean]>([
    ['exit 0', res(0), true],
    ['a dropped connection', new ToolFailure('unavailable', 'SSH to host h during exec systemctl: the connection closed before the command reported its exit'), true],
    ['exit 255 (ssh lost the connection)', res(255), true],
    ['death by SIGTERM as the host goes down', res(143, '', 'SIGTERM'), true],
    ['a refusal with stderr', res(1, 'Failed to reboot system via logind: Interactive authentication required.'), false],
    ['a missing program', res(127, 'systemctl: not found'), false],
  ])('%s -> sent %s', (_what, outcome, sent) => {
    expect(sendOutcome(outcome).sent).toBe(sent);
  });
});

describe('parseBoot and notRunning', () => {
  it('reads the boot id and the whole seconds of uptime, and nothing else', () => {
    expect(parseBoot(`${BOOT_1}\n12345.67 99.00\n`)).toEqual({ bootId: BOOT_1, uptimeSeconds: 12346 });
    expect(parseBoot('not a boot id\n1.0 1.0\n')).toBeUndefined();
    expect(parseBoot(`${BOOT_1}\n`)).toBeUndefined();
  });

  it('names the containers that ran before and do not run now, by name', () => {
    const before = [
      { name: 'web', id: 'a', image: 'nginx', state: 'running', running: true },
      { name: 'db', id: 'b', image: 'pg', state: 'running', running: true },
      { name: 'job', id: 'c', image: 'x', state: 'exited', running: false },
    ];
    const now = [{ name: 'web', state: 'running' }, { name: 'db', state: 'exited' }, { name: 'job', state: 'exited' }] as never[];
    expect(notRunning(before, now)).toEqual(['db']);
    expect(notRunning(before, [])).toEqual(['web', 'db']);
  });
});

describe('filterCatalog', () => {
  it('leaves opt-in tools out unless enabled, and lets disabled win', () => {
    const names = (enabled: string[], disabled: string[] = []) => filterCatalog(CATALOG, { readOnly: false, disabled, enabled }).map((t) => t.name);
    expect(names([])).not.toContain('reboot_host');
    expect(names(['reboot_host'])).toContain('reboot_host');
    expect(names(['reboot_host'], ['reboot_host'])).not.toContain('reboot_host');
    expect(names([]).length).toBe(CATALOG.length - OPT_IN.size);
  });
});

describe('the host_reboot change', () => {
  it('starts a container that ran before and is not running after the reboot, and reports it', async () => {
    const w = world('reboot', { afterReboot: (cs) => { cs.find((c) => c.name === 'web-1')!.state = 'exited'; } });
    const err = await failureOf(w.run());
    expect(err.kind).toBe('target_failed');
    expect(err.message).toMatch(/not running again: web-1 \(of 1 that ran before the reboot\)/);
    expect(err.message).toMatch(/ROLLED BACK/);
    expect(w.adapters.fake.calls).toContain('start web-1');
    expect(w.change()).toMatchObject({ kind: 'host_reboot', status: 'rolled_back', rollback: expect.stringMatching(/started web-1, which ran before the reboot; the 1 container that ran before the reboot runs/) });
  });

  it('ends rollback_failed, for a human, when a container that ran before cannot be started', async () => {
    const w = world('reboot', { afterReboot: (cs) => { cs.splice(cs.findIndex((c) => c.name === 'web-1'), 1); } });
    w.adapters.fake.startContainer = async (ref) => { throw new ToolFailure('invalid_input', `no container "${ref}" on host local`); };
    const err = await failureOf(w.run());
    expect(err.message).toMatch(/The automatic ROLLBACK FAILED: restore failed: could not start web-1 \(no container "web-1" on host local\)/);
    expect(w.change().status).toBe('rollback_failed');
  });

  it('reports a reboot whose boot id did not change as failed, never verified', async () => {
    const w = world('nothing');
    const err = await failureOf(w.run());
    expect(err.kind).toBe('target_failed');
    expect(err.message).toMatch(/host local did not reboot: its boot id is still 0b1e0000/);
    expect(w.rebootCalls()).toBe(1);
    expect(w.change().status).toBe('rolled_back');
    expect(w.adapters.fake.calls.filter((c) => c.startsWith('start'))).toEqual([]);
  });

  it('takes a dropped connection while sending as the reboot going out, and lets the check decide', async () => {
    const w = world('drop');
    const out = await w.run();
    expect(out).toMatchObject({ status: 'verified', validation: expect.stringMatching(/^the connection ended while it ran/) });
  });

  it('records a reboot command that refuses as rejected, and checks nothing', async () => {
    const w = world('refuse');
    const err = await failureOf(w.run());
    expect(err.kind).toBe('target_failed');
    expect(err.message).toMatch(/refused: the reboot command exited 1: Failed to reboot system via logind.*Nothing was rebooted/);
    expect(w.change().status).toBe('rejected');
    expect(w.adapters.runner.calls).toHaveLength(2); // the state read, the command: no check
  });

  it('refuses before anything is sent when the boot id cannot be read', async () => {
    const w = world('reboot');
    const answer = w.adapters.runner.answer;
    w.adapters.runner.answer = (argv, o) => (argv[0] === 'cat' ? res(1, 'cat: /proc/sys/kernel/random/boot_id: No such file or directory') : answer(argv, o));
    const err = await failureOf(w.run());
    expect(err.message).toMatch(/cannot read the boot id of host local/);
    expect(w.rebootCalls()).toBe(0);
    expect(w.rt.changes.list({ limit: 1 })).toEqual([]);
  });

  it('reboots a host whose Docker does not answer, and then needs Docker to answer again', async () => {
    let dockerUp = false;
    const w = world('reboot', { afterReboot: () => { dockerUp = true; } });
    const list = w.adapters.fake.listContainers.bind(w.adapters.fake);
    w.adapters.fake.listContainers = async () => {
      if (!dockerUp) throw new ToolFailure('unavailable', 'Docker on host local is unreachable (ECONNREFUSED) during list containers; retry later');
      return list();
    };
    w.adapters.fake.ping = async () => {
      if (!dockerUp) throw new ToolFailure('unavailable', 'Docker on host local is unreachable (ECONNREFUSED) during ping; retry later');
    };
    const out = await w.run();
    expect(out).toMatchObject({ status: 'verified', containersRunningBefore: null, verification: expect.stringMatching(/Docker, which did not answer before the reboot, answers/) });
    const before = JSON.parse(w.rt.changes.load(w.change().beforeRef).toString()) as HostState;
    expect(before).toMatchObject({ containers: null, dockerDown: true, dockerNote: expect.stringMatching(/^Docker did not answer before the reboot/) });
  });

  it('refuses to roll back a reboot that checked out', async () => {
    const w = world('reboot');
    const out = await w.run();
    const r = await w.rt.guard.call({ principal: 'alice', role: 'admin', transport: 'memory' }, 'rollback_change', { changeId: out.changeId });
    expect(r).toMatchObject({ ok: false, kind: 'target_failed', message: expect.stringMatching(/a reboot that checked out: there is nothing to roll back/) });
  });
});

describe('a reboot of the host warden runs on', () => {
  /** The change row a warden killed by its own host's reboot leaves: verifying, its owner an earlier process. */
  async function leftVerifying(w: ReturnType<typeof world>): Promise<string> {
    const state: HostState = {
      host: 'local', bootId: BOOT_1, uptimeSeconds: 86_400, savedAt: new Date().toISOString(), dockerNote: null, dockerDown: false,
      containers: w.adapters.fake.containers.map((c) => ({ name: c.name, id: c.id, image: c.image, state: c.state, running: c.state === 'running' })),
    };
    const plan: RebootPlan = { host: 'local', argv: ['/bin/true'], bootId: BOOT_1, waitSeconds: 1, verifySeconds: 1 };
    const c = await w.rt.changes.begin({ callId: 'call-gone', principal: 'alice', incidentId: null, target: 'local/*', service: null, kind: 'host_reboot', summary: 'reboot host local', beforeRef: w.rt.changes.save(Buffer.from(JSON.stringify(state))), plan });
    await w.rt.changes.update(c.id, { status: 'verifying', afterRef: w.rt.changes.save(Buffer.from('{}')), validation: 'the reboot command exited 0' });
    // The process that made it is gone: a new start reuses its pid, with another instance.
    (w.rt.db as unknown as { prepare(sql: string): { run(...a: unknown[]): void } }).prepare('UPDATE changes SET owner = ? WHERE id = ?').run(`${hostname()}:${process.pid}:before-reboot`, c.id);
    return c.id;
  }

  const recover = (w: ReturnType<typeof world>) => recoverChanges({ guard: w.rt.guard, changes: w.rt.changes, approvals: w.rt.approvals, notifier: w.rt.notifier, log: silentLogger });

  it('is checked at the next start and kept when the host came back with its containers', async () => {
    const w = world('reboot');
    const id = await leftVerifying(w);
    w.host.bootId = BOOT_2;
    expect(await recover(w)).toMatchObject([{ changeId: id, outcome: 'finished' }]);
    expect(w.rt.changes.get(id)).toMatchObject({ status: 'verified', verification: expect.stringMatching(/rebooted: boot id 0b1e0000 -> b2b2b2b2/) });
  });

  it('starts at the next start a container that did not come back', async () => {
    const w = world('reboot');
    const id = await leftVerifying(w);
    w.host.bootId = BOOT_2;
    w.adapters.fake.containers.find((c) => c.name === 'web-1')!.state = 'exited';
    expect(await recover(w)).toMatchObject([{ changeId: id, outcome: 'finished' }]);
    expect(w.adapters.fake.calls).toContain('start web-1');
    expect(w.rt.changes.get(id)).toMatchObject({ status: 'rolled_back', rollback: expect.stringMatching(/started web-1/) });
  });
});
