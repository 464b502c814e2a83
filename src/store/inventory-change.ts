// What an inventory load changed, for its audit entry: the hash of what was loaded and which
// hosts, services and runbooks came, went or changed (a changed runbook changes what run_runbook runs).
import { canonicalJson, sha256 } from './canonical.js';
import type { Inventory } from './inventory-file.js';

export interface InventoryChange {
  /** SHA-256 over the loaded hosts, services and runbooks (not the directory or file names). */
  hash: string;
  added: string[];
  removed: string[];
  changed: string[];
}

export type InventorySnapshot = Map<string, string>;

/** `kind:name` -> a hash of the stored record, as read back from the tables. */
export function snapshotOf(records: { hosts: { name: string }[]; services: { name: string }[]; runbooks: { name: string }[] }): InventorySnapshot {
  const snap: InventorySnapshot = new Map();
  for (const [kind, list] of [['host', records.hosts], ['service', records.services], ['runbook', records.runbooks]] as const) {
    for (const r of list) snap.set(`${kind}:${r.name}`, sha256(canonicalJson(r)));
  }
  return snap;
}

export function inventoryHash(inv: Pick<Inventory, 'hosts' | 'services' | 'runbooks'>): string {
  const strip = <T extends { source?: unknown }>(list: T[]) => list.map(({ source: _s, ...rest }) => rest);
  return sha256(canonicalJson({ hosts: strip(inv.hosts), services: strip(inv.services), runbooks: strip(inv.runbooks) }));
}

export function changeBetween(before: InventorySnapshot, after: InventorySnapshot, hash: string): InventoryChange {
  const added = [...after.keys()].filter((k) => !before.has(k));
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k));
  return { hash, added, removed, changed };
}

export function describeChange(c: InventoryChange): string {
  const part = (label: string, names: string[]) => (names.length ? `${label} ${names.join(', ')}` : '');
  return [part('added', c.added), part('removed', c.removed), part('changed', c.changed)].filter(Boolean).join('; ') || 'no change';
}
