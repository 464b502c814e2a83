// Uptime Kuma's webhook: { heartbeat, monitor, msg }. Its "test notification" sends null for
// both, and maintenance (status 3) is planned work: neither opens an incident.
import { z } from 'zod';
import { isAlertStart, startOrReceived, type NormalizedAlert, type ParseResult } from '../../shared/alerts.js';

const DOWN = 0;
const UP = 1;
const MAINTENANCE = 3;

export const UptimeKumaPayload = z.looseObject({
  msg: z.string(),
  heartbeat: z
    .looseObject({
      monitorID: z.number(),
      status: z.number().int().min(0).max(3),
      msg: z.string().default(''),
      time: z.string().optional(),
    })
    .nullable(),
  monitor: z
    .looseObject({
      id: z.number(),
      name: z.string(),
      type: z.string().optional(),
      url: z.string().nullable().optional(),
      hostname: z.string().nullable().optional(),
    })
    .nullable(),
});

/**
 * Uptime Kuma sends its heartbeat time in UTC without a zone ("2026-11-23 01:02:03.456"); one with a
 * zone is taken as it is. Any other spelling, or none, is the intake time (before, a junk time threw).
 */
function heartbeatStart(time: string | undefined): string {
  if (time !== undefined && isAlertStart(time)) return new Date(time).toISOString();
  const utc = time && /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?$/.test(time) ? `${time.replace(' ', 'T')}Z` : undefined;
  return new Date(startOrReceived(utc)).toISOString();
}

export function fromUptimeKuma(p: z.infer<typeof UptimeKumaPayload>): ParseResult {
  if (p.heartbeat === null || p.monitor === null) return { ignored: 'test notification (no heartbeat)' };
  if (p.heartbeat.status === MAINTENANCE) return { ignored: 'monitor is in maintenance' };
  // Pending (2) is Uptime Kuma retrying: not down yet.
  if (p.heartbeat.status !== DOWN && p.heartbeat.status !== UP) return { ignored: 'monitor is pending a retry' };
  const labels: Record<string, string> = { monitor: p.monitor.name, monitor_id: String(p.monitor.id) };
  if (p.monitor.type) labels.type = p.monitor.type;
  if (p.monitor.url) labels.url = p.monitor.url;
  if (p.monitor.hostname) labels.hostname = p.monitor.hostname;
  const alert: NormalizedAlert = {
    source: 'uptime-kuma',
    fingerprint: `uptime-kuma:${p.monitor.id}`,
    status: p.heartbeat.status === DOWN ? 'firing' : 'resolved',
    severity: 'critical',
    summary: p.heartbeat.msg ? `${p.monitor.name}: ${p.heartbeat.msg}` : p.msg,
    startsAt: heartbeatStart(p.heartbeat.time),
    labels,
    annotations: { msg: p.msg },
    hints: { service: p.monitor.name },
  };
  return [alert];
}
