// One reading of one host's thresholds: metrics and the watched disks, each level folded into its
// own threshold state (hysteresis, "for", cooldown). Returns the alerts to send.
import type { DiskUsage, HostMetrics } from '../../adapters/metrics.js';
import type { NormalizedAlert } from '../../shared/alerts.js';
import type { MonitorStateRow } from '../../store/monitor-states.js';
import { toAlert, type HostThresholds } from './monitor-plan.js';
import { needsGpus, needsMetrics, readingsOf, rulesOf, type CheckRules, type Reading } from './readings.js';
import type { ThresholdCheck } from './monitor-plan.js';
import { initialThreshold, observeThreshold, type ThresholdMemory } from './threshold-state.js';
import { REPEAT_MS } from './probe-task.js';

/** What a host reading needs; adapters/metrics.ts in serve. */
export interface HostReader {
  collect(signal?: AbortSignal, opts?: { gpus?: boolean }): Promise<HostMetrics>;
  diskUsage(paths: string[], signal?: AbortSignal): Promise<Array<DiskUsage & { path?: string }>>;
}

interface Known {
  memory: ThresholdMemory;
  reading: Reading;
  at: number;
  held?: string;
  /** When its firing alert was last sent: repeated every REPEAT_MS while it fires. */
  sentAt?: number;
}

export class HostTask {
  private readonly rules: Map<ThresholdCheck, CheckRules>;
  private readonly known = new Map<string, Known>();
  private readonly saved: Map<string, MonitorStateRow>;

  constructor(readonly def: HostThresholds, saved: readonly MonitorStateRow[] = []) {
    this.rules = rulesOf(def.settings);
    this.saved = new Map(saved.map((r) => [r.id, r]));
  }

  async read(reader: HostReader, signal: AbortSignal): Promise<Reading[]> {
    const metrics = needsMetrics(this.rules) ? await reader.collect(signal, { gpus: needsGpus(this.rules) }) : undefined;
    const mounts = this.rules.get('disk')?.mounts ?? [];
    const disks = new Map<string, DiskUsage>();
    if (mounts.length) (await reader.diskUsage(mounts, signal)).forEach((d, i) => disks.set(d.path ?? mounts[i]!, d));
    return readingsOf(this.def.host, this.rules, metrics, disks);
  }

  /** The level of one reading against its clear level: whether it is back to normal, for the loop's verification. */
  static verdict(r: Reading): { ok: boolean; reason: string } {
    if (r.value === null) return { ok: false, reason: `${r.label} could not be read` };
    const ok = r.value < r.rules.clear;
    return { ok, reason: `${r.label} at ${r.value}${r.unit} (${ok ? 'below' : 'not below'} the clear level ${r.rules.clear}${r.unit})` };
  }

  /** Levels that could not be read this time after they were (or never were): a path typo must not pass quietly. */
  readonly unread: string[] = [];

  observe(readings: readonly Reading[], now: number): NormalizedAlert[] {
    const alerts: NormalizedAlert[] = [];
    this.unread.length = 0;
    for (const r of readings) {
      const known = this.known.get(r.id);
      const before = known?.memory ?? this.restored(r.id, now);
      const step = observeThreshold(before, r.value, now, r.rules);
      const repeat = !step.event && step.memory.status === 'firing' && r.value !== null && now - (known?.sentAt ?? 0) >= REPEAT_MS;
      const send = step.event !== undefined || repeat;
      this.known.set(r.id, { memory: step.memory, reading: r, at: now, ...(step.held ? { held: step.held } : {}), ...(send ? { sentAt: now } : known?.sentAt ? { sentAt: known.sentAt } : {}) });
      if (send) alerts.push(this.alert(r, step.event !== 'clear', step.event === 'fire' ? now : before.since));
      if (r.value === null && known?.reading.value !== null) this.unread.push(r.label);
    }
    return alerts;
  }

  /** A restart mid-incident keeps a firing check firing until it clears, so the clear is reported. */
  private restored(id: string, now: number): ThresholdMemory {
    const row = this.saved.get(id);
    return row?.state === 'firing' ? { status: 'firing', since: Date.parse(row.since) } : initialThreshold(now);
  }

  private alert(r: Reading, firing: boolean, at: number): NormalizedAlert {
    const levels = `fires at ${r.rules.fire}${r.unit}, clears below ${r.rules.clear}${r.unit}`;
    const summary = firing
      ? `${r.label} on ${this.def.host} at ${r.value}${r.unit} (${levels}${r.rules.forMs ? `, for ${Math.round(r.rules.forMs / 1000)} s` : ''})`
      : `${r.label} on ${this.def.host} back to ${r.value}${r.unit} (${levels})`;
    return toAlert({
      id: r.id, firing, severity: r.rules.severity, summary, detail: `${r.label}: ${r.value}${r.unit}`,
      hints: { host: this.def.host }, labels: { check: r.check, ...(r.check === 'disk' ? { path: r.instance ?? '/' } : r.instance !== undefined ? { gpu: r.instance } : {}) }, at,
    });
  }

  rows(by: string): MonitorStateRow[] {
    const iso = (ms: number): string => new Date(ms).toISOString();
    // Saved states not read again yet (the host unreachable since a restart) stay saved: a firing
    // one dropped here would never send its clear.
    const unseen = [...this.saved.values()].filter((r) => !this.known.has(r.id) && r.state === 'firing');
    return [...unseen, ...[...this.known.entries()].map(([id, k]) => ({
      id, kind: 'threshold' as const, subject: this.def.host,
      // A level that cannot be read is not "ok": a typo in a watched path must show.
      state: k.reading.value === null && k.memory.status !== 'firing' ? 'unknown' : k.memory.status,
      since: iso(k.memory.since), checkedAt: iso(k.at), value: k.reading.value,
      detail: `${k.reading.label}: ${k.reading.value ?? 'unread'}${k.reading.value === null ? '' : k.reading.unit} (fires at ${k.reading.rules.fire}, clears below ${k.reading.rules.clear})${k.held ? `; ${k.held}` : ''}`.slice(0, 500),
      updatedBy: by,
    }))];
  }
}
