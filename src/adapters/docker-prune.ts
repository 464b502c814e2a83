// The candidates for docker_prune, listed the way Docker's own prune chooses them: containers that
// are not running (created, exited, dead), and untagged images. Reading only; removal is per item.
import type Docker from 'dockerode';
import { bareName } from '../shared/containers.js';

export interface PruneFilter {
  /** Docker label filters, each "key" or "key=value"; all must match. */
  labels: readonly string[];
}

export interface StoppedContainer {
  id: string;
  name: string;
  image: string;
  state: string;
  /** Unix seconds. */
  created: number;
  /** The writable layer: what removing it frees (Docker's own prune sums the same). */
  sizeBytes: number;
}

export interface ImageRow {
  id: string;
  /** Unix seconds. */
  created: number;
  /** The image with its layers; layers other images share are not freed when it goes. */
  sizeBytes: number;
}

/** Paused and restarting containers count as running, as in `docker container prune`. */
const STOPPED_STATES = ['created', 'exited', 'dead'];

export async function listStoppedContainers(docker: Docker, filter: PruneFilter): Promise<StoppedContainer[]> {
  const list = await docker.listContainers({
    all: true,
    size: true,
    filters: { status: STOPPED_STATES, ...(filter.labels.length ? { label: [...filter.labels] } : {}) },
  });
  return list
    // Belt and braces: the filter is Docker's, the promise never to touch a running container is ours.
    .filter((c) => STOPPED_STATES.includes(c.State))
    .map((c) => ({
      id: c.Id.slice(0, 12),
      name: bareName(c.Names?.[0]),
      image: c.Image,
      state: c.State,
      created: c.Created,
      sizeBytes: (c as Docker.ContainerInfo & { SizeRw?: number }).SizeRw ?? 0,
    }));
}

export async function listDanglingImages(docker: Docker, filter: PruneFilter): Promise<ImageRow[]> {
  const list = await docker.listImages({
    filters: { dangling: ['true'], ...(filter.labels.length ? { label: [...filter.labels] } : {}) },
  });
  return list.map((i) => ({ id: i.Id.replace(/^sha256:/, '').slice(0, 12), created: i.Created, sizeBytes: i.Size }));
}
