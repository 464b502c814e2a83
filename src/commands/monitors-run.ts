// The actions of `warden monitors`, loaded when one runs: they read the inventory and the saved
// monitor states from the database.
import type { ConfigLoader } from '../config.js';
import { formatDurationMs } from '../shared/durations.js';
import { openDb } from '../store/db.js';
import { InventoryStore } from '../store/inventory.js';
import { MonitorStateStore, type MonitorStateRow } from '../store/monitor-states.js';
import { describeCheck, planMonitors, type MonitorDef } from '../loop/monitors/monitor-plan.js';
import { rulesOf } from '../loop/monitors/readings.js';
import { printJson, printLines, printTable, table } from './output.js';

function withDb<T>(loadConfig: ConfigLoader, fn: (inventory: InventoryStore, states: MonitorStateStore) => T): T {
  const config = loadConfig();
  const db = openDb(config.dataDir);
  const inventory = new InventoryStore(db);
  try {
    return fn(inventory, new MonitorStateStore(db));
  } finally {
    inventory.close();
    db.close();
  }
}

/** One line per monitor: what it checks and how often. */
function describeMonitor(m: MonitorDef): string[] {
  const every = `every ${formatDurationMs(m.settings.interval)}`;
  if (m.kind === 'probe') {
    const s = m.settings;
    return [m.id, every, `${describeCheck(m)}; down after ${s.retries} failures, timeout ${formatDurationMs(s.timeout)}${s.cooldown ? `, cooldown ${formatDurationMs(s.cooldown)}` : ''}`];
  }
  const checks = [...rulesOf(m.settings)].map(([check, r]) =>
    `${check}${r.mounts ? ` ${r.mounts.join(',')}` : ''} ${r.fire}/${r.clear}${r.forMs ? ` for ${formatDurationMs(r.forMs)}` : ''}`);
  return [m.id, every, `${checks.join('; ') || 'no check enabled'}; cooldown ${formatDurationMs(m.settings.cooldown)}`];
}

const shortTime = (iso: string | null): string => (iso ?? '-').replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

function statusLine(r: MonitorStateRow): string[] {
  const value = r.value === null ? '-' : r.kind === 'probe' ? `${r.value} ms` : r.kind === 'tls' ? `${r.value} d` : String(r.value);
  return [r.id, r.state, shortTime(r.since), value, r.detail];
}

export function listMonitors(loadConfig: ConfigLoader, opts: { json?: boolean }): void {
  const plan = withDb(loadConfig, (inventory) => planMonitors(inventory));
  if (opts.json) return printJson(plan);
  printTable(['ID', 'EVERY', 'CHECKS'], plan.map(describeMonitor),
    "no monitors: give a service `monitor: true` (it probes its healthCheck) or a host `monitor: true` (thresholds) in the inventory, then `warden inventory load`");
}

export function monitorStatus(loadConfig: ConfigLoader, opts: { json?: boolean }): void {
  const { rows, declared } = withDb(loadConfig, (inventory, states) => ({ rows: states.list(), declared: planMonitors(inventory).length }));
  if (opts.json) return printJson(rows);
  if (rows.length === 0) {
    return printLines([declared === 0
      ? 'no monitors are declared (see `warden monitors list`)'
      : `${declared} monitors are declared, but none has reported: is \`warden serve\` running with the loop on (config loop.monitors)?`]);
  }
  const stale = rows.filter((r) => r.checkedAt && Date.now() - Date.parse(r.checkedAt) > 5 * 60_000).length;
  const unknown = rows.filter((r) => r.state === 'unknown').map((r) => r.id);
  printLines([
    ...table(rows.map(statusLine), ['ID', 'STATE', 'SINCE', 'VALUE', 'DETAIL']),
    ...(stale ? [`note: ${stale} not checked for over 5 minutes: the daemon that runs them (${rows[0]!.updatedBy}) may have stopped`] : []),
    ...(unknown.length ? [`note: ${unknown.join(', ')} cannot be read (a watched path that does not exist, no sensor): they can neither fire nor clear`] : []),
  ]);
}
