// A host's monitored levels from one metrics reading: each enabled threshold check with its rules
// (defaults where the inventory names none) and the value read for it. Pure.
import type { DiskUsage, HostMetrics } from '../../adapters/metrics.js';
import { THRESHOLD_DEFAULTS, type HostMonitorSettings } from '../../store/monitor-schema.js';
import { thresholdId, type ThresholdCheck } from './monitor-plan.js';
import type { ThresholdRules } from './threshold-state.js';

export interface CheckRules extends ThresholdRules {
  severity: 'warning' | 'critical';
  /** disk: the paths whose filesystems are watched. */
  mounts?: string[];
}

export interface Reading {
  id: string;
  check: ThresholdCheck;
  /** The disk path or GPU index. */
  instance?: string;
  /** null: not read this time (no sensor, a section that failed). */
  value: number | null;
  unit: '%' | '°C';
  /** What was read, in words: "disk /data", "GPU 0 temperature". */
  label: string;
  rules: CheckRules;
}

const CHECKS: readonly ThresholdCheck[] = ['cpu', 'memory', 'disk', 'temperature', 'gpuUtilization', 'gpuTemperature', 'gpuMemory'];

/** The enabled checks and their rules: absent -> the defaults, false (null once loaded) -> off. */
export function rulesOf(s: HostMonitorSettings): Map<ThresholdCheck, CheckRules> {
  const out = new Map<ThresholdCheck, CheckRules>();
  for (const check of CHECKS) {
    const given = s[check];
    if (given === null) continue;
    const d = THRESHOLD_DEFAULTS[check];
    const rules: CheckRules = given
      ? { fire: given.fire, clear: given.clear, forMs: given.for, severity: given.severity, cooldownMs: s.cooldown }
      : { fire: d.fire, clear: d.clear, forMs: d.forMs, severity: 'warning', cooldownMs: s.cooldown };
    if (check === 'disk') rules.mounts = given && 'mounts' in given ? given.mounts : ['/'];
    out.set(check, rules);
  }
  return out;
}

export const needsMetrics = (rules: Map<ThresholdCheck, CheckRules>): boolean => [...rules.keys()].some((c) => c !== 'disk');
export const needsGpus = (rules: Map<ThresholdCheck, CheckRules>): boolean => [...rules.keys()].some((c) => c.startsWith('gpu'));

const pct = (part: number | null, whole: number | null): number | null =>
  part === null || whole === null || whole <= 0 ? null : Math.round((part / whole) * 1000) / 10;

/** Every reading this host's rules ask for; `disks` holds one entry per watched path (mount = the path asked). */
export function readingsOf(host: string, rules: Map<ThresholdCheck, CheckRules>, m: HostMetrics | undefined, disks: ReadonlyMap<string, DiskUsage>): Reading[] {
  const out: Reading[] = [];
  const add = (check: ThresholdCheck, value: number | null, label: string, unit: Reading['unit'], instance?: string): void => {
    const r = rules.get(check);
    if (r) out.push({ id: thresholdId(host, check, instance), check, value, unit, label, rules: r, ...(instance !== undefined ? { instance } : {}) });
  };
  if (m) {
    add('cpu', m.cpu.usagePercent, 'CPU', '%');
    add('memory', pct(m.memory.usedBytes, m.memory.totalBytes), 'memory', '%');
    add('temperature', m.temperatures.length ? Math.max(...m.temperatures.map((t) => t.celsius)) : null, 'the hottest sensor', '°C');
    m.gpus.forEach((g, i) => {
      add('gpuUtilization', g.utilizationPercent, `GPU ${i} utilisation`, '%', String(i));
      add('gpuTemperature', g.temperatureC, `GPU ${i} temperature`, '°C', String(i));
      add('gpuMemory', pct(g.memoryUsedMiB, g.memoryTotalMiB), `GPU ${i} memory`, '%', String(i));
    });
  }
  for (const path of rules.get('disk')?.mounts ?? []) add('disk', disks.get(path)?.usePercent ?? null, `disk ${path}`, '%', path);
  return out;
}
