// Slack's request signing (v0): X-Slack-Signature is `v0=` + hex HMAC-SHA256 of
// `v0:<X-Slack-Request-Timestamp>:<raw body>` keyed with the app's signing secret. Pure: no clock
// of its own, no store; the replay check (a signature seen before) is the caller's.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';
/** Slack's own window: a request older or newer than this is refused, whatever its signature. */
export const SLACK_WINDOW_SECONDS = 5 * 60;

export type SlackSignatureRefusal = 'missing' | 'bad_timestamp' | 'stale' | 'bad_signature';

export type SlackSignatureCheck = { ok: true; timestamp: number; signature: string } | { ok: false; why: SlackSignatureRefusal; detail: string };

export function slackSignature(secret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`, 'utf8').digest('hex')}`;
}

/**
 * The timestamp first (Slack's order): integer seconds only, so `1.5e9`, ` 17…`, `+17…` or a hex
 * spelling never parse into a time that the signed text does not say. The signature is compared in
 * constant time on two 32-byte buffers; a value of any other shape is refused before comparing.
 */
export function checkSlackSignature(
  secret: string, rawBody: string, headers: { signature?: string | null; timestamp?: string | null }, nowMs: number,
): SlackSignatureCheck {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) return { ok: false, why: 'missing', detail: `missing ${!timestamp ? SLACK_TIMESTAMP_HEADER : SLACK_SIGNATURE_HEADER} header` };
  if (!/^[0-9]{1,12}$/.test(timestamp)) return { ok: false, why: 'bad_timestamp', detail: `${SLACK_TIMESTAMP_HEADER}: expected integer seconds since 1970` };
  const ts = Number(timestamp);
  const skew = Math.floor(nowMs / 1000) - ts;
  if (Math.abs(skew) > SLACK_WINDOW_SECONDS) {
    return { ok: false, why: 'stale', detail: `${SLACK_TIMESTAMP_HEADER} is ${Math.abs(skew)} s in the ${skew > 0 ? 'past' : 'future'}; at most ${SLACK_WINDOW_SECONDS} s either way (check the clock)` };
  }
  const given = /^v0=([0-9a-f]{64})$/.exec(signature)?.[1];
  const expected = slackSignature(secret, timestamp, rawBody).slice(3);
  if (!given || !timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'))) {
    return { ok: false, why: 'bad_signature', detail: `${SLACK_SIGNATURE_HEADER} does not match the body (is the signing secret the app's?)` };
  }
  return { ok: true, timestamp: ts, signature: given };
}
