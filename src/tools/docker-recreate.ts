// recreate_container: a new container from the same image and the same configuration, in the one
// order that never leaves the name without a container that can run: stop -> rename the old one aside
// -> create under the name -> start -> remove the old one. Any failure before the new one runs puts the
// old one back (name, and running if it was). update_container_config reuses this order to change the
// image tag or environment, as a change transaction (container-config.ts).
import { z } from 'zod';
import type { Amendment } from '../adapters/docker-blueprint.js';
import type { ContainerBlueprint, DockerAdapter } from '../adapters/docker.js';
import { ToolFailure } from '../errors.js';
import { SettledFields, WaitSeconds, summarizeSettled, waitSettled } from './docker-settle.js';
import { ContainerRef, HostName, defineTool } from './spec.js';
import { bareName } from '../shared/containers.js';

const MAX_CARRIED = 100;

/** What a dry run can promise without reading: every setting inspect reports is carried. */
export const CARRIED_SUMMARY =
  'Cmd, Entrypoint, Env, WorkingDir, User, Labels, ExposedPorts, Healthcheck, StopSignal, Tty and the rest of its Config; ' +
  'all of its HostConfig (Binds, Mounts, Memory, MemorySwap, NanoCpus, CpuShares, CpuQuota, PidsLimit, RestartPolicy, NetworkMode, ' +
  'LogConfig, CapAdd, CapDrop, Privileged, ReadonlyRootfs, Devices, ExtraHosts, Ulimits, PortBindings, ...); its networks with aliases; ' +
  'its anonymous volumes, mounted again';

/** A name Docker accepts and sorts by time: `<name>-warden-old-20261123T101500Z`. */
export function asideName(name: string, now: Date): string {
  return `${name}-warden-old-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

const said = (err: unknown): string => (err instanceof ToolFailure ? err.message : 'an internal error');

/**
 * Puts the old container back after a failed step: removes the half-made new one, gives the old its
 * name again and starts it if it was running. Always throws target_failed, saying what state is left.
 */
async function rollBack(docker: DockerAdapter, host: string, bp: ContainerBlueprint, aside: string, newId: string | undefined, step: string, cause: unknown): Promise<never> {
  const problems: string[] = [];
  if (newId) await docker.removeContainer(newId, { force: true }).catch((e: unknown) => problems.push(`removing the new container ${newId}: ${said(e)}`));
  let renamed = true;
  await docker.renameContainer(bp.id, bp.name).catch((e: unknown) => {
    renamed = false;
    problems.push(`renaming it back: ${said(e)}`);
  });
  // Started even under the aside name: a service up under the wrong name beats a service down.
  if (bp.running) await docker.startContainer(bp.id).catch((e: unknown) => problems.push(`starting it: ${said(e)}`));
  const head = `recreate of ${bp.name} on host ${host} failed at ${step}: ${said(cause)}`;
  if (problems.length === 0) {
    throw new ToolFailure('target_failed', `${head}; rolled back: the old container ${bp.id} is ${bp.name} again${bp.running ? ' and running' : ''}`, {}, cause);
  }
  const where = renamed ? bp.name : aside;
  throw new ToolFailure('target_failed', `${head}; rollback incomplete (${problems.join('; ')}): the old container is ${bp.id}, named ${where}; a human must restore it`, {}, cause);
}

/** Steps up to a started new container; returns its id. Rolls back and throws on any failure after the stop. */
export async function replaceContainer(docker: DockerAdapter, host: string, bp: ContainerBlueprint, graceS: number, aside: string, amend?: Amendment): Promise<string> {
  if (bp.running) await docker.stopContainer(bp.id, graceS);
  try {
    await docker.renameContainer(bp.id, aside);
  } catch (err) {
    if (bp.running) await docker.startContainer(bp.id).catch(() => undefined);
    throw err;
  }
  let newId: string | undefined;
  let step = 'create';
  try {
    newId = await docker.createFromBlueprint(bp, bp.name, amend);
    step = 'start';
    await docker.startContainer(newId);
    return newId;
  } catch (err) {
    return rollBack(docker, host, bp, aside, newId, step, err);
  }
}

/** The container's blueprint, refused for one Docker removes on stop (it could not be kept aside). */
export async function recreatable(docker: DockerAdapter, host: string, ref: string): Promise<ContainerBlueprint> {
  const bp = await docker.blueprint(ref);
  if (bp.autoRemove) {
    throw new ToolFailure('invalid_input', `${bp.name} on host ${host} has AutoRemove set: Docker deletes it when it stops, so it cannot be recreated safely`);
  }
  return bp;
}

const RecreateOutput = z.object({
  ...SettledFields,
  previousId: z.string(),
  image: z.string(),
  imageId: z.string(),
  carried: z.array(z.string()),
  previousKept: z.string().nullable(),
});

export const recreateContainer = defineTool({
  name: 'recreate_container',
  title: 'Recreate a container',
  description:
    'Replaces one container with a new, started one from the same image id and configuration: for bad state a restart does not clear. ' +
    'New tag or env: update_container_config. Downtime; new id; writable layer discarded, volumes kept. Unsettled: the old one is kept stopped (previousKept).',
  family: 'docker',
  risk: 'medium',
  effect: 'restart',
  input: z.strictObject({
    host: HostName,
    container: ContainerRef,
    timeoutSeconds: z.number().int().min(0).max(300).default(10).describe('Grace period before SIGKILL.'),
    waitSeconds: WaitSeconds,
  }),
  output: RecreateOutput,
  target: (i) => `${i.host}/${bareName(i.container)}`,
  plan: (i) =>
    `recreate container ${i.container} on host ${i.host}: stop it (grace ${i.timeoutSeconds}s), rename it to ${bareName(i.container)}-warden-old-<time>, ` +
    `create a new container under its name from the same image id carrying over ${CARRIED_SUMMARY}; start it and wait up to ${i.waitSeconds}s ` +
    'for it to be running and healthy, then remove the old one (volumes kept); if a step fails, remove the new one, rename the old one back and start it',
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    const bp = await recreatable(docker, input.host, input.container);
    const aside = asideName(bp.name, new Date());
    const newId = await replaceContainer(docker, input.host, bp, input.timeoutSeconds, aside);
    const settled = await waitSettled(docker, input.host, newId, input.waitSeconds, ctx.signal);
    let previousKept: string | null = aside;
    if (settled.settled) {
      // Without force: should anyone have started the old one meanwhile, Docker refuses and it stays.
      await docker.removeContainer(bp.id, { force: false }).then(() => { previousKept = null; }, (err: unknown) => ctx.log.warn({ err, id: bp.id }, 'could not remove the replaced container'));
    }
    return { ...settled, previousId: bp.id, image: bp.image, imageId: bp.imageId, carried: bp.carried.slice(0, MAX_CARRIED), previousKept };
  },
  summarize: (o) => {
    const head = summarizeSettled(`recreated (new id ${o.id}, was ${o.previousId})`, o);
    const kept = o.previousKept ? `; the old container is kept, stopped, as ${o.previousKept}` : '';
    return `${head}\nimage ${o.image}; ${o.carried.length} settings carried over${kept}`;
  },
});
