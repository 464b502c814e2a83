// docker_prune on a real dockerd, through the guard with a real SDK client: it removes exactly the
// stopped containers and dangling images its filters match, reports each one, and leaves running
// containers, other labels and images in use alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { createContainer, dockerFor, waitUntil } from '../support/containers.js';
import { callTool, containerNames } from '../support/write-tools.js';

let dockerd: Dockerd;

beforeAll(async () => {
  dockerd = await startDockerd();
});

afterAll(async () => {
  await dockerd?.stop();
});

const exited = (i: { State: { Status: string } }) => i.State.Status === 'exited';

type Row = { id: string; name: string; sizeBytes: number };
type PruneOut = { removedContainers: Row[]; removedImages: Row[]; skipped: Array<{ kind: string; id: string; reason: string }>; spaceReclaimedBytes: number; more: boolean };

/** A container that writes `bytes` into its own layer and exits, committed as `repo:x` with one label. */
async function commitImage(name: string, repo: string, label: string, bytes: number): Promise<string> {
  const c = await createContainer(dockerd, name, { cmd: ['sh', '-c', `head -c ${bytes} /dev/zero > /blob`] });
  await waitUntil(c, 'exited', exited);
  const r = (await c.commit({ repo, tag: 'x', changes: `LABEL ${label}` })) as { Id: string };
  return r.Id.replace(/^sha256:/, '').slice(0, 12);
}

async function imageIds(): Promise<string[]> {
  return (await dockerFor(dockerd).listImages({ all: true })).map((i) => i.Id.replace(/^sha256:/, '').slice(0, 12)).sort();
}

describe('docker_prune', () => {
  it('removes exactly the stopped containers with the label, reports each, and leaves the rest', async () => {
    const label = { 'warden-test': 'prune-c' };
    const p1 = await createContainer(dockerd, 'pc-exited', { labels: label, cmd: ['sh', '-c', 'head -c 100000 /dev/zero > /blob'] });
    await createContainer(dockerd, 'pc-created', { labels: label, start: false });
    const p3 = await createContainer(dockerd, 'pc-unlabelled', { cmd: ['true'] });
    await createContainer(dockerd, 'pc-running', { labels: label });
    await Promise.all([waitUntil(p1, 'exited', exited), waitUntil(p3, 'exited', exited)]);

    const young = await callTool(dockerd, 'docker_prune', { labels: ['warden-test=prune-c'], until: '1h' });
    expect(young.result.isError, young.text).toBeFalsy();
    expect(young.out).toMatchObject({ removedContainers: [], removedImages: [], skipped: [], spaceReclaimedBytes: 0, filters: { labels: ['warden-test=prune-c'], createdBefore: expect.any(String) } });
    expect(await containerNames(dockerd)).toEqual(expect.arrayContaining(['pc-exited', 'pc-created']));

    const call = await callTool(dockerd, 'docker_prune', { labels: ['warden-test=prune-c'] });
    const out = call.out as PruneOut;
    expect(out.removedContainers.map((c) => c.name).sort()).toEqual(['pc-created', 'pc-exited']);
    expect(out).toMatchObject({ removedImages: [], skipped: [], more: false });
    const names = await containerNames(dockerd);
    expect(names.filter((n) => n.startsWith('pc-'))).toEqual(['pc-running', 'pc-unlabelled']);
    expect(out.removedContainers.find((c) => c.name === 'pc-exited')!.sizeBytes).toBeGreaterThanOrEqual(100_000);
    expect(out.spaceReclaimedBytes).toBe(out.removedContainers.reduce((n, c) => n + c.sizeBytes, 0));
    expect(call.text).toMatch(/^local: removed 2 containers and 0 images, [\d.]+ MiB reclaimed$/);
  });

  it('removes a dangling image with the label, skips one a container still uses, and keeps tagged images', async () => {
    // Committing a second image to the same tag leaves the first untagged: dangling.
    const dangling = await commitImage('pi-src-1', 'warden-test/dangle', 'warden-test=prune-i', 200_000);
    const tagged = await commitImage('pi-src-2', 'warden-test/dangle', 'warden-test=prune-i', 1_000);
    const inUse = await commitImage('pi-src-3', 'warden-test/inuse', 'warden-test=prune-i', 1_000);
    await dockerFor(dockerd).createContainer({ name: 'pi-user', Image: 'warden-test/inuse:x', Cmd: ['sleep', '1000'], HostConfig: { NetworkMode: 'none' } }).then((c) => c.start());
    await commitImage('pi-src-4', 'warden-test/inuse', 'warden-test=prune-i', 1_000);
    const before = await imageIds();
    expect(before).toEqual(expect.arrayContaining([dangling, tagged, inUse]));

    const call = await callTool(dockerd, 'docker_prune', { containers: false, danglingImages: true, labels: ['warden-test=prune-i'] });
    expect(call.result.isError, call.text).toBeFalsy();
    const out = call.out as PruneOut;
    expect(out.removedImages.map((i) => i.id)).toEqual([dangling]);
    expect(out.removedContainers).toEqual([]);
    expect(out.skipped).toEqual([{ kind: 'image', id: inUse, name: '', reason: expect.stringMatching(/refused remove image .*(being used|conflict)/i) }]);
    expect(out.spaceReclaimedBytes).toBe(out.removedImages[0]!.sizeBytes);
    expect(out.spaceReclaimedBytes).toBeGreaterThan(200_000);
    expect(await imageIds()).toEqual(before.filter((id) => id !== dangling));
    expect((await containerNames(dockerd)).filter((n) => n.startsWith('pi-'))).toEqual(['pi-src-1', 'pi-src-2', 'pi-src-3', 'pi-src-4', 'pi-user']);
    expect(call.text).toMatch(/^local: removed 0 containers and 1 images, [\d.]+ MiB reclaimed; 1 skipped \(still there\)$/);
  });

  it('refuses a call that would prune nothing, naming the field', async () => {
    const call = await callTool(dockerd, 'docker_prune', { containers: false });
    expect(call.text).toMatch(/^\[invalid_input\] invalid arguments for docker_prune: containers: nothing to prune/);
  });

  it('refuses an until that is no age or time', async () => {
    const call = await callTool(dockerd, 'docker_prune', { until: 'last week' });
    expect(call.text).toMatch(/until: expected an age such as 24h or 7d, or an RFC 3339 time/);
  });
});
