// Docker's spellings of a container name: the API returns `/web-1`, people type `web-1`.

/** A container name without Docker's leading slash; undefined and empty stay empty. */
export function bareName(name: string | undefined | null): string {
  return (name ?? '').replace(/^\//, '');
}
