// The one shape every alert source is normalised into before correlation. Parsers are pure:
// payload in, alerts (or a field-naming error) out; nothing here touches the store.
import { z } from 'zod';
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

/**
 * An alert's own start: an ISO 8601 date-time with a zone, to the second at least (RFC 3339, what
 * Alertmanager and Grafana send). Date.parse is lenient ("0" reads as 2000-01-01, "tuesday 5" as a
 * date in 2001), so anything else is no start, never a guessed one.
 */
const ALERT_START = z.iso.datetime({ offset: true });

export function isAlertStart(value: string | undefined): boolean {
  return ALERT_START.safeParse(value).success;
}

/**
 * The sender's start when it is one, else the moment warden received the alert: a junk start would
 * put a failure years back (counted on a long-closed incident as a late repeat, or years into MTTD).
 */
export function startOrReceived(value: string | undefined, received: Date = new Date()): string {
  return value !== undefined && isAlertStart(value) ? value : received.toISOString();
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
