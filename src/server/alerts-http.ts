// POST /alerts/<source>: the monitors' own webhook payloads, behind a bearer token of role alerts,
// operator or admin. Every authenticated payload is recorded, accepted or not, so nothing a monitor
// sent is lost; a bad one is refused with the field that is wrong. This route only records and
// correlates: it never acts on a target, and it works whether or not the loop runs.
import { readRequestBody } from '@modelcontextprotocol/server';
import type { Env, Hono, MiddlewareHandler } from 'hono';
import type { Logger } from '../log.js';
import { isAlertFormat, parseAlertPayload, type AlertFormat } from '../loop/alerts/index.js';
import { GRAFANA_SIGNATURE_HEADER, GRAFANA_TIMESTAMP_HEADER, verifyGrafanaSignature } from '../loop/alerts/grafana-signature.js';
import type { Intake } from '../loop/intake.js';
import { json, jsonError } from './responses.js';
import { DatabaseBusy, whenFree } from '../store/busy.js';

export const ALERT_FORMATS: readonly AlertFormat[] = ['alertmanager', 'grafana', 'uptime-kuma', 'generic'];

/** A signed Grafana request whose timestamp is further off than this is refused as a possible replay. */
const SIGNATURE_MAX_SKEW_MS = 5 * 60_000;
/** How long a payload waits for another process's write lock before the sender is told to retry (503). */
const PAYLOAD_WAIT_MS = 5_000;

export interface AlertRouteDeps<E extends Env = Env> {
  intake: Intake;
  /** Checks the bearer token and its role (route 'alerts'), and the rate. */
  auth: MiddlewareHandler<E>;
  maxBodyBytes: number;
  /** When set, Grafana payloads must carry a valid X-Grafana-Alerting-Signature. */
  grafanaSecret?: string;
  log: Logger;
}

/** The metric label for an alert path: one per source, never the raw path. */
export function alertRouteOf(path: string): string | undefined {
  const m = /^\/alerts\/([a-z-]+)$/.exec(path);
  return m && isAlertFormat(m[1]!) ? path : undefined;
}

/** Why a Grafana request's signature does not hold, or undefined when it does. */
function grafanaRefusal(secret: string, body: string, headers: Headers, now = Date.now()): string | undefined {
  const signature = headers.get(GRAFANA_SIGNATURE_HEADER) ?? undefined;
  const timestamp = headers.get(GRAFANA_TIMESTAMP_HEADER) ?? undefined;
  if (!signature) return `missing ${GRAFANA_SIGNATURE_HEADER} header (a Grafana secret is configured)`;
  if (!verifyGrafanaSignature(secret, body, signature, timestamp)) return `${GRAFANA_SIGNATURE_HEADER} does not match the body`;
  if (timestamp && /^\d+$/.test(timestamp)) {
    const n = Number(timestamp);
    const ms = n > 1e12 ? n : n * 1000;
    if (Math.abs(now - ms) > SIGNATURE_MAX_SKEW_MS) return `${GRAFANA_TIMESTAMP_HEADER} is more than 5 minutes off`;
  }
  return undefined;
}

async function receive(format: AlertFormat, request: Request, deps: Omit<AlertRouteDeps, 'auth'>): Promise<Response> {
  const { store } = deps.intake;
  // Every payload is kept; while another process holds the write lock, from a timer (DatabaseBusy: 503).
  const keep = (entry: Parameters<typeof store.recordPayload>[0]): Promise<void> => whenFree(() => store.recordPayload(entry), { waitMs: PAYLOAD_WAIT_MS });
  const reject = async (status: number, error: string, reason: string, body: string): Promise<Response> => {
    await keep({ source: format, outcome: 'rejected', reason, body });
    deps.log.warn({ source: format, status, reason }, 'alert payload refused');
    return jsonError(status, error, reason);
  };
  const read = await readRequestBody(request, deps.maxBodyBytes);
  if (read.tooLarge) return reject(413, 'payload_too_large', `body: over ${deps.maxBodyBytes} bytes (server.maxBodyBytes)`, '');
  const { text } = read;
  if (format === 'grafana' && deps.grafanaSecret) {
    const why = grafanaRefusal(deps.grafanaSecret, text, request.headers);
    if (why) return reject(401, 'unauthorized', why, text);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return reject(400, 'bad_request', `body: not valid JSON; expected the ${format} webhook payload`, text);
  }
  const parsed = parseAlertPayload(format, raw);
  if (!parsed.ok) return reject(400, 'bad_request', parsed.error, text);
  if ('ignored' in parsed.result) {
    await keep({ source: format, outcome: 'ignored', reason: parsed.result.ignored, body: text });
    return json({ ignored: parsed.result.ignored }, 202);
  }
  let incidentIds: string[];
  try {
    ({ incidentIds } = await deps.intake.ingestWhenFree(parsed.result));
  } catch (err) {
    if (err instanceof DatabaseBusy) throw err;
    // Kept for a person to replay; the monitor sees a 500 and retries as it would for any outage.
    deps.log.error({ source: format, err }, 'alert intake failed');
    try {
      await keep({ source: format, outcome: 'rejected', reason: 'internal error while recording incidents', body: text });
    } catch { /* the store itself is failing: the log line above is all that is left */ }
    return jsonError(500, 'internal', 'internal error while recording incidents; retry later');
  }
  await keep({ source: format, outcome: 'accepted', body: text, incidentIds });
  return json({ incidents: incidentIds }, 202);
}

export function mountAlertRoutes<E extends Env>(app: Hono<E>, deps: AlertRouteDeps<E>): void {
  for (const format of ALERT_FORMATS) {
    app.post(`/alerts/${format}`, deps.auth, (c) => receive(format, c.req.raw, deps));
  }
}
