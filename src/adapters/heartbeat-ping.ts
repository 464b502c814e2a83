// The dead man's switch's one outbound call: a GET to the configured push URL (an Uptime Kuma push
// monitor, a healthchecks.io check). It never throws, follows a redirect only to the same host, and
// never puts the URL's path or query in a result: push services keep their token there. Callers
// log the origin (originOf) and nothing more of the URL.
import { performance } from 'node:perf_hooks';

export interface PingResult {
  /** The receiver answered 2xx. */
  ok: boolean;
  /** The last HTTP status, or null when nothing answered. */
  status: number | null;
  /** One line, free of the URL's path and query. */
  detail: string;
  latencyMs: number;
}

export interface PingOptions {
  /** Bounds the whole ping, redirects and all. */
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 3;

/** What of a push URL may be logged: scheme, host and port. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

/**
 * A redirect is followed only to the same host name, and never from https to http: a receiver
 * that moved elsewhere is a configuration to fix, not a reason to send the token to another host.
 */
function mayFollow(from: URL, to: URL): boolean {
  return to.hostname === from.hostname && (to.protocol === from.protocol || to.protocol === 'https:');
}

export async function pingHeartbeat(url: string, opts: PingOptions): Promise<PingResult> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const result = (ok: boolean, status: number | null, detail: string): PingResult =>
    ({ ok, status, detail: scrub(detail, url), latencyMs: Math.round((performance.now() - started) * 10) / 10 });
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    return result(false, null, 'the push URL is not a URL');
  }
  if (current.protocol !== 'http:' && current.protocol !== 'https:') return result(false, null, `the push URL's scheme ${current.protocol} is not http or https`);
  try {
    for (let hops = 0; ; hops += 1) {
      const res = await fetch(current, { method: 'GET', redirect: 'manual', signal, headers: { 'user-agent': 'warden-heartbeat' } });
      // The body is never read: cancelling it hands the connection back at once.
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 300 || res.status >= 400) return result(res.ok, res.status, res.ok ? `HTTP ${res.status}` : `HTTP ${res.status}: the receiver refused the ping`);
      const location = res.headers.get('location');
      if (!location) return result(false, res.status, `HTTP ${res.status} without a Location`);
      const next = new URL(location, current);
      if (!mayFollow(current, next)) return result(false, res.status, `HTTP ${res.status} to ${next.origin}: a redirect to another host (or from https to http) is not followed`);
      if (hops >= MAX_REDIRECTS) return result(false, res.status, `more than ${MAX_REDIRECTS} redirects`);
      current = next;
    }
  } catch (err) {
    if (deadline.aborted) return result(false, null, `no answer within ${opts.timeoutMs} ms`);
    if (opts.signal?.aborted) return result(false, null, 'cancelled');
    return result(false, null, failureText(err));
  }
}

/** fetch's "fetch failed" says nothing; its cause's code (ECONNREFUSED, ENOTFOUND) does. */
function failureText(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return `the receiver could not be reached (${cause.code})`;
  return `the receiver could not be reached (${String((err as Error)?.message ?? err).slice(0, 200)})`;
}

/** Whatever a library put in a message, the URL's path and query do not leave this module. */
function scrub(text: string, url: string): string {
  let out = text.replace(/\s*[\r\n]+\s*/g, ' ');
  try {
    const u = new URL(url);
    for (const secret of [u.href, `${u.pathname}${u.search}`, u.search].filter((s) => s.length > 1)) out = out.split(secret).join('(push URL)');
  } catch {
    out = out.split(url).join('(push URL)');
  }
  return out;
}
