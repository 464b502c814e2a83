// Docker's spellings of a container name: the API returns `/web-1`, people type `web-1`.

/** A container name without Docker's leading slash; undefined and empty stay empty. */
export function bareName(name: string | undefined | null): string {
  return (name ?? '').replace(/^\//, '');
}

/** warden's tools that stop a container: a person's stop is an intent the loop must not undo (loop.operator-stopped). */
export const CONTAINER_STOP_TOOLS: readonly string[] = ['stop_container'];
/** warden's tools that start a container again: one after a stop ends that stop's intent. */
export const CONTAINER_START_TOOLS: readonly string[] = ['start_container', 'restart_container', 'recreate_container'];
