// docker_prune: removes stopped containers and untagged images one by one, each only after it was
// listed, so the report names exactly what went. Never a running container (Docker refuses without
// force, and we never force), never a volume, never an image a container still uses.
import { z } from 'zod';
import type { DockerAdapter } from '../adapters/docker.js';
import { ToolFailure } from '../errors.js';
import { sinceToUnixSeconds } from './log-text.js';
import { HostName, defineTool } from './spec.js';

export const MAX_REMOVALS = 100;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}(=[^\s,]{0,256})?$/;

const PruneInput = z
  .strictObject({
    host: HostName,
    containers: z.boolean().default(true).describe('Remove stopped containers.'),
    danglingImages: z.boolean().default(false).describe('Remove untagged images no container uses.'),
    labels: z.array(z.string().regex(LABEL, 'a label filter "key" or "key=value"')).max(10).default([])
      .describe('Only items with all these labels: "key" or "key=value".'),
    until: z.string().max(40)
      .refine((v) => sinceToUnixSeconds(v, Date.now()) !== undefined, 'expected an age such as 24h or 7d, or an RFC 3339 time')
      .optional()
      .describe('Only items created before this age ("24h") or RFC 3339 time.'),
  })
  .refine((i) => i.containers || i.danglingImages, { message: 'nothing to prune: set containers or danglingImages', path: ['containers'] });

const Removed = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  createdAt: z.string(),
  sizeBytes: z.number(),
});

const PruneOutput = z.object({
  host: z.string(),
  filters: z.object({ labels: z.array(z.string()), createdBefore: z.string().nullable() }),
  removedContainers: z.array(Removed),
  removedImages: z.array(Removed),
  skipped: z.array(z.object({ kind: z.enum(['container', 'image']), id: z.string(), name: z.string(), reason: z.string() })),
  spaceReclaimedBytes: z.number().describe('an upper bound for images'),
  more: z.boolean(),
});
type PruneOut = z.infer<typeof PruneOutput>;
type Candidate = z.infer<typeof Removed> & { created: number };

const iso = (unixS: number): string => new Date(unixS * 1000).toISOString();

/** Removes candidates oldest first; stops at MAX_REMOVALS, on cancel, or when Docker is unreachable. */
async function removeEach(kind: 'container' | 'image', all: Candidate[], remove: (id: string) => Promise<void>, out: PruneOut, signal: AbortSignal): Promise<void> {
  const list = [...all].sort((a, b) => a.created - b.created);
  if (list.length > MAX_REMOVALS) out.more = true;
  for (const c of list.slice(0, MAX_REMOVALS)) {
    if (signal.aborted) return;
    try {
      await remove(c.id);
    } catch (err) {
      if (!(err instanceof ToolFailure)) throw err;
      out.skipped.push({ kind, id: c.id, name: c.name, reason: err.message });
      if (err.kind === 'unavailable') return;
      continue;
    }
    const { created: _created, ...row } = c;
    (kind === 'container' ? out.removedContainers : out.removedImages).push(row);
    out.spaceReclaimedBytes += c.sizeBytes;
  }
}

async function candidates(docker: DockerAdapter, input: z.infer<typeof PruneInput>, before: number | undefined) {
  const filter = { labels: input.labels };
  const old = (created: number): boolean => before === undefined || created < before;
  const containers = input.containers ? (await docker.stoppedContainers(filter)).filter((c) => old(c.created)) : [];
  const images = input.danglingImages ? (await docker.danglingImages(filter)).filter((i) => old(i.created)) : [];
  return {
    containers: containers.map((c) => ({ id: c.id, name: c.name, image: c.image, createdAt: iso(c.created), sizeBytes: c.sizeBytes, created: c.created })),
    images: images.map((i) => ({ id: i.id, name: '', image: '', createdAt: iso(i.created), sizeBytes: i.sizeBytes, created: i.created })),
  };
}

function describeFilters(i: { containers: boolean; danglingImages: boolean; labels: string[]; until?: string }): string {
  const what = [i.containers ? 'stopped containers (created, exited, dead)' : '', i.danglingImages ? 'dangling images used by no container' : ''].filter(Boolean).join(' and ');
  const labels = i.labels.length ? ` with labels ${i.labels.map((l) => `label=${l}`).join(', ')}` : ' with any labels';
  return `${what}${labels}${i.until ? `, created before ${i.until}${/^\d+[smhd]$/.test(i.until) ? ' ago' : ''}` : ''}`;
}

export const dockerPrune = defineTool({
  name: 'docker_prune',
  title: 'Prune stopped containers and dangling images',
  description:
    'Removes stopped containers and, with danglingImages, unused untagged images on one host (filter: labels, until): when they fill a disk. ' +
    `Never running containers, volumes or images in use; a removed container\'s logs are gone. At most ${MAX_REMOVALS} of each (more=true: call again).`,
  family: 'docker',
  risk: 'medium',
  effect: 'remove',
  input: PruneInput,
  output: PruneOutput,
  target: (i) => `${i.host}/*`,
  plan: (i) => `prune on host ${i.host}: ${describeFilters(i)}; at most ${MAX_REMOVALS} of each, oldest first (which ones is known only when it runs)`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    const before = input.until === undefined ? undefined : sinceToUnixSeconds(input.until, Date.now());
    const out: PruneOut = {
      host: input.host,
      filters: { labels: input.labels, createdBefore: before === undefined ? null : iso(before) },
      removedContainers: [], removedImages: [], skipped: [], spaceReclaimedBytes: 0, more: false,
    };
    const found = await candidates(docker, input, before);
    // Containers first: an image freed by a removed container is listed before this call, so it stays.
    await removeEach('container', found.containers, (id) => docker.removeContainer(id, { force: false }), out, ctx.signal);
    await removeEach('image', found.images, (id) => docker.removeImage(id), out, ctx.signal);
    ctx.log.info({ removedContainers: out.removedContainers.map((c) => c.id), removedImages: out.removedImages.map((i) => i.id) }, 'docker_prune removed');
    return out;
  },
  summarize: summarizePrune,
});

function summarizePrune(o: PruneOut): string {
  const MiB = 1024 * 1024;
  const skipped = o.skipped.length ? `; ${o.skipped.length} skipped (still there)` : '';
  return `${o.host}: removed ${o.removedContainers.length} containers and ${o.removedImages.length} images, ` +
    `${Math.round((o.spaceReclaimedBytes / MiB) * 10) / 10} MiB reclaimed${skipped}${o.more ? ' (more remain: call again)' : ''}`;
}
