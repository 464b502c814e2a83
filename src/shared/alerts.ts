// The one shape every alert source is normalised into before correlation. Parsers are pure:
// payload in, alerts (or a field-naming error) out; nothing here touches the store.
import { bareName } from './containers.js';

/** `warden`: its own monitors (probes and host thresholds from the inventory). */
export const ALERT_SOURCES = ['alertmanager', 'grafana', 'uptime-kuma', 'generic', 'docker', 'warden'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

export interface NormalizedAlert {
  source: AlertSource;
  /** Stable identity of the condition: repeats of the same alert share it. */
  fingerprint: string;
  status: 'firing' | 'resolved';
  severity: 'critical' | 'warning' | 'info';
  summary: string;
  startsAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Hints for finding the target through the inventory; any may be absent. */
  hints: { host?: string; container?: string; service?: string; instance?: string };
}

/** A payload we accept but that must open no incident (a test notification, maintenance). */
export interface IgnoredPayload {
  ignored: string;
}

export type ParseResult = NormalizedAlert[] | IgnoredPayload;

export function severityOf(value: string | undefined): NormalizedAlert['severity'] {
  const v = (value ?? '').toLowerCase();
  if (['critical', 'crit', 'page', 'emergency', 'error', 'high', 'p1'].includes(v)) return 'critical';
  if (['info', 'informational', 'low', 'none', 'p4', 'p5'].includes(v)) return 'info';
  return 'warning';
}

/** Target hints from the labels the common exporters use. */
export function hintsFromLabels(labels: Record<string, string>): NormalizedAlert['hints'] {
  const container = labels.container ?? labels.container_name ?? labels.name;
  return {
    host: labels.host ?? labels.hostname ?? labels.nodename,
    container: (container === undefined ? undefined : bareName(container)),
    service: labels.service ?? labels.job_service ?? labels.app,
    instance: labels.instance,
  };
}
