// One entry per alert endpoint: the payload schema and its normaliser. A payload that fails its
// schema is refused with the field that is wrong; the caller records it either way.
import type { z } from 'zod';
import { AlertmanagerPayload, GrafanaPayload, fromAlertmanager, fromGrafana } from './alertmanager.js';
import { GenericPayload, fromGeneric } from './generic.js';
import { UptimeKumaPayload, fromUptimeKuma } from './uptime-kuma.js';
import type { ParseResult } from '../../shared/alerts.js';
import { describeIssues } from '../../validation.js';

export type AlertFormat = 'alertmanager' | 'grafana' | 'uptime-kuma' | 'generic';

const FORMATS: Record<AlertFormat, { schema: z.ZodType; normalise: (p: never) => ParseResult }> = {
  alertmanager: { schema: AlertmanagerPayload, normalise: fromAlertmanager },
  grafana: { schema: GrafanaPayload, normalise: fromGrafana },
  'uptime-kuma': { schema: UptimeKumaPayload, normalise: fromUptimeKuma },
  generic: { schema: GenericPayload, normalise: fromGeneric },
};

export function isAlertFormat(name: string): name is AlertFormat {
  return name in FORMATS;
}

export type Parsed = { ok: true; result: ParseResult } | { ok: false; error: string };

export function parseAlertPayload(format: AlertFormat, body: unknown): Parsed {
  const { schema, normalise } = FORMATS[format];
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { ok: false, error: `${format} payload: ${describeIssues(parsed.error).join('; ')}` };
  return { ok: true, result: normalise(parsed.data as never) };
}
