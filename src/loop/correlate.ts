// Where an alert points and how incidents relate: target resolution through the inventory, and the
// service dependencies that make one incident the root cause of others. Pure reads; the intake
// decides what to write.
import type { InventoryReader, ServiceRecord } from '../store/readers.js';
import type { NormalizedAlert } from '../shared/alerts.js';
import type { Incident, IncidentLog } from '../shared/incidents.js';
import { bareName } from '../shared/containers.js';

export interface Where {
  /** `host/container`, when the alert names a container or a service the inventory places in one. */
  target: string | null;
  host: string | null;
  container: string | null;
  service: string | null;
}

export const NOWHERE: Where = { target: null, host: null, container: null, service: null };
export const DEFAULT_HOST = 'local';

function at(host: string, container: string | null, service: ServiceRecord | undefined): Where {
  return { target: container ? `${host}/${container}` : null, host, container, service: service?.name ?? null };
}

const same = (a: string | null | undefined, b: string): boolean => (a ?? '').toLowerCase() === b.toLowerCase();

/** The service by exact name, else one whose name or container matches ignoring case (a monitor called "Web-1"). */
function serviceNamed(inventory: InventoryReader, name: string): ServiceRecord | undefined {
  const exact = inventory.service(name);
  if (exact) return exact;
  const all = inventory.services();
  return all.find((s) => same(s.name, name)) ?? all.find((s) => same(s.container, name));
}

/** `host:port`, `[v6]:port` or a bare host -> the host part. */
export function instanceHost(instance: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(instance);
  if (v6) return v6[1]!;
  const colon = instance.lastIndexOf(':');
  return colon > 0 && instance.indexOf(':') === colon ? instance.slice(0, colon) : instance;
}

/** The inventory host whose name or address this is; the name as given when none is. */
function hostNamed(inventory: InventoryReader, name: string): string {
  return inventory.hosts().find((h) => same(h.name, name) || same(h.address, name))?.name ?? name;
}

/** A service whose HTTP health check listens on this `host:port` (a Prometheus instance label). */
function serviceAtInstance(inventory: InventoryReader, instance: string): ServiceRecord | undefined {
  return inventory.services().find((s) => {
    const http = (s.healthCheck as { http?: unknown } | null)?.http;
    if (typeof http !== 'string') return false;
    try {
      return new URL(http).host === instance;
    } catch {
      return false;
    }
  });
}

/**
 * Container (+ host, default 'local', or the one host the inventory runs that container on), then
 * service name, then instance, then host alone. What the inventory does not know still yields what
 * the alert said, so the incident says where to look even without a service.
 */
export function resolveWhere(inventory: InventoryReader, hints: NormalizedAlert['hints']): Where {
  if (hints.container) {
    const container = bareName(hints.container);
    const placed = inventory.services().filter((s) => s.container === container);
    const host = hints.host ? hostNamed(inventory, hints.host) : placed.length === 1 ? placed[0]!.host : DEFAULT_HOST;
    const service = inventory.serviceAt(host, container) ?? (hints.service ? inventory.service(hints.service) : undefined);
    return at(host, container, service);
  }
  if (hints.service) {
    const s = serviceNamed(inventory, hints.service);
    if (s) return at(s.host, s.container, s);
  }
  if (hints.instance) {
    const s = serviceAtInstance(inventory, hints.instance);
    if (s) return at(s.host, s.container, s);
    return { ...NOWHERE, host: hostNamed(inventory, instanceHost(hints.instance)) };
  }
  if (hints.host) return { ...NOWHERE, host: hostNamed(inventory, hints.host) };
  return NOWHERE;
}

function activeForService(store: IncidentLog, inventory: InventoryReader, name: string, active: Incident[]): Incident | undefined {
  const s = inventory.service(name);
  const target = s?.container ? `${s.host}/${s.container}` : undefined;
  return active.find((i) => i.service === name) ?? (target ? store.findActive({ target }) : undefined);
}

/** The active incident of a service this one depends on directly: the likelier root cause. */
export function dependencyIncident(store: IncidentLog, inventory: InventoryReader, service: string | null, self: string): Incident | undefined {
  if (!service) return undefined;
  const deps = inventory.service(service)?.dependsOn ?? [];
  if (deps.length === 0) return undefined;
  const active = store.list({ status: 'active' }).filter((i) => i.id !== self);
  for (const dep of deps) {
    const found = activeForService(store, inventory, dep, active);
    if (found && found.id !== self) return found;
  }
  return undefined;
}

/** Active incidents of the services that depend directly on `service`. */
export function dependentIncidents(store: IncidentLog, inventory: InventoryReader, service: string | null, self: string): Incident[] {
  if (!service) return [];
  const dependents = new Set(inventory.services().filter((s) => s.dependsOn.includes(service)).map((s) => s.name));
  if (dependents.size === 0) return [];
  return store.list({ status: 'active' }).filter((i) => i.id !== self && i.service !== null && dependents.has(i.service));
}

/** Incidents waiting on this one: the runner wakes them when it closes. */
export function dependentsOf(store: IncidentLog, incidentId: string): Incident[] {
  return store.list({ status: 'waiting_dependency' }).filter((i) => i.parentId === incidentId);
}
