// warden's own documented alert shape, for anything that can POST JSON (cron jobs, scripts,
// other monitors). See docs/alerts.md.
import { z } from 'zod';
import { hintsFromLabels, severityOf, type NormalizedAlert } from '../../shared/alerts.js';

const Name = z.string().min(1).max(200);

export const GenericAlert = z.strictObject({
  fingerprint: Name.optional().describe('identity of the condition; default: summary + target'),
  status: z.enum(['firing', 'resolved']).default('firing'),
  severity: z.enum(['critical', 'warning', 'info']).default('warning'),
  summary: z.string().min(1).max(2000),
  host: Name.optional(),
  container: Name.optional(),
  service: Name.optional(),
  labels: z.record(z.string(), z.string()).default({}),
  startsAt: z.iso.datetime().optional(),
});

export const GenericPayload = z.union([GenericAlert, z.strictObject({ alerts: z.array(GenericAlert).min(1).max(1000) })]);

/** GenericPayload's branches in words, in order: what a 400 says is accepted. */
export const GENERIC_SHAPES = [
  { name: 'one alert', form: '{"summary": "...", "severity"?, "host"?, ...}' },
  { name: 'a batch', form: '{"alerts": [alert, ...]}' },
] as const;

export function fromGeneric(payload: z.infer<typeof GenericPayload>): NormalizedAlert[] {
  const alerts = 'alerts' in payload ? payload.alerts : [payload];
  return alerts.map((a) => {
    const labelHints = hintsFromLabels(a.labels);
    const hints = { ...labelHints, host: a.host ?? labelHints.host, container: a.container ?? labelHints.container, service: a.service ?? labelHints.service };
    const where = hints.service ?? [hints.host, hints.container].filter(Boolean).join('/');
    return {
      source: 'generic' as const,
      fingerprint: `generic:${a.fingerprint ?? `${where}:${a.summary}`}`,
      status: a.status,
      severity: severityOf(a.severity),
      summary: a.summary,
      startsAt: a.startsAt ?? new Date().toISOString(),
      labels: a.labels,
      annotations: {},
      hints,
    };
  });
}
