// update_container_config: a container's image tag or environment changed through a recreate, as a
// change transaction. A tool of its own, not an option of recreate_container: a policy that lets
// recreates run without a human must not thereby let a model swap images or secrets.
import { z } from 'zod';
import type { Amendment } from '../adapters/docker-blueprint.js';
import { ToolFailure } from '../errors.js';
import { bareName } from '../shared/containers.js';
import { CHANGE_OVERHEAD_MS, ChangeFields, VerifySeconds } from './change-transaction.js';
import { EnvChange, amendmentProblem, recreateAsChange } from './container-recreate-change.js';
import { WaitSeconds } from './docker-settle.js';
import { asideName, recreatable, replaceContainer } from './docker-recreate.js';
import { ContainerRef, HostName, defineTool } from './spec.js';

const Input = z.strictObject({
  host: HostName,
  container: ContainerRef,
  image: z.string().min(1).max(255).regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'an image reference').optional()
    .describe('Another tag of its image, already on the host, e.g. "shop/web:1.5".'),
  env: EnvChange.optional().describe('Env variables to set or unset.'),
  timeoutSeconds: z.number().int().min(0).max(300).default(10).describe('Grace period before SIGKILL.'),
  waitSeconds: WaitSeconds,
  verifySeconds: VerifySeconds,
});

export const updateContainerConfig = defineTool({
  name: 'update_container_config',
  title: 'Change a container\'s image tag or environment',
  description:
    'Recreates a container with another local tag of its image (never pulled) and/or env set or unset, keeping the rest. ' +
    'The old one is put back unless the new one passes its check for verifySeconds. Env values never shown.',
  family: 'docker',
  risk: 'medium',
  effect: 'config',
  finishesAfterAbort: true,
  input: Input,
  output: z.object({ ...ChangeFields, previousId: z.string(), newId: z.string(), image: z.string() }),
  target: (i) => `${i.host}/${bareName(i.container)}`,
  resolve: (i) => {
    if (i.image === undefined && i.env === undefined) throw new ToolFailure('invalid_input', 'give image or env (or both)');
    return { deadlineMs: (i.timeoutSeconds + i.waitSeconds + i.verifySeconds) * 2_000 + CHANGE_OVERHEAD_MS };
  },
  plan: (i) => `recreate ${i.container} on ${i.host}${i.image ? ` with image ${i.image}` : ''}${i.env ? ` with env set ${Object.keys(i.env.set).join(', ') || '-'}, unset ${i.env.unset.join(', ') || '-'}` : ''}; keep the old one aside until the new one holds for ${i.verifySeconds} s, else put it back`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    const bp = await recreatable(docker, input.host, input.container);
    const problem = await amendmentProblem(docker, bp, input.image, input.env);
    if (problem) throw new ToolFailure('invalid_input', problem);
    const amend: Amendment = { ...(input.image ? { image: input.image } : {}), ...(input.env ? { env: input.env } : {}) };
    const done = await recreateAsChange(ctx, {
      host: input.host, bp, amend, aside: asideName(bp.name, new Date()), graceS: input.timeoutSeconds,
      waitSeconds: input.waitSeconds, verifySeconds: input.verifySeconds, replace: replaceContainer,
    });
    const { newId, ...change } = done;
    return { ...change, previousId: bp.id, newId, image: input.image ?? bp.imageName };
  },
  summarize: (o) => `${o.changeId} ${o.status}: ${o.summary}\nnew container ${o.newId} (was ${o.previousId}); check: ${o.verification.split('\n')[0]!.slice(0, 300)}`,
});
