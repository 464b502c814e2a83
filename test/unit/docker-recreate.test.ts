// recreate_container's order of steps and its rollback, on a hand-written in-memory Docker (our own
// adapter interface, never a module mock): a real dockerd cannot be made to fail a create or a start
// of a config it produced itself, so the failure paths are proven here.
import { describe, expect, it } from 'vitest';
import type { ContainerBlueprint, ContainerState, DockerAdapter } from '../../src/adapters/docker.js';
import { ToolFailure } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { ToolContext } from '../../src/tools/spec.js';
import { asideName, recreateContainer, replaceContainer } from '../../src/tools/docker-recreate.js';
import { failureOf } from '../support/failures.js';

type Step = 'stop' | 'rename' | 'rename-back' | 'create' | 'start-new' | 'start-old' | 'remove-old';

/** Containers by id, each with a name and whether it runs; `failing` makes the named steps throw. */
class MemoryDocker {
  readonly host = 'local';
  readonly calls: string[] = [];
  readonly containers = new Map<string, { name: string; running: boolean }>();
  private next = 0;

  constructor(readonly failing: ReadonlySet<Step> = new Set(), readonly bp: ContainerBlueprint = blueprint()) {
    this.containers.set(bp.id, { name: bp.name, running: bp.running });
  }

  private fail(step: Step): void {
    if (this.failing.has(step)) throw new ToolFailure('target_failed', `Docker on host local refused ${step}: boom`);
  }

  private get(ref: string) {
    const c = this.containers.get(ref) ?? [...this.containers.values()].find((x) => x.name === ref);
    if (!c) throw new ToolFailure('invalid_input', `no container "${ref}" on host local`);
    return c;
  }

  async blueprint(): Promise<ContainerBlueprint> {
    return this.bp;
  }

  async stopContainer(ref: string): Promise<void> {
    this.calls.push(`stop ${ref}`);
    this.fail('stop');
    this.get(ref).running = false;
  }

  async renameContainer(ref: string, name: string): Promise<void> {
    this.calls.push(`rename ${ref} ${name}`);
    this.fail(name === this.bp.name ? 'rename-back' : 'rename');
    if ([...this.containers.values()].some((c) => c.name === name)) throw new ToolFailure('target_failed', `name ${name} is in use`);
    this.get(ref).name = name;
  }

  async createFromBlueprint(bp: ContainerBlueprint, name: string): Promise<string> {
    this.calls.push(`create ${name}`);
    this.fail('create');
    if ([...this.containers.values()].some((c) => c.name === name)) throw new ToolFailure('target_failed', `name ${name} is in use`);
    const id = `new${++this.next}`;
    this.containers.set(id, { name, running: false });
    return id;
  }

  async startContainer(ref: string): Promise<void> {
    this.calls.push(`start ${ref}`);
    this.fail(ref === this.bp.id ? 'start-old' : 'start-new');
    this.get(ref).running = true;
  }

  async removeContainer(ref: string, opts: { force: boolean }): Promise<void> {
    this.calls.push(`remove ${ref}${opts.force ? ' force' : ''}`);
    if (ref === this.bp.id) this.fail('remove-old');
    this.containers.delete(ref);
  }

  async containerState(ref: string): Promise<ContainerState> {
    const c = this.get(ref);
    return {
      id: ref, name: c.name, state: c.running ? 'running' : 'exited', running: c.running, restarting: false, restartPolicy: { name: 'no', maximumRetryCount: 0 },
      startedAt: '2026-11-23T00:00:00Z', finishedAt: '', exitCode: c.running ? 0 : 1, oomKilled: false, health: null, restartCount: 0, error: '', labels: {},
    };
  }

  /** Names and states, for asserting what is left. */
  state(): Record<string, string> {
    return Object.fromEntries([...this.containers].map(([id, c]) => [c.name, `${id} ${c.running ? 'running' : 'stopped'}`]));
  }
}

function blueprint(over: Partial<ContainerBlueprint> = {}): ContainerBlueprint {
  return { id: 'old1', name: 'web', imageName: 'busybox', image: 'busybox', imageId: 'sha256:abc', running: true, autoRemove: false, carried: ['Env (2)', 'HostConfig.Memory'], plan: {}, ...over };
}

const ASIDE = 'web-warden-old-20261123T101500Z';
const asDocker = (m: MemoryDocker): DockerAdapter => m as unknown as DockerAdapter;


describe('replaceContainer', () => {
  it('stops, renames the old one aside, creates under the name and starts, in that order', async () => {
    const d = new MemoryDocker();
    const id = await replaceContainer(asDocker(d), 'local', d.bp, 5, ASIDE);
    expect(d.calls).toEqual(['stop old1', `rename old1 ${ASIDE}`, 'create web', `start ${id}`]);
    expect(d.state()).toEqual({ web: `${id} running`, [ASIDE]: 'old1 stopped' });
  });

  it.each([
    ['create', ['stop old1', `rename old1 ${ASIDE}`, 'create web', 'rename old1 web', 'start old1']],
    ['start-new', ['stop old1', `rename old1 ${ASIDE}`, 'create web', 'start new1', 'remove new1 force', 'rename old1 web', 'start old1']],
  ] as const)('when %s fails, puts the old container back under its name and running', async (step, calls) => {
    const d = new MemoryDocker(new Set([step]));
    const f = await failureOf(replaceContainer(asDocker(d), 'local', d.bp, 5, ASIDE));
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(new RegExp(`^recreate of web on host local failed at ${step === 'create' ? 'create' : 'start'}: Docker on host local refused ${step}: boom; rolled back: the old container old1 is web again and running$`));
    expect(d.calls).toEqual(calls);
    expect(d.state()).toEqual({ web: 'old1 running' });
  });

  it('leaves a stopped container stopped when it rolls back', async () => {
    const d = new MemoryDocker(new Set(['create']), blueprint({ running: false }));
    const f = await failureOf(replaceContainer(asDocker(d), 'local', d.bp, 5, ASIDE));
    expect(f.message).toMatch(/rolled back: the old container old1 is web again$/);
    expect(d.calls).toEqual([`rename old1 ${ASIDE}`, 'create web', 'rename old1 web']);
    expect(d.state()).toEqual({ web: 'old1 stopped' });
  });

  it('says where the old container is when the rollback itself fails, and still starts it', async () => {
    const d = new MemoryDocker(new Set(['create', 'rename-back']));
    const f = await failureOf(replaceContainer(asDocker(d), 'local', d.bp, 5, ASIDE));
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(/rollback incomplete \(renaming it back: Docker on host local refused rename-back: boom\): the old container is old1, named web-warden-old-20261123T101500Z; a human must restore it$/);
    expect(d.state()).toEqual({ [ASIDE]: 'old1 running' });
  });

  it('starts the old container again when renaming it aside fails, and changes nothing else', async () => {
    const d = new MemoryDocker(new Set(['rename']));
    const f = await failureOf(replaceContainer(asDocker(d), 'local', d.bp, 5, ASIDE));
    expect(f.message).toBe('Docker on host local refused rename: boom');
    expect(d.calls).toEqual(['stop old1', `rename old1 ${ASIDE}`, 'start old1']);
    expect(d.state()).toEqual({ web: 'old1 running' });
  });

  it('changes nothing when the stop fails', async () => {
    const d = new MemoryDocker(new Set(['stop']));
    await failureOf(replaceContainer(asDocker(d), 'local', d.bp, 5, ASIDE));
    expect(d.calls).toEqual(['stop old1']);
    expect(d.state()).toEqual({ web: 'old1 running' });
  });
});

describe('recreate_container run', () => {
  const ctx = (d: MemoryDocker): ToolContext => ({
    adapters: { docker: () => asDocker(d) } as unknown as ToolContext['adapters'],
    inventory: undefined as unknown as ToolContext['inventory'],
    incidents: undefined as unknown as ToolContext['incidents'],
    changes: undefined as unknown as ToolContext['changes'],
    call: { id: 'call-1', principal: 'test', incidentId: null },
    signal: new AbortController().signal,
    log: silentLogger,
  });
  const input = { host: 'local', container: 'web', timeoutSeconds: 5, waitSeconds: 0 };

  it('removes the old container once the new one settled, and reports what was carried', async () => {
    const d = new MemoryDocker();
    const out = await recreateContainer.run(input, ctx(d));
    expect(out).toMatchObject({ name: 'web', id: 'new1', previousId: 'old1', settled: true, previousKept: null, carried: ['Env (2)', 'HostConfig.Memory'], image: 'busybox' });
    expect(d.state()).toEqual({ web: 'new1 running' });
    expect(d.calls.at(-1)).toBe('remove old1');
  });

  it('keeps the old container, stopped, when the new one does not settle', async () => {
    const d = new MemoryDocker();
    d.startContainer = async function (this: MemoryDocker, ref: string) {
      this.calls.push(`start ${ref}`); // Docker accepted the start, but the program exited at once
    };
    const out = await recreateContainer.run(input, ctx(d));
    expect(out).toMatchObject({ id: 'new1', settled: false, reason: expect.stringMatching(/^it exited with code 1/), previousKept: expect.stringMatching(/^web-warden-old-\d{8}T\d{6}Z$/) });
    expect(Object.values(d.state())).toEqual(['old1 stopped', 'new1 stopped']);
  });

  it('refuses a container Docker removes when it stops, touching nothing', async () => {
    const d = new MemoryDocker(new Set(), blueprint({ autoRemove: true }));
    const f = await failureOf(recreateContainer.run(input, ctx(d)));
    expect(f).toMatchObject({ kind: 'invalid_input', message: expect.stringMatching(/AutoRemove/) });
    expect(d.calls).toEqual([]);
  });
});

describe('asideName', () => {
  it('is a Docker name that sorts by time', () => {
    expect(asideName('web', new Date('2026-11-23T10:15:00.123Z'))).toBe(ASIDE);
    expect(asideName('web', new Date('2026-11-23T10:15:00.123Z'))).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });
});
