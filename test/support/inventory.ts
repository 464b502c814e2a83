// Inventory directories for tests: YAML files written to a temp dir, or a copy of the example
// inventory shipped in inventory/ with the GPU worker pointed at the test's own sshd.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { openDb } from '../../src/store/db.js';
import { readInventoryDir } from '../../src/store/inventory-file.js';
import { InventoryStore } from '../../src/store/inventory.js';
import { tempDir } from './processes.js';

export const EXAMPLE_INVENTORY = resolve(import.meta.dirname, '../../inventory');

/** Writes `files` (name -> YAML text) into a fresh directory and returns it. */
export function writeInventory(files: Record<string, string>, dir = tempDir('inventory')): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

export interface GpuWorkerLogin {
  address?: string;
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath?: string;
}

/** A copy of inventory/; with `gpuWorker`, that host's SSH login is replaced (e.g. by the test sshd's). */
export function exampleInventory(gpuWorker?: GpuWorkerLogin): string {
  const dir = tempDir('inventory');
  for (const name of readdirSync(EXAMPLE_INVENTORY).filter((n) => /\.ya?ml$/.test(n))) copyFileSync(join(EXAMPLE_INVENTORY, name), join(dir, name));
  if (gpuWorker) {
    const doc = parseDocument(readFileSync(join(dir, 'hosts.yaml'), 'utf8'));
    const hosts = doc.toJS() as { hosts: Array<{ name: string }> };
    const i = hosts.hosts.findIndex((h) => h.name === 'gpu-worker');
    if (gpuWorker.address) doc.setIn(['hosts', i, 'address'], gpuWorker.address);
    doc.setIn(['hosts', i, 'ssh'], doc.createNode({ port: gpuWorker.port, user: gpuWorker.user, keyPath: gpuWorker.keyPath, ...(gpuWorker.knownHostsPath ? { knownHostsPath: gpuWorker.knownHostsPath } : {}) }));
    writeFileSync(join(dir, 'hosts.yaml'), doc.toString());
  }
  return dir;
}

/** Loads an inventory directory into the database of `dataDir`, as `warden inventory load` would. */
export function loadInventoryInto(dataDir: string, inventoryDir: string): void {
  const db = openDb(dataDir);
  const store = new InventoryStore(db);
  try {
    store.load(readInventoryDir(inventoryDir));
  } finally {
    store.close();
    db.close();
  }
}
