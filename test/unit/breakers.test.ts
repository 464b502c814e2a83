import { describe, expect, it } from 'vitest';
import { BreakerBoard, BreakerOpen, type BreakerView } from '../../src/adapters/breakers.js';
import { dockerBehindBreaker, dockerBreaker } from '../../src/adapters/breaker-wrap.js';
import { ToolFailure } from '../../src/errors.js';
import type { DockerAdapter } from '../../src/adapters/docker-types.js';

class Down extends Error {}
const down = (): Promise<never> => Promise.reject(new Down('connection refused'));
const counted = (err: unknown): boolean => err instanceof Down;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function board(failures = 3, halfOpenMs = 150): { board: BreakerBoard; changes: BreakerView[] } {
  const b = new BreakerBoard({ failures, halfOpenMs });
  const changes: BreakerView[] = [];
  b.onChange((v) => changes.push(v));
  return { board: b, changes };
}

describe('circuit breakers', () => {
  it('opens after the configured failures in a row and then refuses at once without calling the dependency', async () => {
    const { board: b, changes } = board(3);
    const breaker = b.get('messages-api', 'model', counted);
    for (let i = 0; i < 3; i += 1) await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    let called = false;
    await expect(breaker.run(async () => { called = true; })).rejects.toBeInstanceOf(BreakerOpen);
    expect(called).toBe(false);
    expect(breaker.blocked()).toBe(true);
    expect(breaker.view()).toMatchObject({ name: 'messages-api', kind: 'model', state: 'open', failures: 3, lastError: 'connection refused' });
    expect(breaker.view().retryAt).toBeDefined();
    expect(changes.map((c) => c.state)).toEqual(['open']);
  });

  it('does not count failures the dependency is not to blame for, and a success in between resets the count', async () => {
    const { board: b } = board(2);
    const breaker = b.get('docker:web', 'docker', counted);
    await expect(breaker.run(() => Promise.reject(new Error('no such container')))).rejects.toThrow('no such container');
    await expect(breaker.run(() => Promise.reject(new Error('no such container')))).rejects.toThrow('no such container');
    await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    await breaker.run(async () => 'ok');
    await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    expect(breaker.view()).toMatchObject({ state: 'closed', failures: 1 });
  });

  it('lets one trial through after the half-open delay: its success closes the breaker', async () => {
    const { board: b, changes } = board(2, 100);
    const breaker = b.get('ssh:db', 'ssh', counted);
    for (let i = 0; i < 2; i += 1) await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    await sleep(150);
    expect(breaker.blocked()).toBe(false);
    await expect(breaker.run(async () => 'back')).resolves.toBe('back');
    expect(breaker.view()).toMatchObject({ state: 'closed', failures: 0 });
    expect(changes.map((c) => c.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('re-opens when the trial fails, and refuses again until the next trial', async () => {
    const { board: b } = board(1, 100);
    const breaker = b.get('webhook:0:hooks.example', 'webhook', counted);
    await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    await sleep(150);
    await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    expect(breaker.view().state).toBe('open');
    await expect(breaker.run(async () => 'x')).rejects.toBeInstanceOf(BreakerOpen);
  });

  it('lists every breaker by name, and a listener that throws never breaks the call', async () => {
    const b = new BreakerBoard({ failures: 1, halfOpenMs: 1_000 });
    b.onChange(() => { throw new Error('listener broke'); });
    await expect(b.get('z', 'model', counted).run(down)).rejects.toBeInstanceOf(Down);
    b.get('a', 'docker', counted);
    expect(b.views().map((v) => [v.name, v.state])).toEqual([['a', 'closed'], ['z', 'open']]);
  });

  it("puts a host's Docker behind its breaker: only unreachable counts, and an open breaker is an unavailable tool failure naming it", async () => {
    const b = new BreakerBoard({ failures: 2, halfOpenMs: 60_000 });
    let pings = 0;
    const refused = new ToolFailure('unavailable', 'Docker on host web is unreachable (ECONNREFUSED) during ping; retry later', {}, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const notFound = new ToolFailure('invalid_input', 'no container "x" on host web');
    const fake = { host: 'web', ping: async () => { pings += 1; throw refused; }, inspectContainer: async () => { throw notFound; } } as unknown as DockerAdapter;
    const docker = dockerBehindBreaker(fake, dockerBreaker(b, 'web'));
    for (let i = 0; i < 3; i += 1) await expect(docker.inspectContainer('x')).rejects.toBe(notFound);
    expect(b.find('docker:web')!.view().state).toBe('closed');
    await expect(docker.ping()).rejects.toBe(refused);
    await expect(docker.ping()).rejects.toBe(refused);
    const refusedAtOnce = await docker.ping().catch((e: unknown) => e);
    expect(pings).toBe(2);
    expect(refusedAtOnce).toBeInstanceOf(ToolFailure);
    expect(refusedAtOnce).toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/^Docker on host web: docker:web is failing \(2 failures in a row.*circuit breaker is open until/) });
    expect(docker.host).toBe('web');
  });
});

describe('a breaker during its trial', () => {
  it('refuses other calls at once while the trial is under way, so none is queued to run after its caller gave up', async () => {
    const b = new BreakerBoard({ failures: 1, halfOpenMs: 50 });
    const breaker = b.get('docker:web', 'docker', counted);
    await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    await sleep(80);
    let release!: () => void;
    const trial = breaker.run(() => new Promise<string>((r) => { release = () => r('trial ok'); }));
    let ran = false;
    const other = await breaker.run(async () => { ran = true; }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(BreakerOpen);
    expect((other as Error).message).toMatch(/one trial call is testing it now/);
    release();
    await expect(trial).resolves.toBe('trial ok');
    await sleep(20);
    expect(ran).toBe(false);
    expect(breaker.view().state).toBe('closed');
  });

  it('counts a trial that hangs past its bound as a failure, so the breaker opens again instead of staying half-open, while its caller still gets the call\'s own outcome', async () => {
    const b = new BreakerBoard({ failures: 1, halfOpenMs: 50, trialTimeoutMs: 100 });
    const breaker = b.get('docker:web', 'docker', counted);
    await expect(breaker.run(down)).rejects.toBeInstanceOf(Down);
    await sleep(80);
    let finish!: (v: string) => void;
    const slow = breaker.run(() => new Promise<string>((r) => { finish = r; }));
    await sleep(150);
    expect(breaker.view()).toMatchObject({ state: 'open', lastError: expect.stringMatching(/did not answer within 100 ms/) });
    finish('the slow write landed');
    await expect(slow).resolves.toBe('the slow write landed');
    await sleep(80);
    await expect(breaker.run(async () => 'back')).resolves.toBe('back');
    expect(breaker.view().state).toBe('closed');
  });
});
