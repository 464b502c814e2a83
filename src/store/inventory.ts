// The inventory tables: loaded whole from validated YAML, read by tools, the guard (to resolve a
// target to its service, tier, owner and labels) and the adapters (hosts). A load replaces
// everything in one transaction; free-form SQL only ever runs on the separate read-only connection.
import type { HostSpec } from '../adapters/hosts.js';
import type { TargetInfo } from '../shared/targets.js';
import type Database from 'better-sqlite3';
import { posix } from 'node:path';
import type { AuditLog } from './audit.js';
import { statementCache, type Db } from './db.js';
import { changeBetween, inventoryHash, snapshotOf, type InventoryChange, type InventorySnapshot } from './inventory-change.js';
import { toHostSpec, type Inventory, type InventoryHost, type InventoryRunbook, type InventoryService } from './inventory-file.js';
import { BoundedQuery } from './bounded-query.js';
import type { ForkIsolated } from '../adapters/isolated-child.js';
import { ReadOnlyQuery, type QueryCaps } from './inventory-query.js';
import type { HostEntry } from './inventory-schema.js';
import type { HostRecord, InventoryReader, QueryResult, RunbookRecord, ServiceRecord } from './readers.js';
import { bareName } from '../shared/containers.js';

export interface LoadCounts {
  hosts: number;
  services: number;
  runbooks: number;
}

export interface DiscoveredContainer {
  host: string;
  name: string;
  image: string;
  state: string;
  firstSeen: string;
  lastSeen: string;
}

interface ServiceRow {
  name: string; host: string; container: string | null; owner: string | null; tier: string;
  labels: string; depends_on: string; health_check: string | null; runbooks: string; notes: string | null; nginx: string | null; resources: string | null;
  monitor: string | null;
}
interface HostRow {
  name: string; address: string | null; docker: string | null; docker_tls: string | null; ssh: string | null;
  nvidia_smi_path: string | null; nginx_path: string | null; labels: string; notes: string | null;
  monitor: string | null; cleanup: string | null; reboot: string | null;
}
interface RunbookRow { name: string; description: string; hosts: string; argv: string; params: string; risk: RunbookRecord['risk']; timeout_seconds: number }

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const text = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

function toService(r: ServiceRow): ServiceRecord {
  return {
    name: r.name, host: r.host, container: r.container, owner: r.owner, tier: r.tier,
    labels: json(r.labels) ?? {}, dependsOn: json(r.depends_on) ?? [], healthCheck: json(r.health_check),
    notes: r.notes, runbooks: json(r.runbooks) ?? [], nginx: json(r.nginx), resources: json(r.resources), monitor: json(r.monitor),
  };
}

function toHostEntry(r: HostRow): HostEntry {
  return {
    name: r.name, address: r.address ?? undefined, docker: r.docker ?? undefined,
    dockerTls: json(r.docker_tls) ?? undefined, ssh: json(r.ssh) ?? undefined, labels: json(r.labels) ?? {}, notes: r.notes ?? undefined,
    nvidiaSmiPath: r.nvidia_smi_path ?? undefined, nginxPath: r.nginx_path ?? undefined,
    monitor: json(r.monitor) ?? undefined, cleanup: json(r.cleanup) ?? [], reboot: json(r.reboot) ?? undefined,
  };
}

function toHost(r: HostRow): HostRecord {
  const ssh = json<{ address?: string; port: number; user: string }>(r.ssh);
  return {
    name: r.name, address: r.address, docker: r.docker, labels: json(r.labels) ?? {}, notes: r.notes,
    ssh: ssh && { address: ssh.address ?? r.address, port: ssh.port, user: ssh.user },
    monitor: json(r.monitor), cleanup: json(r.cleanup) ?? [], reboot: json(r.reboot),
  };
}

function toRunbook(r: RunbookRow): RunbookRecord {
  return {
    name: r.name, description: r.description, hosts: JSON.parse(r.hosts) as string[], argv: JSON.parse(r.argv) as string[],
    params: JSON.parse(r.params) as RunbookRecord['params'], risk: r.risk, timeoutSeconds: r.timeout_seconds,
  };
}

// The row each entry is stored as: load writes exactly these, and preview reads them back without
// writing, so a dry run reports the change a load would make.
const hostRow = (h: InventoryHost): HostRow & { source: string } => ({
  name: h.name, address: h.address ?? null, docker: h.docker ?? null, docker_tls: text(h.dockerTls), ssh: text(h.ssh),
  nvidia_smi_path: h.nvidiaSmiPath ?? null, nginx_path: h.nginxPath ?? null, labels: JSON.stringify(h.labels), notes: h.notes ?? null,
  monitor: text(h.monitor), cleanup: JSON.stringify(h.cleanup), reboot: text(h.reboot), source: h.source,
});
const serviceRow = (s: InventoryService): ServiceRow & { source: string } => ({
  name: s.name, host: s.host, container: s.container ?? null, owner: s.owner ?? null, tier: s.tier, labels: JSON.stringify(s.labels),
  depends_on: JSON.stringify(s.dependsOn), health_check: text(s.healthCheck), runbooks: JSON.stringify(s.runbooks), notes: s.notes ?? null,
  nginx: text(s.nginx), resources: text(s.resources), monitor: text(s.monitor), source: s.source,
});
const runbookRow = (r: InventoryRunbook): RunbookRow & { source: string } => ({
  name: r.name, description: r.description, hosts: JSON.stringify(r.hosts), argv: JSON.stringify(r.argv), params: JSON.stringify(r.params),
  risk: r.risk, timeout_seconds: r.timeoutSeconds, source: r.source,
});

/** The snapshot a load of `inv` would leave: the rows it would write, read back as records. */
export function inventorySnapshot(inv: Inventory): InventorySnapshot {
  // In the tables' ORDER BY name (byte order), so a preview lists names as the load's change will.
  const byName = <T extends { name: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return snapshotOf({
    hosts: byName(inv.hosts.map((h) => toHost(hostRow(h)))),
    services: byName(inv.services.map((s) => toService(serviceRow(s)))),
    runbooks: byName(inv.runbooks.map((r) => toRunbook(runbookRow(r)))),
  });
}

export class InventoryStore implements InventoryReader {
  private readonly reader: ReadOnlyQuery;
  private readonly bounded: BoundedQuery;
  /** Statements prepared once: the guard resolves every call's target through here. */
  private readonly stmt: (sql: string) => Database.Statement;


  /**
   * `nginxDirs`: config nginx.allowedDirs, beside what the inventory's services declare. `fork`:
   * how query_inventory's process is started (adapters/isolated-child.ts); without it `query` fails.
   * `audit`: the log a load's `record` appends to (see load).
   */
  constructor(private readonly db: Db, private readonly nginxDirs: readonly string[] = [], fork?: ForkIsolated, private readonly audit?: Pick<AuditLog, 'atomically'>) {
    this.stmt = statementCache(db);
    this.reader = new ReadOnlyQuery(db.name);
    this.bounded = new BoundedQuery(db.name, fork);
  }

  /** Replaces hosts, services and runbooks in one transaction: all of the new inventory or none of it. */
  /**
   * Replaces the inventory; `record` is called inside the same transaction with what changed, so
   * the audit entry of a load commits with the load or not at all. With `audit` (the log `record`
   * appends to) it is the audit's own transaction: the anchor names the entry once the load committed.
   */
  load(inv: Inventory, record?: (change: InventoryChange) => void): LoadCounts & { change: InventoryChange } {
    const { db } = this;
    let change: InventoryChange | undefined;
    const host = db.prepare(`INSERT INTO hosts (name, address, docker, docker_tls, ssh, nvidia_smi_path, nginx_path, labels, notes, monitor, cleanup, reboot, source)
      VALUES (@name, @address, @docker, @docker_tls, @ssh, @nvidia_smi_path, @nginx_path, @labels, @notes, @monitor, @cleanup, @reboot, @source)`);
    const service = db.prepare(`INSERT INTO services (name, host, container, owner, tier, labels, depends_on, health_check, runbooks, notes, nginx, resources, monitor, source)
      VALUES (@name, @host, @container, @owner, @tier, @labels, @depends_on, @health_check, @runbooks, @notes, @nginx, @resources, @monitor, @source)`);
    const runbook = db.prepare(`INSERT INTO runbooks (name, description, hosts, argv, params, risk, timeout_seconds, source)
      VALUES (@name, @description, @hosts, @argv, @params, @risk, @timeout_seconds, @source)`);
    const write = (): void => {
      const before = this.snapshot();
      db.exec('DELETE FROM hosts; DELETE FROM services; DELETE FROM runbooks;');
      for (const h of inv.hosts) host.run(hostRow(h));
      for (const s of inv.services) service.run(serviceRow(s));
      for (const r of inv.runbooks) runbook.run(runbookRow(r));
      // What discover found earlier and the inventory now names is no longer unknown.
      db.exec('DELETE FROM discovered_containers WHERE EXISTS (SELECT 1 FROM services s WHERE s.host = discovered_containers.host AND s.container = discovered_containers.name)');
      change = changeBetween(before, this.snapshot(), inventoryHash(inv));
      record?.(change);
    };
    if (this.audit) this.audit.atomically(write);
    else db.transaction(write).immediate();
    return { hosts: inv.hosts.length, services: inv.services.length, runbooks: inv.runbooks.length, change: change! };
  }

  /** What load(inv) would change: writes nothing. */
  preview(inv: Inventory): InventoryChange {
    return changeBetween(this.snapshot(), inventorySnapshot(inv), inventoryHash(inv));
  }

  private snapshot(): InventorySnapshot {
    return snapshotOf({ hosts: this.hosts(), services: this.services(), runbooks: this.runbooks() });
  }

  /** query_inventory: in a child process, stopped at its deadline whatever the statement does. */
  query(sql: string, params: readonly (string | number | null)[], caps: QueryCaps): Promise<QueryResult> {
    return this.bounded.run(sql, params, caps);
  }

  /** The same engine on this thread, for tests of what a statement may read. */
  querySync(sql: string, params: readonly (string | number | null)[], caps: QueryCaps): QueryResult {
    return this.reader.run(sql, params, caps);
  }

  service(name: string): ServiceRecord | undefined {
    const row = this.stmt('SELECT * FROM services WHERE name = ?').get(name) as ServiceRow | undefined;
    return row && toService(row);
  }

  serviceAt(host: string, container: string): ServiceRecord | undefined {
    const row = this.stmt('SELECT * FROM services WHERE host = ? AND container = ?').get(host, container) as ServiceRow | undefined;
    return row && toService(row);
  }

  nginxPathAllowed(host: string, kind: 'confPath' | 'prefix', path: string, container?: string): boolean {
    // A path with a ".." segment or a doubled slash is never compared: only the plain spelling counts.
    if (posix.normalize(path) !== path) return false;
    if (this.nginxDirs.some((d) => path === d || path.startsWith(`${d.replace(/\/+$/, '')}/`))) return true;
    // A path declared for nginx in a container names a file inside it, not the host's (and back).
    return this.services().some((s) => s.host === host && (s.nginx?.container ?? undefined) === container && s.nginx?.[kind] === path);
  }

  serviceFor(where: { service?: string | null; host?: string | null; container?: string | null }): ServiceRecord | undefined {
    return (where.service ? this.service(where.service) : undefined)
      ?? (where.host && where.container ? this.serviceAt(where.host, where.container) : undefined);
  }

  private serviceWithNginxAt(host: string, container: string | null): ServiceRecord | undefined {
    const row = this.stmt(`SELECT * FROM services WHERE nginx IS NOT NULL AND host = ?
      AND json_extract(nginx, '$.container') IS ? ORDER BY name LIMIT 1`).get(host, container) as ServiceRow | undefined;
    return row && toService(row);
  }

  services(): ServiceRecord[] {
    return (this.stmt('SELECT * FROM services ORDER BY name').all() as ServiceRow[]).map(toService);
  }

  hosts(): HostRecord[] {
    return (this.stmt('SELECT * FROM hosts ORDER BY name').all() as HostRow[]).map(toHost);
  }

  runbooks(): RunbookRecord[] {
    return (this.stmt('SELECT * FROM runbooks ORDER BY name').all() as RunbookRow[]).map(toRunbook);
  }

  runbook(name: string): RunbookRecord | undefined {
    const row = this.stmt('SELECT * FROM runbooks WHERE name = ?').get(name) as RunbookRow | undefined;
    return row && toRunbook(row);
  }

  /** The declared hosts as the adapters need them; `local` is added by the runtime when undeclared. */
  hostSpecs(): HostSpec[] {
    return (this.stmt('SELECT * FROM hosts ORDER BY name').all() as HostRow[]).map((r) => toHostSpec(toHostEntry(r)));
  }

  /**
   * What policy may know of a target: `host/container`, or `service:NAME` for tools that name a
   * service. Anything the inventory does not know resolves to {} and is decided on name and tier alone.
   */
  resolveTarget(target: string): TargetInfo {
    let s: ServiceRecord | undefined;
    if (target.startsWith('service:')) s = this.service(target.slice('service:'.length));
    else {
      const slash = target.indexOf('/');
      if (slash > 0) {
        const host = target.slice(0, slash);
        const name = bareName(target.slice(slash + 1));
        // An nginx target (`host/nginx`, or the container nginx runs in) belongs to the service
        // whose nginx entry names it, so `service:` rules hold however reload_nginx was called.
        s = this.serviceAt(host, name) ?? this.serviceWithNginxAt(host, name === 'nginx' ? null : name);
      }
    }
    if (!s) return {};
    return { service: s.name, labels: s.labels, ...(s.tier ? { tier: s.tier } : {}), ...(s.owner ? { owner: s.owner } : {}) };
  }

  /** Upserts what a host's Docker reports that no service names; first_seen is kept. */
  recordDiscovered(host: string, found: readonly { name: string; image: string; state: string }[], now = new Date()): DiscoveredContainer[] {
    const at = now.toISOString();
    const upsert = this.db.prepare(`INSERT INTO discovered_containers (host, name, image, state, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (host, name) DO UPDATE SET image = excluded.image, state = excluded.state, last_seen = excluded.last_seen`);
    const unknown = found.filter((c) => !this.serviceAt(host, c.name));
    this.db.transaction(() => { for (const c of unknown) upsert.run(host, c.name, c.image, c.state, at, at); })();
    return this.discovered().filter((d) => d.host === host && unknown.some((c) => c.name === d.name));
  }

  discovered(): DiscoveredContainer[] {
    return this.db.prepare(`SELECT host, name, image, state, first_seen AS firstSeen, last_seen AS lastSeen
      FROM discovered_containers ORDER BY host, name`).all() as DiscoveredContainer[];
  }

  close(): void {
    void this.bounded.close();
    this.reader.close();
  }
}
