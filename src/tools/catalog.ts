// The one array of tools. Nothing else registers tools; transports and the loop read from here.
import type { AnyToolSpec } from './spec.js';
import { listContainers, restartContainer } from './docker.js';
import { searchIncidents } from './incidents.js';

export const CATALOG: readonly AnyToolSpec[] = [listContainers, restartContainer, searchIncidents] as unknown as AnyToolSpec[];

export interface CatalogFilter {
  readOnly: boolean;
  disabled: readonly string[];
}

/** Disabled tools are not listed at all, so a model never sees what it may not use. */
export function filterCatalog(catalog: readonly AnyToolSpec[], filter: CatalogFilter): AnyToolSpec[] {
  return catalog.filter((t) => !(filter.readOnly && t.risk !== 'read') && !filter.disabled.includes(t.name));
}
