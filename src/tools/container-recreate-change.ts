// recreate_container with a new image tag or environment: a change transaction around the
// recreate's own safe order (stop -> rename aside -> create -> start, the old one put back on any
// failure). The old container is kept, stopped, until the new one passed its check for
// verifySeconds; then it is removed. A failed check puts the old one back under its name.
import { z } from 'zod';
import type { Amendment } from '../adapters/docker-blueprint.js';
import { isUntaggedRef, repositoryOf } from '../adapters/docker-blueprint.js';
import type { ContainerBlueprint, DockerAdapter } from '../adapters/docker.js';
import { ToolFailure } from '../errors.js';
import { Rejected, holdCheck, runChange, type ChangeKind, type ChangeOutcome } from './change-transaction.js';
import { healthProbe, runsNow } from './container-check.js';
import { waitSettled } from './docker-settle.js';
import type { Probe } from './nginx-change.js';
import type { ToolContext } from './spec.js';

export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

export const MAX_ENV_CHANGES = 64;

export const EnvChange = z.strictObject({
  set: z.record(EnvName, z.string().max(4096).refine((v) => !v.includes('\0'), 'no NUL')).default({})
    .refine((m) => Object.keys(m).length <= MAX_ENV_CHANGES, `at most ${MAX_ENV_CHANGES} variables`)
    .describe('Variables to set; values are never shown.'),
  unset: z.array(EnvName).max(MAX_ENV_CHANGES).default([]).describe('Variables to remove.'),
});
export type EnvChange = z.infer<typeof EnvChange>;

interface RecreatePlan {
  host: string;
  name: string;
  /** The container that was replaced, kept aside until the new one is checked. */
  oldId: string;
  aside: string;
  wasRunning: boolean;
  /** The old container's restart policy: set to "no" while it is aside, given back by a rollback. */
  restartPolicy: { name: string; maximumRetryCount: number };
  probe: Probe | null;
  verifySeconds: number;
  waitSeconds: number;
}

const NO_RESTART = { name: 'no', maximumRetryCount: 0 };

/** Which container holds the name now, as the recorded states name it. */
const stateOf = (b: Buffer): { containerId: string } => JSON.parse(b.toString('utf8')) as { containerId: string };

/**
 * The full id of the container by this exact name (or id), undefined when there is none. Docker
 * also resolves a name it does not have as an ID prefix ("db" -> a container whose id starts db),
 * so a name must come back as that name. Only "no such container" is none: a Docker that does not
 * answer is an error, never "gone".
 */
async function holder(docker: DockerAdapter, ref: string, byName: boolean): Promise<string | undefined> {
  try {
    const c = await docker.resolveContainer(ref);
    return !byName || c.name === ref ? c.id : undefined;
  } catch (err) {
    if (err instanceof ToolFailure && err.kind === 'invalid_input') return undefined;
    throw err;
  }
}

const CHANGE_LABEL = 'warden.change';

const sameId = (full: string | undefined, short: string): boolean => full !== undefined && full.startsWith(short);

export const containerRecreateKind: ChangeKind = {
  kind: 'container_recreate',
  async drift(change, ctx) {
    const plan = change.plan as RecreatePlan;
    const docker = ctx.adapters.docker(plan.host);
    if (!(await holder(docker, plan.oldId, false))) return `the old container ${plan.oldId} was removed after the new one passed its check: recreate ${plan.name} with its old image or environment instead`;
    const now = await holder(docker, plan.name, true);
    const newId = change.afterRef ? stateOf(ctx.changes.load(change.afterRef)).containerId : undefined;
    if (now && !sameId(now, plan.oldId) && !(newId && sameId(now, newId))) return `${plan.name} is now another container (${now.slice(0, 12)}) than this change made or replaced: a rollback would remove it`;
    return undefined;
  },
  async restore(change, ctx) {
    const plan = change.plan as RecreatePlan;
    const docker = ctx.adapters.docker(plan.host);
    const newId = change.afterRef ? stateOf(ctx.changes.load(change.afterRef)).containerId : undefined;
    if (!(await holder(docker, plan.oldId, false))) throw new ToolFailure('target_failed', `the old container ${plan.oldId} of ${plan.name} is gone: it cannot be put back`);
    const now = await holder(docker, plan.name, true);
    if (now && !sameId(now, plan.oldId)) {
      // Only what this change made: the recorded new container, or one labelled with this change
      // (a crash between create and the record). A container someone else made is never removed.
      const ours = (newId && sameId(now, newId)) || (await docker.containerState(now)).labels[CHANGE_LABEL] === change.id;
      if (!ours) throw new ToolFailure('target_failed', `${plan.name} is now a container warden did not make (${now.slice(0, 12)}): it is not removed`);
      await docker.removeContainer(now, { force: true });
    }
    if (!sameId(now, plan.oldId)) await docker.renameContainer(plan.oldId, plan.name);
    if (plan.restartPolicy && plan.restartPolicy.name !== NO_RESTART.name) await docker.setRestartPolicy(plan.oldId, plan.restartPolicy);
    if (plan.wasRunning) await docker.startContainer(plan.oldId);
    return `the old container ${plan.oldId} is ${plan.name} again${plan.wasRunning ? ' and running' : ''}`;
  },
  async check(change, ctx, expect) {
    const plan = change.plan as RecreatePlan;
    const docker = ctx.adapters.docker(plan.host);
    const want = expect === 'after' ? (change.afterRef ? stateOf(ctx.changes.load(change.afterRef)).containerId : undefined) : plan.oldId;
    const now = await holder(docker, plan.name, true);
    if (!want || !sameId(now, want)) return { ok: false, detail: `${plan.name} is not the ${expect === 'after' ? 'new' : 'old'} container ${want ?? '?'} (it is ${now?.slice(0, 12) ?? 'missing'})` };
    const at = { host: plan.host, id: want, name: plan.name, probe: plan.probe };
    if (expect === 'before') return plan.wasRunning ? holdCheck(() => runsNow(ctx, at), 3, ctx.signal) : { ok: true, detail: `${plan.name} is the old container again` };
    const settled = await waitSettled(docker, plan.host, want, plan.waitSeconds, ctx.signal);
    if (!settled.settled) return { ok: false, detail: `the new ${plan.name} did not settle: ${settled.reason ?? ''}` };
    return holdCheck(() => runsNow(ctx, at), plan.verifySeconds, ctx.signal);
  },
  async finalize(change, ctx) {
    const plan = change.plan as RecreatePlan;
    // Without force: should anyone have started the old one meanwhile, Docker refuses and it stays.
    await ctx.adapters.docker(plan.host).removeContainer(plan.oldId, { force: false })
      .catch((err: unknown) => ctx.log.warn({ err, id: plan.oldId }, 'could not remove the replaced container'));
  },
};

/** Why this amendment is refused, naming the field; checks the image is on the host (warden never pulls). */
export async function amendmentProblem(docker: DockerAdapter, bp: ContainerBlueprint, image: string | undefined, env: EnvChange | undefined): Promise<string | undefined> {
  if (image !== undefined) {
    if (isUntaggedRef(image)) return `image: ${image} is not a repository:tag; name the tag to run (an id or digest cannot be checked against the image ${bp.name} runs)`;
    if (isUntaggedRef(bp.imageName)) return `image: ${bp.name} runs an image by id or without a tag (${bp.imageName}), so no tag change can be checked against it`;
    if (repositoryOf(image) !== repositoryOf(bp.imageName)) return `image: ${image} is not a tag of ${repositoryOf(bp.imageName)}, the image ${bp.name} runs; only the tag may change`;
    if (!(await docker.imageId(image))) return `image: ${image} is not on host ${docker.host}; warden never pulls images: pull it there first`;
  }
  if (env) {
    const both = env.unset.filter((k) => k in env.set);
    if (both.length) return `env: ${both.join(', ')} both set and unset`;
    if (Object.keys(env.set).length === 0 && env.unset.length === 0) return 'env: give set or unset';
  }
  return undefined;
}

export function describeAmendment(bp: ContainerBlueprint, a: Amendment): string {
  const parts = [
    ...(a.image ? [`image ${bp.imageName} -> ${a.image}`] : []),
    ...(a.env && Object.keys(a.env.set).length ? [`env set ${Object.keys(a.env.set).join(', ')}`] : []),
    ...(a.env?.unset.length ? [`env unset ${a.env.unset.join(', ')}`] : []),
  ];
  return parts.join('; ');
}

export interface AmendedRecreate {
  host: string;
  bp: ContainerBlueprint;
  amend: Amendment;
  aside: string;
  graceS: number;
  verifySeconds: number;
  waitSeconds: number;
  replace: (docker: DockerAdapter, host: string, bp: ContainerBlueprint, graceS: number, aside: string, amend: Amendment) => Promise<string>;
}

/** The recreate as a change; the old container is removed only once the new one passed its check. */
export async function recreateAsChange(ctx: ToolContext, r: AmendedRecreate): Promise<ChangeOutcome & { newId: string }> {
  const docker = ctx.adapters.docker(r.host);
  const { restartPolicy } = await docker.containerState(r.bp.id);
  const plan: RecreatePlan = {
    host: r.host, name: r.bp.name, oldId: r.bp.id, aside: r.aside, wasRunning: r.bp.running, restartPolicy,
    probe: healthProbe(ctx.inventory, r.host, r.bp.name), verifySeconds: r.verifySeconds, waitSeconds: r.waitSeconds,
  };
  let newId = '';
  const done = await runChange(ctx, {
    kind: containerRecreateKind, target: `${r.host}/${r.bp.name}`, service: ctx.inventory.serviceAt(r.host, r.bp.name)?.name ?? null,
    summary: `${r.host}/${r.bp.name}: recreate with ${describeAmendment(r.bp, r.amend)}`, plan,
    before: Buffer.from(JSON.stringify({ containerId: r.bp.id })),
    async apply(changeId) {
      newId = await r.replace(docker, r.host, r.bp, r.graceS, r.aside, { ...r.amend, labels: { [CHANGE_LABEL]: changeId } }).catch((err: unknown) => {
        // replaceContainer put the old container back itself: nothing is changed.
        if (err instanceof ToolFailure && err.kind === 'target_failed' && /rolled back: the old container/.test(err.message)) throw new Rejected(err.message, err);
        throw err;
      });
      // Aside and stopped, it must stay down even if dockerd restarts before the check ends:
      // a restart policy of always would start it beside the new one on the same volumes.
      if (restartPolicy.name !== NO_RESTART.name) await docker.setRestartPolicy(r.bp.id, NO_RESTART);
      return { after: Buffer.from(JSON.stringify({ containerId: newId })), validation: `Docker created and started ${newId} (${describeAmendment(r.bp, r.amend)})` };
    },
  });
  return { ...done, newId };
}

