// Alertmanager's webhook payload (version 4), and Grafana's, which extends it.
import { z } from 'zod';
import { hintsFromLabels, severityOf, startOrReceived, type NormalizedAlert } from '../../shared/alerts.js';
import { sha256 } from '../../store/canonical.js';
import { canonicalJson } from '../../store/canonical.js';

const Labels = z.record(z.string(), z.string());

const Alert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

export const AlertmanagerPayload = z.looseObject({
  version: z.literal('4'),
  groupKey: z.string(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  alerts: z.array(Alert).min(1),
});

export const GrafanaPayload = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  alerts: z.array(Alert.extend({ valueString: z.string().optional() })).min(1),
  orgId: z.number().optional(),
  title: z.string().optional(),
});

function normalise(source: 'alertmanager' | 'grafana', a: z.infer<typeof Alert>): NormalizedAlert {
  const name = a.labels.alertname ?? 'alert';
  return {
    source,
    // Alertmanager's fingerprint hashes the label set; compute the same idea when it is absent.
    fingerprint: `${source}:${a.fingerprint ?? sha256(canonicalJson(a.labels)).slice(0, 16)}`,
    status: a.status,
    severity: severityOf(a.labels.severity),
    summary: a.annotations.summary ?? a.annotations.description ?? name,
    // Kept only when it is an ISO time with a zone; a sender's junk start is replaced by the intake time.
    startsAt: startOrReceived(a.startsAt),
    labels: a.labels,
    annotations: a.annotations,
    hints: hintsFromLabels(a.labels),
  };
}

export function fromAlertmanager(payload: z.infer<typeof AlertmanagerPayload>): NormalizedAlert[] {
  return payload.alerts.map((a) => normalise('alertmanager', a));
}

export function fromGrafana(payload: z.infer<typeof GrafanaPayload>): NormalizedAlert[] {
  return payload.alerts.map((a) => normalise('grafana', a));
}
