// `warden doctor`'s checks of what lies on this machine: config, data dir, database, disk space,
// policy file, inventory. They must never create the data dir or the database, nor write to the
// database: a doctor that repairs by accident hides the fault it was asked to find.
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, openSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HostSpec } from '../adapters/hosts.js';
import { loadPolicy } from '../compose.js';
import type { Config, ConfigLoader } from '../config.js';
import { InputError, errorMessage } from '../errors.js';
import { AUDIT_KEY_FILE, DB_FILE, dbPath, looseModes } from '../store/db.js';
import { openExistingDb, type ExistingDb } from '../store/existing-db.js';
import { readInventoryDir, toHostSpec } from '../store/inventory-file.js';
import { InventoryStore } from '../store/inventory.js';
import { fail, ok, warn, type HealthCheck } from './health-report.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The config, or (when the file is refused) a FAIL naming the field and the config without the file. */
export function configCheck(load: ConfigLoader, withoutFile: ConfigLoader): { config: Config; check: HealthCheck } {
  try {
    const config = load();
    return { config, check: ok('config', config.source ? `${config.source} loaded` : 'no config file: defaults and the environment') };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { config: withoutFile(), check: fail('config', `${err.message} (the checks below use the defaults and the environment)`) };
  }
}

const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? errorMessage(err);

/** The nearest path at or above `path` that exists. */
function nearestExisting(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/** A data dir that is not there: fine when warden can create it at its first start. */
function absentDataDir(dir: string): HealthCheck {
  const above = nearestExisting(dirname(dir));
  if (!statSync(above).isDirectory()) return fail('data dir', `${dir} cannot be created: ${above} is not a directory`);
  try {
    accessSync(above, constants.W_OK);
  } catch (err) {
    return fail('data dir', `${dir} cannot be created: ${above} is not writable (${codeOf(err)})`);
  }
  return warn('data dir', `${dir} does not exist yet: warden creates it at its first start`);
}

/** Exists, is a directory, takes a new file (really created and removed: as root access() always says yes), modes. */
export function dataDirChecks(dir: string): HealthCheck[] {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    const code = codeOf(err);
    return [code === 'ENOENT' || code === 'ENOTDIR' ? absentDataDir(dir) : fail('data dir', `${dir} cannot be read (${code})`)];
  }
  if (!isDir) return [fail('data dir', `${dir} is not a directory`)];
  const probe = join(dir, `.warden-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (err) {
    return [fail('data dir', `${dir} is not writable: a new file there failed (${codeOf(err)})`)];
  }
  unlinkSync(probe);
  const loose = looseModes(dir);
  return [
    ok('data dir', `${dir} is a writable directory`),
    loose.length ? warn('data modes', `readable by others: ${loose.join('; ')}`) : ok('data modes', 'the dir 0700, its files 0600, or stricter'),
  ];
}

const size = (bytes: number): string => (bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`);

/** Free space where the database lives (or will): FAIL under 1 % or 100 MiB, warn under 10 % or 1 GiB. */
export function diskCheck(dataDir: string): HealthCheck {
  const at = nearestExisting(dataDir);
  let free: number;
  let total: number;
  try {
    const s = statfsSync(statSync(at).isDirectory() ? at : dirname(at));
    free = s.bavail * s.bsize;
    total = s.blocks * s.bsize;
  } catch (err) {
    return fail('disk', `free space of ${at} cannot be read (${codeOf(err)})`);
  }
  const pct = total > 0 ? (free / total) * 100 : 0;
  const detail = `${size(free)} free of ${size(total)} (${pct.toFixed(1)}%) on the filesystem of ${at}`;
  if (free < 100 * MiB || pct < 1) return fail('disk', `${detail}: the database and audit cannot grow`);
  if (free < GiB || pct < 10) return warn('disk', detail);
  return ok('disk', detail);
}

/** The files warden opens in its data dir, and what it needs of each: it writes all but the key, which it reads. */
const DATA_FILES: ReadonlyArray<{ file: string; need: 'write' | 'read' }> = [
  { file: DB_FILE, need: 'write' },
  { file: `${DB_FILE}-wal`, need: 'write' },
  { file: `${DB_FILE}-shm`, need: 'write' },
  { file: `${DB_FILE}.head`, need: 'write' },
  { file: AUDIT_KEY_FILE, need: 'read' },
];

/**
 * Each file of the data dir that is there and that this user cannot write (read, for the key),
 * with its owner and mode: what a `sudo warden ...` leaves behind for the service user. access()
 * only asks; as root it always says yes, which is right: root can write them.
 */
function deniedFiles(dataDir: string): string[] {
  const denied: string[] = [];
  for (const { file, need } of DATA_FILES) {
    const path = join(dataDir, file);
    if (!existsSync(path)) continue;
    try {
      accessSync(path, need === 'write' ? constants.R_OK | constants.W_OK : constants.R_OK);
    } catch (err) {
      let owner = '';
      try {
        const st = statSync(path);
        owner = `, owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}`;
      } catch {
        // Gone meanwhile or not stat-able: the access error says enough.
      }
      denied.push(`${path} is not ${need === 'write' ? 'writable' : 'readable'} (${codeOf(err)}${owner})`);
    }
  }
  return denied;
}

/** A FAIL naming the files this user cannot use, joined with what the rest of the check found. */
function withDenied(denied: readonly string[], check: HealthCheck): HealthCheck {
  if (denied.length === 0) return check;
  const uid = process.getuid?.();
  const detail = `${denied.join('; ')}: warden run as ${uid === undefined ? 'this user' : `uid ${uid}`} cannot open ${denied.length === 1 ? 'it' : 'them'} `
    + '(files left by `sudo warden ...`? chown them to the user warden runs as)';
  return fail('database', check.level === 'fail' ? `${detail}; also ${check.detail}` : detail);
}

/**
 * The database opened read-only, checked; `existing` only when its schema is the one this warden
 * reads. The files warden writes are checked for this user first (opening the database read-only
 * may leave -wal and -shm files of its own).
 */
export function databaseCheck(dataDir: string): { existing?: ExistingDb; check: HealthCheck } {
  const denied = deniedFiles(dataDir);
  let found: ExistingDb | undefined;
  try {
    found = openExistingDb(dataDir);
  } catch (err) {
    return { check: withDenied(denied, fail('database', errorMessage(err))) };
  }
  if (!found) return { check: withDenied(denied, warn('database', `no database at ${dbPath(dataDir)} yet: warden creates it at its first start`)) };
  const { db, version, expected } = found;
  let verdict: string;
  try {
    verdict = String(db.pragma('quick_check', { simple: true }));
  } catch (err) {
    verdict = errorMessage(err);
  }
  const path = dbPath(dataDir);
  const close = (check: HealthCheck) => { db.close(); return { check: withDenied(denied, check) }; };
  if (verdict !== 'ok') return close(fail('database', `${path}: quick_check says ${verdict.slice(0, 300)}`));
  if (version > expected) return close(fail('database', `${path}: schema version ${version} is newer than this warden's (${expected}): upgrade warden`));
  if (version < expected) return close(warn('database', `${path}: schema version ${version}, this warden's is ${expected}: migrated at its next start`));
  return { existing: found, check: withDenied(denied, ok('database', `${path}: quick_check ok, schema version ${version}`)) };
}

export function policyCheck(config: Config): HealthCheck {
  if (!config.policyPath) return ok('policy', 'the built-in default policy (no policy file)');
  try {
    const p = loadPolicy(config);
    const rules = `${p.rules.length} rules, ${p.limits.length} limits`;
    return p.killSwitch ? warn('policy', `${config.policyPath}: ${rules}; killSwitch: true, so only read tools run`) : ok('policy', `${config.policyPath}: ${rules}`);
  } catch (err) {
    return fail('policy', errorMessage(err));
  }
}

/**
 * Without a database to read, the files `warden inventory load` would load: their hosts are what
 * a first start will use, so a bad key or socket there is worth naming before the load.
 */
function inventoryFiles(dir: string): { specs: HostSpec[]; check: HealthCheck } {
  if (!existsSync(dir)) return { specs: [], check: warn('inventory', `none loaded (no database to read) and no inventory files at ${dir}`) };
  try {
    const inv = readInventoryDir(dir);
    const specs = inv.hosts.map(toHostSpec);
    return { specs, check: warn('inventory', `none loaded (no database to read): checking the ${inv.hosts.length} hosts and ${inv.services.length} services in ${dir} instead`) };
  } catch (err) {
    return { specs: [], check: fail('inventory', errorMessage(err).replace(/\s*\n\s*/g, '; ')) };
  }
}

/** The loaded inventory's counts and its hosts as the adapters would get them; else the files'. */
export function inventoryCheck(existing: ExistingDb | undefined, inventoryDir: string): { specs: HostSpec[]; check: HealthCheck } {
  if (!existing) return inventoryFiles(inventoryDir);
  const store = new InventoryStore(existing.db);
  try {
    const [hosts, services, runbooks] = [store.hosts().length, store.services().length, store.runbooks().length];
    const specs = store.hostSpecs();
    if (hosts + services === 0) return { specs, check: warn('inventory', 'empty: load one with `warden inventory load DIR`') };
    return { specs, check: ok('inventory', `${hosts} hosts, ${services} services, ${runbooks} runbooks`) };
  } catch (err) {
    return { specs: [], check: fail('inventory', errorMessage(err)) };
  } finally {
    store.close();
  }
}
