// The one array of tools. Nothing else registers tools; transports and the loop read from here.
import { InputError } from '../errors.js';
import type { AnyToolSpec } from './spec.js';
import { listContainers, restartContainer } from './docker.js';
import { inspectContainer } from './docker-inspect.js';
import { containerLogs } from './docker-logs.js';
import { dockerPrune } from './docker-prune.js';
import { truncateContainerLog } from './container-log-truncate.js';
import { recreateContainer } from './docker-recreate.js';
import { startContainer, stopContainer } from './docker-write.js';
import { gpuStatus } from './gpu.js';
import { gpuReset } from './gpu-reset.js';
import { hostMetrics } from './host.js';
import { searchIncidents } from './incidents.js';
import { describeService, queryInventory } from './inventory.js';
import { nginxTestConfig } from './nginx.js';
import { nginxErrorLog } from './nginx-error-log.js';
import { reloadNginx } from './reload-nginx.js';
import { nginxSetUpstream } from './nginx-set-upstream.js';
import { updateContainerResources } from './container-resources.js';
import { rollbackChange } from './rollback-change.js';
import { updateContainerConfig } from './container-config.js';
import { runRunbook } from './runbooks.js';
import { cleanDisk } from './disk-cleanup.js';
import { rebootHost } from './reboot-host.js';
import { injectFault } from './chaos-fault.js';

export const CATALOG: readonly AnyToolSpec[] = [listContainers, inspectContainer, containerLogs, hostMetrics, gpuStatus, nginxTestConfig, nginxErrorLog, restartContainer, startContainer, stopContainer, recreateContainer, dockerPrune, truncateContainerLog, reloadNginx, nginxSetUpstream, updateContainerResources, updateContainerConfig, rollbackChange, searchIncidents, queryInventory, describeService, runRunbook, gpuReset, cleanDisk, rebootHost, injectFault] as unknown as AnyToolSpec[];

/** Tools too dangerous to be on by default: listed only when config tools.enabled names them. */
export const OPT_IN: ReadonlySet<string> = new Set(['reboot_host', 'inject_fault']);

export interface CatalogFilter {
  readOnly: boolean;
  disabled: readonly string[];
  /** Opt-in tools to list; `disabled` and read-only mode still take them away again. */
  enabled: readonly string[];
}

/**
 * Disabled tools are not listed at all, so a model never sees what it may not use. An entry of
 * `disabled` names a tool or a whole family; one that names neither is a typo and an error, since a
 * tool meant to be off would otherwise stay on. An entry of `enabled` must name an opt-in tool: a
 * typo there would leave off a tool someone meant to turn on, and any other tool is on already.
 */
export function filterCatalog(catalog: readonly AnyToolSpec[], filter: CatalogFilter): AnyToolSpec[] {
  const names = new Set<string>([...catalog.map((t) => t.name), ...catalog.map((t) => t.family)]);
  const unknown = filter.disabled.filter((d) => !names.has(d));
  if (unknown.length) {
    throw new InputError(`config tools.disabled: ${unknown.map((u) => `"${u}"`).join(', ')} names no tool or family; known: ${[...names].sort().join(', ')}`);
  }
  const notOptIn = filter.enabled.filter((e) => !OPT_IN.has(e));
  if (notOptIn.length) {
    throw new InputError(`config tools.enabled: ${notOptIn.map((u) => `"${u}"`).join(', ')} is not an opt-in tool (every other tool is on unless disabled); opt-in tools: ${[...OPT_IN].sort().join(', ')}`);
  }
  const off = new Set(filter.disabled);
  const on = new Set(filter.enabled);
  return catalog.filter((t) => !(filter.readOnly && t.risk !== 'read') && !off.has(t.name) && !off.has(t.family) && (!OPT_IN.has(t.name) || on.has(t.name)));
}
