// Reads the inventory directory: every *.yaml / *.yml file, validated whole and cross-checked
// before anything is written. Never partially accepts an inventory: one problem refuses all of it.
import { accessSync, constants, readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import { hostFileError, type HostSpec } from '../adapters/hosts.js';
import { InputError, errorMessage } from '../errors.js';
import { describeIssues } from '../validation.js';
import { InventoryFile, type HostEntry, type RunbookEntry, type ServiceEntry } from './inventory-schema.js';

/** The host warden runs on; it exists whether or not the inventory declares it. */
export const LOCAL_HOST = 'local';

type Sourced<T> = T & { source: string };
export type InventoryHost = Sourced<HostEntry>;
export type InventoryService = Sourced<ServiceEntry>;
export type InventoryRunbook = Sourced<RunbookEntry>;

export interface Inventory {
  dir: string;
  files: string[];
  hosts: InventoryHost[];
  services: InventoryService[];
  runbooks: InventoryRunbook[];
}

/** Throws InputError listing every problem, each naming its file and field. */
export function readInventoryDir(dir: string, home = homedir()): Inventory {
  const root = resolve(dir);
  let names: string[];
  try {
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
    names = readdirSync(root).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    throw new InputError(`inventory ${root}: cannot read: ${errorMessage(err)}`);
  }
  const inv: Inventory = { dir: root, files: names, hosts: [], services: [], runbooks: [] };
  const problems: string[] = [];
  for (const name of names) {
    const parsed = parseFile(join(root, name), problems);
    if (!parsed) continue;
    inv.hosts.push(...parsed.hosts.map((h) => ({ ...resolvePaths(h, root, home), source: name })));
    inv.services.push(...parsed.services.map((s) => ({ ...s, source: name })));
    inv.runbooks.push(...parsed.runbooks.map((r) => ({ ...r, source: name })));
  }
  if (problems.length === 0) problems.push(...crossCheck(inv));
  if (problems.length > 0) {
    throw new InputError(`inventory ${root}: ${problems.length} problem${problems.length > 1 ? 's' : ''}, nothing loaded:\n  ${problems.join('\n  ')}`, problems);
  }
  return inv;
}

function parseFile(path: string, problems: string[]): InventoryFile | undefined {
  const file = basename(path);
  // Only files are read: a named pipe called x.yaml would block the read for ever, a device never end.
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    problems.push(`${file}: cannot read: ${errorMessage(err)}`);
    return undefined;
  }
  if (!st.isFile()) {
    problems.push(`${file}: cannot read: ${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe' : 'a special file'}, not a file`);
    return undefined;
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8')) ?? {};
  } catch (err) {
    problems.push(`${file}: not valid YAML: ${errorMessage(err).split('\n')[0]}`);
    return undefined;
  }
  const parsed = InventoryFile.safeParse(raw);
  if (!parsed.success) {
    problems.push(...describeIssues(parsed.error, '', InventoryFile).map((line) => `${file}: ${line}`));
    return undefined;
  }
  return parsed.data;
}

/** Local file paths are relative to the inventory dir, or to HOME with `~/`; stored absolute. */
export function resolveLocalPath(path: string, dir: string, home: string): string {
  if (path === '~' || path.startsWith('~/')) return join(home, path.slice(1));
  return isAbsolute(path) ? path : resolve(dir, path);
}

function resolvePaths(h: HostEntry, dir: string, home: string): HostEntry {
  const at = (p: string): string => resolveLocalPath(p, dir, home);
  return {
    ...h,
    dockerTls: h.dockerTls && { ca: at(h.dockerTls.ca), cert: at(h.dockerTls.cert), key: at(h.dockerTls.key) },
    ssh: h.ssh && { ...h.ssh, keyPath: at(h.ssh.keyPath), knownHostsPath: h.ssh.knownHostsPath && at(h.ssh.knownHostsPath) },
  };
}

/**
 * The local files hosts name (SSH keys, known_hosts, Docker TLS files) that are missing or not
 * readable now, one line each naming the file, the field and the path. Only a warning: the file
 * may be put in place before warden first connects, and a load must not depend on it.
 */
export function unreadableHostFiles(inv: Pick<Inventory, 'hosts'>): string[] {
  const out: string[] = [];
  for (const h of inv.hosts) {
    const files: Array<[string, string | undefined]> = [
      ['ssh.keyPath', h.ssh?.keyPath], ['ssh.knownHostsPath', h.ssh?.knownHostsPath],
      ['dockerTls.ca', h.dockerTls?.ca], ['dockerTls.cert', h.dockerTls?.cert], ['dockerTls.key', h.dockerTls?.key],
    ];
    for (const [field, path] of files) {
      if (path === undefined) continue;
      try {
        accessSync(path, constants.R_OK);
        if (statSync(path).isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
      } catch (err) {
        out.push(`${h.source}: ${hostFileError(h.name, field, path, err)}`);
      }
    }
  }
  return out;
}

type Named = { name: string; source: string };

function duplicates(kind: string, key: string, items: Named[]): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  items.forEach((item, i) => {
    const first = seen.get(item.name);
    if (first !== undefined) out.push(`${item.source}: ${key}[${indexIn(items, item, i)}].name: duplicate ${kind} "${item.name}" (first in ${first})`);
    else seen.set(item.name, item.source);
  });
  return out;
}

/** The index of an entry within its own file, so a message points at the right list item. */
function indexIn(items: Named[], item: Named, i: number): number {
  return items.slice(0, i).filter((x) => x.source === item.source).length;
}

/** indexIn of every entry, in one pass. */
function placesInFile(items: Named[]): number[] {
  const seen = new Map<string, number>();
  return items.map((x) => {
    const n = seen.get(x.source) ?? 0;
    seen.set(x.source, n + 1);
    return n;
  });
}

/**
 * A cycle of dependsOn (a -> b -> a) is refused: the loop parks an incident on its dependency's
 * incident, so two failing services that depend on each other would wait on each other for ever.
 */
function dependencyCycles(inv: Inventory): string[] {
  const deps = new Map(inv.services.map((s) => [s.name, s.dependsOn.filter((d) => d !== s.name)]));
  const state = new Map<string, 'visiting' | 'done'>();
  const problems: string[] = [];
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      const s = inv.services.find((x) => x.name === name)!;
      problems.push(`${s.source}: services[${indexIn(inv.services, s, inv.services.indexOf(s))}].dependsOn: a dependency cycle (${cycle.join(' -> ')}): the loop would wait on it for ever`);
      return;
    }
    state.set(name, 'visiting');
    for (const d of deps.get(name) ?? []) visit(d, [...path, name]);
    state.set(name, 'done');
  };
  for (const s of inv.services) visit(s.name, []);
  return problems;
}

function crossCheck(inv: Inventory): string[] {
  const problems = [
    ...duplicates('host', 'hosts', inv.hosts),
    ...duplicates('service', 'services', inv.services),
    ...duplicates('runbook', 'runbooks', inv.runbooks),
  ];
  const hostNames = new Set([LOCAL_HOST, ...inv.hosts.map((h) => h.name)]);
  const serviceNames = new Set(inv.services.map((s) => s.name));
  const runbookNames = new Set(inv.runbooks.map((r) => r.name));
  const claimed = new Map<string, string>();
  // Each entry's place in its file, once: indexIn per entry would be quadratic in a large inventory.
  const servicePlaces = placesInFile(inv.services);
  inv.services.forEach((s, i) => {
    const at = `${s.source}: services[${servicePlaces[i]}]`;
    if (!hostNames.has(s.host)) problems.push(`${at}.host: no host named "${s.host}" (known: ${[...hostNames].join(', ')})`);
    s.dependsOn.forEach((d, j) => {
      if (d === s.name) problems.push(`${at}.dependsOn[${j}]: a service cannot depend on itself`);
      else if (!serviceNames.has(d)) problems.push(`${at}.dependsOn[${j}]: no service named "${d}"`);
    });
    s.runbooks.forEach((r, j) => {
      if (!runbookNames.has(r)) problems.push(`${at}.runbooks[${j}]: no runbook named "${r}"`);
    });
    if (s.monitor?.from === 'host' && s.host !== LOCAL_HOST && !inv.hosts.find((h) => h.name === s.host)?.ssh) {
      problems.push(`${at}.monitor.from: "host" probes through the SSH login of host "${s.host}", which has none`);
    }
    if (s.container !== undefined) {
      const key = `${s.host}/${s.container}`;
      const other = claimed.get(key);
      if (other !== undefined) problems.push(`${at}.container: ${key} is already service "${other}"`);
      else claimed.set(key, s.name);
    }
  });
  problems.push(...dependencyCycles(inv));
  const runbookPlaces = placesInFile(inv.runbooks);
  inv.runbooks.forEach((r, i) => {
    const at = `${r.source}: runbooks[${runbookPlaces[i]}]`;
    r.hosts.forEach((pattern, j) => {
      const matches = picomatch(pattern, { dot: true });
      if (![...hostNames].some((h) => matches(h))) problems.push(`${at}.hosts[${j}]: "${pattern}" matches no host (known: ${[...hostNames].join(', ')})`);
    });
  });
  return problems;
}

/** How the adapters reach a host; paths were already resolved when the inventory was read. */
export function toHostSpec(h: HostEntry): HostSpec {
  const spec: HostSpec = { name: h.name, ...(h.nvidiaSmiPath ? { nvidiaSmiPath: h.nvidiaSmiPath } : {}), ...(h.nginxPath ? { nginxPath: h.nginxPath } : {}) };
  if (h.ssh) {
    const address = h.ssh.address ?? h.address;
    if (address === undefined) throw new InputError(`host ${h.name}: ssh needs an address`);
    spec.ssh = { address, port: h.ssh.port, user: h.ssh.user, keyPath: h.ssh.keyPath, ...(h.ssh.knownHostsPath ? { knownHostsPath: h.ssh.knownHostsPath } : {}) };
  }
  if (h.docker === 'ssh' || h.docker?.startsWith('ssh://')) {
    spec.docker = { kind: 'ssh', socketPath: h.docker === 'ssh' ? '/var/run/docker.sock' : h.docker.slice('ssh://'.length) };
  } else if (h.docker) {
    const tls = h.dockerTls && { caPath: h.dockerTls.ca, certPath: h.dockerTls.cert, keyPath: h.dockerTls.key };
    spec.docker = { kind: 'url', url: h.docker, ...(tls ? { tls } : {}) };
  }
  return spec;
}

/**
 * The hosts the adapters get: `local` first, then the inventory's. A declared `local` keeps its
 * own Docker endpoint when it names one, else the default (DOCKER_HOST or the local socket).
 */
export function withLocalHost(local: HostSpec, inventory: readonly HostSpec[]): HostSpec[] {
  const declared = inventory.find((h) => h.name === LOCAL_HOST);
  const merged: HostSpec = declared ? { ...declared, docker: declared.docker ?? local.docker } : local;
  return [merged, ...inventory.filter((h) => h.name !== LOCAL_HOST)];
}
