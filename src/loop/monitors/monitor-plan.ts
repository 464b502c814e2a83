// Which monitors the inventory declares: one probe per service with `monitor` (its healthCheck, on
// its schedule) and one reading per host with `monitor` (its thresholds). Pure; the ids are the
// alerts' fingerprints (`warden:<id>`), so the loop can tell what a monitor incident is about.
import { httpCheckOf, type HttpCheck } from '../../adapters/http-probe.js';
import type { HostMonitorSettings, ServiceMonitorSettings } from '../../store/monitor-schema.js';
import type { InventoryReader } from '../../store/readers.js';
import type { NormalizedAlert } from '../../shared/alerts.js';
import { redactText } from '../../shared/redact.js';

export interface ProbeMonitor {
  kind: 'probe';
  id: string;
  service: string;
  host: string;
  container: string | null;
  tier: string | null;
  check: { http: HttpCheck } | { tcp: string } | { container: true };
  settings: ServiceMonitorSettings;
}

export interface HostThresholds {
  kind: 'host';
  id: string;
  host: string;
  settings: HostMonitorSettings;
}

export type MonitorDef = ProbeMonitor | HostThresholds;

export const FINGERPRINT_PREFIX = 'warden:';

export const probeId = (service: string): string => `service:${service}`;
export const tlsId = (service: string): string => `service:${service}:tls`;

/** The checks of a host threshold reading; GPU checks are per GPU (`gpu0:utilization`). */
export type ThresholdCheck = 'cpu' | 'memory' | 'temperature' | 'disk' | 'gpuUtilization' | 'gpuTemperature' | 'gpuMemory';

export function thresholdId(host: string, check: ThresholdCheck, instance?: string): string {
  if (check === 'disk') return `host:${host}:disk:${instance ?? '/'}`;
  if (check.startsWith('gpu')) return `host:${host}:gpu${instance ?? '0'}:${check.slice(3).toLowerCase()}`;
  return `host:${host}:${check}`;
}

/** What a monitor fingerprint is about, or undefined for any other alert's. */
export type MonitorSubject =
  | { kind: 'probe'; service: string }
  | { kind: 'tls'; service: string }
  | { kind: 'threshold'; host: string; check: string; mount?: string };

export function subjectOf(fingerprint: string): MonitorSubject | undefined {
  if (!fingerprint.startsWith(FINGERPRINT_PREFIX)) return undefined;
  const id = fingerprint.slice(FINGERPRINT_PREFIX.length);
  const probe = /^service:([^:]+)(:tls)?$/.exec(id);
  if (probe) return probe[2] ? { kind: 'tls', service: probe[1]! } : { kind: 'probe', service: probe[1]! };
  const disk = /^host:([^:]+):disk:(\/.*)$/.exec(id);
  if (disk) return { kind: 'threshold', host: disk[1]!, check: 'disk', mount: disk[2]! };
  const other = /^host:([^:]+):(.+)$/.exec(id);
  return other ? { kind: 'threshold', host: other[1]!, check: other[2]! } : undefined;
}

function checkOf(healthCheck: unknown): ProbeMonitor['check'] | undefined {
  const http = httpCheckOf(healthCheck);
  if (http) return { http };
  const h = healthCheck as { tcp?: string; container?: true } | null;
  if (typeof h?.tcp === 'string') return { tcp: h.tcp };
  return h?.container === true ? { container: true } : undefined;
}

export function planMonitors(inventory: Pick<InventoryReader, 'services' | 'hosts'>): MonitorDef[] {
  const plan: MonitorDef[] = [];
  for (const s of inventory.services()) {
    const check = s.monitor ? checkOf(s.healthCheck) : undefined;
    if (!s.monitor || !check) continue;
    plan.push({ kind: 'probe', id: probeId(s.name), service: s.name, host: s.host, container: s.container, tier: s.tier, check, settings: s.monitor });
  }
  for (const h of inventory.hosts()) {
    if (h.monitor) plan.push({ kind: 'host', id: `host:${h.name}`, host: h.name, settings: h.monitor });
  }
  return plan;
}

/** One line naming what a probe checks, for summaries and `monitors list`. */
export function describeCheck(m: ProbeMonitor): string {
  if ('http' in m.check) return `GET ${m.check.http.url}${m.check.http.status ? ` = ${m.check.http.status}` : ''}${m.check.http.keyword ? ` with "${m.check.http.keyword}"` : ''}`;
  if ('tcp' in m.check) return `TCP ${m.check.tcp}`;
  return `the container's own health check (${m.container ?? '?'})`;
}

export interface MonitorAlert {
  id: string;
  firing: boolean;
  severity: NormalizedAlert['severity'];
  summary: string;
  /** The reading or probe that decided it, one line (never a response body). */
  detail: string;
  hints: NormalizedAlert['hints'];
  labels: Record<string, string>;
  at: number;
}

/**
 * Text a probed server chose (a certificate's subject, an error naming its names) on one line,
 * without control characters (a terminal escape in `warden monitors status`), bounded, and with
 * secrets redacted (a health URL may carry credentials or a token in its query).
 */
export function plainLine(text: string, max = 500): string {
  return redactText(text).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s{2,}/g, ' ').trim().slice(0, max);
}

/**
 * A monitor's firing or clear as an alert of source `warden`, for the same intake as every other
 * source. Labels name the host (and service) so a silence `--match host=box` or `--service web`
 * covers a monitor's alerts as it covers any other's.
 */
export function toAlert(a: MonitorAlert): NormalizedAlert {
  return {
    source: 'warden',
    fingerprint: `${FINGERPRINT_PREFIX}${a.id}`,
    status: a.firing ? 'firing' : 'resolved',
    severity: a.severity,
    summary: plainLine(a.summary),
    startsAt: new Date(a.at).toISOString(),
    labels: { monitor: a.id, ...(a.hints.host ? { host: a.hints.host } : {}), ...(a.hints.service ? { service: a.hints.service } : {}), ...a.labels },
    annotations: { detail: plainLine(a.detail) },
    hints: a.hints,
  };
}
