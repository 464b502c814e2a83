// update_container_config on a real dockerd: a new image tag or environment through a recreate, as a change transaction.
// The new container must keep running for verifySeconds; then the old one is removed. A new
// container that dies puts the old one back under its name, running, with its old environment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer, dockerFor } from '../support/containers.js';
import { callTool, containerNames, inspectByName } from '../support/write-tools.js';

let dockerd: Dockerd;

beforeAll(async () => {
  dockerd = await startDockerd();
  // A second tag of the test image: a tag change warden may make without pulling anything.
  await dockerFor(dockerd).getImage(dockerd.image).tag({ repo: dockerd.image.split(':')[0]!, tag: 'v2' });
});

afterAll(async () => {
  await dockerd?.stop();
});

// Runs only while MODE is good: a wrong environment makes it exit at once.
const PICKY = ['sh', '-c', '[ "$MODE" = good ] || exit 3; exec sleep 100000'];
const ALLOW = 'rules:\n  - { tool: [update_container_config, rollback_change], decision: allow }\n';
const envOf = async (name: string): Promise<string[]> => (await inspectByName(dockerd, name)).Config.Env ?? [];

describe('update_container_config', () => {
  it('sets an environment variable: the new container runs with it for verifySeconds, then the old one is removed', async () => {
    const old = await createContainer(dockerd, 'rc-env', { cmd: PICKY, env: ['MODE=good', 'KEEP=1'] });
    const oldId = (await old.inspect()).Id;
    const r = await callTool(dockerd, 'update_container_config', { container: 'rc-env', env: { set: { MODE: 'good', EXTRA: 'xq-unique-77' } }, verifySeconds: 2, waitSeconds: 10, timeoutSeconds: 1 }, ALLOW);
    expect(r.result.isError, r.text).toBeFalsy();
    expect(r.out).toMatchObject({ status: 'verified', previousId: oldId.slice(0, 12), changeId: expect.stringMatching(/^chg_/) });
    expect((await inspectByName(dockerd, 'rc-env')).State.Running).toBe(true);
    expect(await envOf('rc-env')).toEqual(expect.arrayContaining(['MODE=good', 'KEEP=1', 'EXTRA=xq-unique-77']));
    expect((await inspectByName(dockerd, 'rc-env')).Config.Labels).toMatchObject({ 'warden.change': r.out.changeId });
    expect(await containerNames(dockerd)).not.toContain(expect.stringMatching(/^rc-env-warden-old-/));
    // The value never leaves the call: not in its result, not in the audit.
    expect(r.text).not.toContain('xq-unique-77');
    expect(JSON.stringify(r.audit)).not.toContain('xq-unique-77');
  });

  it('puts the old container back, running, with its restart policy, when the new one dies within its check: the change is rolled back', async () => {
    const old = await createContainer(dockerd, 'rc-bad', { cmd: PICKY, env: ['MODE=good'], hostConfig: { RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 } } });
    const oldId = (await old.inspect()).Id;
    const r = await callTool(dockerd, 'update_container_config', { container: 'rc-bad', env: { set: { MODE: 'bad' } }, verifySeconds: 3, waitSeconds: 5, timeoutSeconds: 1 }, ALLOW);
    expect(r.result.isError).toBe(true);
    expect(r.text).toMatch(/failed its check: .*ROLLED BACK automatically/s);
    const now = await inspectByName(dockerd, 'rc-bad');
    expect(now.Id).toBe(oldId);
    expect(now.State.Running).toBe(true);
    expect(now.Config.Env).toContain('MODE=good');
    expect(now.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect((await containerNames(dockerd)).filter((n) => n.startsWith('rc-bad'))).toEqual(['rc-bad']);
  });

  it('changes the image to another tag of the same repository already on the host', async () => {
    await createContainer(dockerd, 'rc-tag', { cmd: ['sleep', '100000'] });
    const v2 = `${dockerd.image.split(':')[0]}:v2`;
    const r = await callTool(dockerd, 'update_container_config', { container: 'rc-tag', image: v2, verifySeconds: 1, waitSeconds: 10, timeoutSeconds: 1 }, ALLOW);
    expect(r.result.isError, r.text).toBeFalsy();
    expect((await inspectByName(dockerd, 'rc-tag')).Config.Image).toBe(v2);
  });

  it('is a tool of its own: a policy that lets recreate_container run does not let an image or env change run', async () => {
    await createContainer(dockerd, 'rc-policy', { cmd: ['sleep', '100000'], env: ['MODE=good'] });
    const r = await callTool(dockerd, 'update_container_config', { container: 'rc-policy', env: { set: { MODE: 'other' } } }, 'rules:\n  - { tool: recreate_container, decision: allow }\n');
    expect(r.text).toMatch(/approval_required/);
    expect(await envOf('rc-policy')).toContain('MODE=good');
  });

  it.each([
    ['another repository', { image: 'someone-else/app:1' }, /image: someone-else\/app:1 is not a tag of/],
    ['a tag the host does not have (warden never pulls)', { image: 'warden-busybox:nope' }, /is not on host local; warden never pulls images/],
    ['an image named by id', { image: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' }, /is not a repository:tag/],
    ['a variable both set and unset', { env: { set: { A: '1' }, unset: ['A'] } }, /env: A both set and unset/],
  ])('refuses %s before anything is stopped', async (_what, args, message) => {
    const c = await createContainer(dockerd, `rc-refuse-${Math.random().toString(36).slice(2, 8)}`, { cmd: ['sleep', '100000'] });
    const before = await c.inspect();
    const r = await callTool(dockerd, 'update_container_config', { container: before.Name.slice(1), ...args }, ALLOW);
    expect(r.text).toMatch(message);
    const after = await c.inspect();
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
  });
});
