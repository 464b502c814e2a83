// `warden inventory load --dry-run`: what a load would add, remove and change, compared with what
// the database holds now. Never creates the data dir or the database, never migrates or writes it.
import { lstatSync, statSync, type Stats } from 'node:fs';
import type { Config } from '../config.js';
import { CommandError, errorMessage } from '../errors.js';
import { changeBetween, inventoryHash, type InventoryChange } from '../store/inventory-change.js';
import type { Inventory } from '../store/inventory-file.js';
import { InventoryStore, inventorySnapshot } from '../store/inventory.js';
import { openExistingDb } from '../store/existing-db.js';
import { cell, printJson, printLines, printTable } from './output.js';

/** Without a database everything would be added: the stored inventory is empty. */
export function previewLoad(config: Config, inv: Inventory): InventoryChange {
  refuseUnusableDataDir(config.dataDir);
  const existing = openExistingDb(config.dataDir);
  if (!existing) return changeBetween(new Map(), inventorySnapshot(inv), inventoryHash(inv));
  try {
    return new InventoryStore(existing.db).preview(inv);
  } catch (err) {
    // An older schema may lack a column the comparison reads; a load would migrate it first.
    throw new CommandError(`cannot read the stored inventory in ${existing.db.name} (schema version ${existing.version}, this warden expects ${existing.expected}): ${errorMessage(err)}`);
  } finally {
    existing.db.close();
  }
}

/**
 * A file, or a link to nowhere, where the data dir should be: the load would fail to create it, so a
 * preview listing what it "would add" would be a promise the load cannot keep.
 */
function refuseUnusableDataDir(dataDir: string): void {
  let link: Stats | undefined;
  try {
    link = lstatSync(dataDir);
  } catch {
    return; // absent: the load creates it
  }
  let target: Stats | undefined;
  try {
    target = statSync(dataDir);
  } catch (err) {
    throw new CommandError(`data dir ${dataDir} is ${link.isSymbolicLink() ? 'a link to nowhere' : 'unreadable'} (${errorMessage(err)}): a load would fail; nothing compared`);
  }
  if (!target.isDirectory()) throw new CommandError(`data dir ${dataDir} is not a directory: a load would fail; nothing compared`);
}

/** The same fields as a load's --json, with `dryRun: true`. */
export function printPreview(inv: Inventory, change: InventoryChange, json: boolean | undefined): void {
  const counts = { hosts: inv.hosts.length, services: inv.services.length, runbooks: inv.runbooks.length };
  if (json) return printJson({ dryRun: true, dir: inv.dir, files: inv.files, ...counts, change });
  printLines([`dry run, nothing written: ${cell(inv.dir)} (${cell(inv.files.join(', ')) || 'no files'}): ${counts.hosts} hosts, ${counts.services} services, ${counts.runbooks} runbooks`]);
  const rows = [['add', change.added], ['remove', change.removed], ['change', change.changed]] as const;
  printTable(['CHANGE', 'KIND', 'NAME'], rows.flatMap(([what, keys]) => keys.map((k) => [what, ...splitKey(k)])), 'no change: the stored inventory already matches');
}

/** `service:web-1` -> ['service', 'web-1']; names never contain ':' (EntryName). */
function splitKey(key: string): [string, string] {
  const at = key.indexOf(':');
  return [key.slice(0, at), key.slice(at + 1)];
}
