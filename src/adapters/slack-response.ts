// The one request warden makes back to Slack after a button press: a POST to the payload's
// response_url (the message update, or a note only the presser sees). The URL came in a signed
// payload, and is still only fetched on an allowed host; never logged whole (it holds a token),
// never redirected, always within a deadline. Never throws.
import { errorMessage } from '../errors.js';

/** Plain http is for loopback receivers (tests); Slack's own URLs are https. */
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

export type SlackResponseResult = { ok: true; status: number } | { ok: false; why: string };

/**
 * Why `url` may not be fetched, or undefined: https (http only on loopback) to an entry of
 * `allowedHosts`. An entry `host` allows the scheme's default port only (443; 80 for loopback http),
 * `host:port` that port only: Slack's URLs never name a port, so no other port of an allowed host
 * is ever reached.
 */
export function responseUrlProblem(url: string, allowedHosts: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'response_url is not a URL';
  }
  if (u.username || u.password) return 'response_url carries credentials';
  const host = u.hostname.toLowerCase();
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(host))) {
    return `response_url must be https (http only on loopback), not ${u.protocol.slice(0, 20)}`;
  }
  // URL drops a port that is the scheme's default, so `u.port` is empty exactly when it is.
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const entry = `${host}:${port}`;
  if (allowedHosts.includes(entry) || (!u.port && allowedHosts.includes(host))) return undefined;
  if (u.port && allowedHosts.includes(host)) return `response_url port ${u.port} on ${host.slice(0, 100)}: integrations.slack.responseUrlHosts allows its default port only (write ${host.slice(0, 100)}:${u.port} to allow it)`;
  return `response_url host ${entry.slice(0, 110)} (host:port) is not in integrations.slack.responseUrlHosts`;
}

export async function postSlackResponse(
  url: string, body: unknown, opts: { allowedHosts: readonly string[]; timeoutMs: number; signal?: AbortSignal },
): Promise<SlackResponseResult> {
  const problem = responseUrlProblem(url, opts.allowedHosts);
  if (problem) return { ok: false, why: problem };
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      // A redirect would take the decision to wherever the answer points.
      redirect: 'manual',
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, why: `HTTP ${res.status}` };
  } catch (err) {
    if (timeout.aborted) return { ok: false, why: `no answer within ${opts.timeoutMs} ms` };
    if (opts.signal?.aborted) return { ok: false, why: 'aborted at shutdown' };
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    return { ok: false, why: typeof code === 'string' ? `request failed (${code})` : `request failed: ${errorMessage(err).slice(0, 200)}` };
  }
}
