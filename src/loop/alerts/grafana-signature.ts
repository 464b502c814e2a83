// Grafana's optional webhook HMAC: hex HMAC-SHA256 of the raw body (or of "timestamp:body" when a
// timestamp header is configured), compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const GRAFANA_SIGNATURE_HEADER = 'x-grafana-alerting-signature';
export const GRAFANA_TIMESTAMP_HEADER = 'x-grafana-alerting-signature-timestamp';

export function grafanaSignature(secret: string, rawBody: string, timestamp?: string): string {
  return createHmac('sha256', secret).update(timestamp ? `${timestamp}:${rawBody}` : rawBody).digest('hex');
}

export function verifyGrafanaSignature(secret: string, rawBody: string, signature: string | undefined, timestamp?: string): boolean {
  if (!signature) return false;
  const expected = Buffer.from(grafanaSignature(secret, rawBody, timestamp), 'hex');
  const given = Buffer.from(signature.trim().toLowerCase(), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
