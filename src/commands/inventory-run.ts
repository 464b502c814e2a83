// The actions of `warden inventory`, loaded when one runs: reading and checking the YAML, the
// runtime, and discover's calls through the guard.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { ConfigLoader } from '../config.js';
import { localHost } from '../adapters/hosts.js';
import { createRuntime } from '../compose.js';
import type { Runtime } from '../server/runtime.js';
import type { AuditInput } from '../store/audit.js';
import { describeChange, type InventoryChange } from '../store/inventory-change.js';
import { readInventoryDir, withLocalHost, type Inventory } from '../store/inventory-file.js';
import type { DiscoveredContainer } from '../store/inventory.js';
import { printJson, printLines, table } from './output.js';

interface HostDiscovery {
  host: string;
  ok: boolean;
  containers: number;
  unknown: DiscoveredContainer[];
  error?: string;
}

export async function loadInventory(loadConfig: ConfigLoader, dir: string | undefined, opts: { by: string; json?: boolean }): Promise<void> {
  const config = loadConfig();
  // Everything is read and checked before the database is even opened: bad input writes nothing.
  const inv = readInventoryDir(dir !== undefined ? resolve(dir) : config.inventoryDir);
  const rt = createRuntime(config);
  try {
    const loaded = rt.inventory.load(inv, (change) => rt.audit.append(inventoryLoadEntry(opts.by, inv, change)));
    if (opts.json) printJson({ dir: inv.dir, files: inv.files, ...loaded });
    else {
      printLines([
        `loaded ${inv.dir} (${inv.files.join(', ') || 'no files'}): ${loaded.hosts} hosts, ${loaded.services} services, ${loaded.runbooks} runbooks`,
        `  ${describeChange(loaded.change)}`,
      ]);
    }
  } finally {
    await rt.close();
  }
}

export async function discoverInventory(loadConfig: ConfigLoader, opts: { timeout: number; json?: boolean }): Promise<void> {
  const rt = createRuntime(loadConfig());
  try {
    const hosts = withLocalHost(localHost(rt.config.dockerHost), rt.inventory.hostSpecs()).filter((h) => h.docker !== undefined);
    const results = await Promise.all(hosts.map((h) => discoverHost(rt, h.name, opts.timeout * 1000)));
    if (opts.json) printJson({ hosts: results });
    else printLines(results.flatMap(describeDiscovery));
  } finally {
    await rt.close();
  }
}

export async function listInventory(loadConfig: ConfigLoader, opts: { json?: boolean }): Promise<void> {
  const rt = createRuntime(loadConfig());
  try {
    const inv = rt.inventory;
    const all = { hosts: inv.hosts(), services: inv.services(), runbooks: inv.runbooks(), discovered: inv.discovered() };
    if (opts.json) return printJson(all);
    printLines([
      `hosts (${all.hosts.length}):`, ...indent(table(all.hosts.map((h) => [h.name, h.docker ?? (h.name === 'local' ? '(DOCKER_HOST or the default socket)' : '-'), h.ssh ? `ssh ${h.ssh.user}@${h.ssh.address}:${h.ssh.port}` : '-']))),
      `services (${all.services.length}):`, ...indent(table(all.services.map((s) => [s.name, `${s.host}/${s.container ?? '-'}`, s.tier ?? '-', s.owner ?? '-', s.dependsOn.length ? `needs ${s.dependsOn.join(', ')}` : '']))),
      `runbooks (${all.runbooks.length}):`, ...indent(table(all.runbooks.map((r) => [r.name, r.risk, r.description]))),
      `discovered, not in the inventory (${all.discovered.length}):`, ...indent(table(all.discovered.map((d) => [`${d.host}/${d.name}`, d.state, d.image, `last seen ${d.lastSeen}`]))),
    ]);
  } finally {
    await rt.close();
  }
}

/** The audit entry of a load: who, from where, the hash of what was loaded and what it changed. */
function inventoryLoadEntry(by: string, inv: Inventory, change: InventoryChange): AuditInput {
  return {
    callId: `inventory.load:${randomUUID()}`,
    principal: by,
    transport: 'cli',
    tool: 'inventory.load',
    target: 'inventory',
    args: { dir: inv.dir, files: inv.files, hash: change.hash },
    argsHash: change.hash,
    phase: 'completed',
    result: describeChange(change).slice(0, 2_000),
  };
}

const DISCOVER_CALLER = { principal: 'cli', role: 'operator', transport: 'cli' } as const;

const indent = (lines: string[]): string[] => lines.map((l) => `  ${l}`);

/**
 * One host's containers, asked through the guard as a read call of principal `cli`, so it is
 * decided and audited like any other; an unreachable host is a result to report, never a reason to stop.
 */
async function discoverHost(rt: Runtime, host: string, timeoutMs: number): Promise<HostDiscovery> {
  const late = new AbortController();
  const timer = setTimeout(() => late.abort(), timeoutMs);
  try {
    const outcome = await rt.guard.call(DISCOVER_CALLER, 'list_containers', { host, all: true }, late.signal);
    if (!outcome.ok) {
      const why = outcome.kind === 'ask_human' ? 'held for approval' : late.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : outcome.message;
      return { host, ok: false, containers: 0, unknown: [], error: why };
    }
    const list = (outcome.output as { containers: { name: string; image: string; state: string }[] }).containers;
    const unknown = rt.inventory.recordDiscovered(host, list);
    return { host, ok: true, containers: list.length, unknown };
  } finally {
    clearTimeout(timer);
  }
}

function describeDiscovery(r: HostDiscovery): string[] {
  if (!r.ok) return [`${r.host}: unreachable: ${r.error}`];
  return [
    `${r.host}: ${r.containers} containers, ${r.unknown.length} not in the inventory`,
    ...indent(table(r.unknown.map((d) => [d.name, d.state, d.image, `first seen ${d.firstSeen}`]))),
  ];
}
