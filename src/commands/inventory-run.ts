// The actions of `warden inventory`, loaded when one runs: reading and checking the YAML, the
// runtime, and discover's calls through the guard. A dry run and a refused load write nothing.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Config, ConfigLoader } from '../config.js';
import { localHost, type HostSpec } from '../adapters/hosts.js';
import { createRuntime } from '../compose.js';
import { CommandError, InputError } from '../errors.js';
import type { Runtime } from '../server/runtime.js';
import type { AuditInput } from '../store/audit.js';
import { describeChange, type InventoryChange } from '../store/inventory-change.js';
import { readInventoryDir, unreadableHostFiles, withLocalHost, type Inventory } from '../store/inventory-file.js';
import type { DiscoveredContainer } from '../store/inventory.js';
import { previewLoad, printPreview } from './inventory-preview.js';
import { printJson, printLines, table } from './output.js';

interface HostDiscovery {
  host: string;
  /** The Docker endpoint tried, in words: `unix:///var/run/docker.sock (DOCKER_HOST)`, `ssh ops@10.0.0.5:22, socket /var/run/docker.sock`. */
  endpoint: string;
  ok: boolean;
  containers: number;
  unknown: DiscoveredContainer[];
  error?: string;
}

export interface LoadOptions {
  by: string;
  json?: boolean;
  dryRun?: boolean;
  allowEmpty?: boolean;
}

export async function loadInventory(loadConfig: ConfigLoader, dir: string | undefined, opts: LoadOptions): Promise<void> {
  const config = loadConfig();
  // Everything is read and checked before the database is even opened: bad input writes nothing.
  const inv = readInventoryDir(dir !== undefined ? resolve(dir) : config.inventoryDir);
  for (const w of unreadableHostFiles(inv)) process.stderr.write(`warden: warning: ${w}\n`);
  if (opts.dryRun) {
    const change = previewLoad(config, inv);
    printPreview(inv, change, opts.json);
    refuseWipe(inv, change, opts.allowEmpty);
    return;
  }
  const rt = createRuntime(config);
  try {
    // Checked inside the load's transaction, against what is stored then: no other load can slip in between.
    const loaded = rt.inventory.load(inv, (change) => {
      refuseWipe(inv, change, opts.allowEmpty);
      rt.audit.append(inventoryLoadEntry(opts.by, inv, change));
    });
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

/**
 * A directory with no hosts, services or runbooks (a wrong path, a checkout gone missing) would
 * wipe the stored inventory, and with it every service rule's target: only on purpose.
 */
function refuseWipe(inv: Inventory, change: InventoryChange, allowEmpty: boolean | undefined): void {
  if (allowEmpty || inv.hosts.length + inv.services.length + inv.runbooks.length > 0 || change.removed.length === 0) return;
  const shown = change.removed.slice(0, 20).join(', ') + (change.removed.length > 20 ? ` and ${change.removed.length - 20} more` : '');
  throw new InputError(`inventory ${inv.dir} holds no hosts, services or runbooks (${inv.files.join(', ') || 'no YAML files'}): ` +
    `loading it would remove all ${change.removed.length} stored (${shown}); nothing loaded. Pass --allow-empty to clear the stored inventory`);
}

/**
 * Exit 1 when no host answered (nothing was discovered at all) or, with `strict`, when any did
 * not; a partial failure is otherwise a result like any other, listed with the rest.
 */
export async function discoverInventory(loadConfig: ConfigLoader, opts: { timeout: number; json?: boolean; strict?: boolean }): Promise<void> {
  const rt = createRuntime(loadConfig());
  let results: HostDiscovery[];
  try {
    const hosts = withLocalHost(localHost(rt.config.dockerHost), rt.inventory.hostSpecs()).filter((h) => h.docker !== undefined);
    results = await Promise.all(hosts.map((h) => discoverHost(rt, h, endpointOf(h, rt.config), opts.timeout * 1000)));
    if (opts.json) printJson({ hosts: results });
    else printLines(results.flatMap(describeDiscovery));
  } finally {
    await rt.close();
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0 || (failed.length < results.length && !opts.strict)) return;
  const which = failed.map((r) => `${r.host} at ${r.endpoint}`).join('; ');
  throw new CommandError(failed.length === results.length ? `discover reached no host: ${which}` : `discover: ${failed.length} of ${results.length} hosts failed (--strict): ${which}`);
}

/** Where discover asks a host's Docker, in the words a person would check: the URL, or the SSH login and remote socket. */
function endpointOf(h: HostSpec, config: Config): string {
  const d = h.docker;
  if (!d) return 'no Docker endpoint';
  if (d.kind === 'ssh') return h.ssh ? `ssh ${h.ssh.user}@${h.ssh.address}:${h.ssh.port}, socket ${d.socketPath}` : `ssh (no login), socket ${d.socketPath}`;
  if (h.name !== 'local' || d.url !== config.dockerHost) return d.url;
  return `${d.url} (${config.origins?.dockerHost === 'env' ? 'DOCKER_HOST' : 'the default socket; set DOCKER_HOST for another'})`;
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
async function discoverHost(rt: Runtime, spec: HostSpec, endpoint: string, timeoutMs: number): Promise<HostDiscovery> {
  const host = spec.name;
  const late = new AbortController();
  const timer = setTimeout(() => late.abort(), timeoutMs);
  try {
    const outcome = await rt.guard.call(DISCOVER_CALLER, 'list_containers', { host, all: true }, late.signal);
    if (!outcome.ok) {
      const why = outcome.kind === 'ask_human' ? 'held for approval' : late.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : outcome.message;
      return { host, endpoint, ok: false, containers: 0, unknown: [], error: why };
    }
    const list = (outcome.output as { containers: { name: string; image: string; state: string }[] }).containers;
    const unknown = rt.inventory.recordDiscovered(host, list);
    return { host, endpoint, ok: true, containers: list.length, unknown };
  } finally {
    clearTimeout(timer);
  }
}

function describeDiscovery(r: HostDiscovery): string[] {
  if (!r.ok) return [`${r.host}: unreachable at ${r.endpoint}: ${r.error}`];
  return [
    `${r.host}: ${r.containers} containers, ${r.unknown.length} not in the inventory`,
    ...indent(table(r.unknown.map((d) => [d.name, d.state, d.image, `first seen ${d.firstSeen}`]))),
  ];
}
