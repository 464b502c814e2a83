// Probes for warden's monitors and health checks: one HTTP GET checked against what it expects, or
// one TCP connect. A deadline bounds each probe as a whole (connect, TLS, headers and body), so a
// server that accepts and never answers, or trickles bytes, fails at timeoutMs. They never throw, and
// a response body never appears in a result beyond whether the keyword was in it.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { asSocket, type Dial } from './ssh.js';

export const KEYWORD_WINDOW_BYTES = 64 * 1024;
const DAY_MS = 86_400_000;

export interface Expectation {
  /** The status that means healthy; default any 2xx. */
  status?: number;
  /** Text the body must contain within its first KEYWORD_WINDOW_BYTES. */
  keyword?: string;
}

/** A service's HTTP health check: where to GET and what the answer must be. */
export interface HttpCheck extends Expectation {
  url: string;
}

export interface PeerCertificate {
  /** notAfter, ISO 8601. */
  validTo: string;
  /** Whole days until validTo, rounded down: negative once expired. */
  daysLeft: number;
  /** "CN=example.org, O=..." */
  subject: string;
  issuer: string;
}

export interface ProbeResult {
  up: boolean;
  /** From the start of the probe to its verdict, in milliseconds (0.1 ms resolution). */
  latencyMs: number;
  /** The HTTP status, or null when nothing answered (and always for TCP). */
  status: number | null;
  /** One line: what was expected and what came. */
  detail: string;
  /** https only: the peer's certificate, when the TLS handshake completed. */
  certificate?: PeerCertificate;
}

export interface ProbeOptions {
  /** Bounds the whole probe, not only socket idleness. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** How to reach the target (default: directly from here); `sshDial` probes from a remote host. */
  dial?: Dial;
}

/** A TCP connection from this machine. */
export const directDial: Dial = (host, port) => new Promise((resolve, reject) => {
  const socket = connect({ host, port });
  socket.once('connect', () => { socket.removeListener('error', reject); resolve(socket); });
  socket.once('error', reject);
});

/** The URL's host as a connection takes it: without an IPv6 literal's brackets. */
const bare = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Runs `dial` and hands over its stream, or destroys it when the probe already settled (its
 * deadline passed while an SSH channel was still opening): no stream outlives its probe.
 */
function dialed(dial: Dial, host: string, port: number, isOpen: () => boolean): Promise<Duplex> {
  return dial(host, port).then((stream) => {
    if (!isOpen()) {
      stream.destroy();
      throw new Error('the probe ended before the connection opened');
    }
    return stream;
  });
}

export interface HttpProbeOptions extends ProbeOptions {
  /**
   * Accept a certificate that does not verify (self-signed, expired, wrong name); the result is
   * still up only if the answer meets the check, its detail says the certificate was not trusted,
   * and `certificate` is read from the peer either way.
   */
  ignoreTlsErrors?: boolean;
}

type Verdict = Omit<ProbeResult, 'latencyMs'>;

const oneLine = (s: string): string => s.replace(/\s*[\r\n]+\s*/g, ' ');

/**
 * Runs `start` until it settles, the deadline passes or `signal` aborts, whichever comes first;
 * then calls the teardown `start` returned, so no socket outlives the verdict.
 */
function bounded(opts: ProbeOptions, late: () => Verdict, aborted: () => Verdict, start: (settle: (v: Verdict) => void) => () => void): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let teardown: (() => void) | undefined;
    const settle = (v: Verdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      teardown?.();
      resolve({ ...v, detail: oneLine(v.detail), latencyMs: Math.round((performance.now() - t0) * 10) / 10 });
    };
    const onAbort = (): void => settle(aborted());
    const timer = setTimeout(() => settle(late()), Math.max(0, opts.timeoutMs));
    if (opts.signal?.aborted) return settle(aborted());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      teardown = start(settle);
    } catch (err) {
      settle({ up: false, status: null, detail: failureText(err) });
    }
    if (settled) teardown?.();
  });
}

/** Node's connection errors, in plain words; the code stays for whoever greps logs. */
function failureText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/CERT|UNABLE_TO_(GET|VERIFY|DECODE)/.test(code)) return `certificate does not verify (${e.message}; ${code})`;
  const plain: Record<string, string> = {
    ECONNREFUSED: 'connection refused', ECONNRESET: 'connection closed before a complete answer',
    ENOTFOUND: 'host name does not resolve', EAI_AGAIN: 'host name could not be resolved now',
    EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable', ETIMEDOUT: 'connection timed out',
  };
  if (plain[code]) return `${plain[code]} (${code})`;
  if (code.startsWith('HPE_')) return `the answer is not valid HTTP (${code})`;
  if (code.startsWith('ERR_SSL_')) return `TLS handshake failed (${code})`;
  return code ? `${e.message} (${code})` : (e instanceof Error ? e.message : String(err));
}

function distinguishedName(name: unknown): string {
  if (!name || typeof name !== 'object') return '';
  return Object.entries(name as Record<string, string | string[]>).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ');
}

function certificateOf(socket: TLSSocket): PeerCertificate | undefined {
  const c = socket.getPeerCertificate();
  const validTo = new Date(c?.valid_to ?? NaN);
  if (Number.isNaN(validTo.getTime())) return undefined;
  return {
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - Date.now()) / DAY_MS),
    subject: distinguishedName(c.subject),
    issuer: distinguishedName(c.issuer),
  };
}

const statusMet = (status: number, expected: number | undefined): boolean => (expected === undefined ? status >= 200 && status < 300 : status === expected);

/**
 * Reads the body until `keyword` appears, the window is full or the body ends; a body cut short
 * is judged on what came. The search is over bytes, so a keyword split across chunks is found.
 */
function readForKeyword(res: IncomingMessage, keyword: string, done: (found: boolean, bytes: number) => void, progress: (bytes: number) => void): void {
  const needle = Buffer.from(keyword, 'utf8');
  let seen = Buffer.alloc(0);
  let finished = false;
  const finish = (found: boolean): void => {
    if (finished) return;
    finished = true;
    done(found, seen.length);
  };
  res.on('data', (c: Buffer) => {
    const from = Math.max(0, seen.length - needle.length + 1);
    seen = Buffer.concat([seen, c]).subarray(0, KEYWORD_WINDOW_BYTES);
    progress(seen.length);
    if (seen.indexOf(needle, from) >= 0) finish(true);
    else if (seen.length >= KEYWORD_WINDOW_BYTES) finish(false);
  });
  for (const ev of ['end', 'close', 'error']) res.on(ev, () => finish(false));
}

type CreateConnection = (options: unknown, done: (err: Error | null, socket: Duplex) => void) => undefined;

/** http.request's createConnection over `dial`, with TLS on top for https (SNI unless the host is an IP). */
function throughDial(dial: Dial, url: URL, verify: boolean, isOpen: () => boolean): CreateConnection {
  const host = bare(url.hostname);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return (_options, done) => {
    dialed(dial, host, port, isOpen).then(
      (stream) => done(null, url.protocol === 'https:'
        ? tlsConnect({ socket: asSocket(stream) as Socket, rejectUnauthorized: verify, ...(isIP(host) ? {} : { servername: host }) })
        : asSocket(stream)),
      (err: unknown) => done(err as Error, undefined as unknown as Duplex),
    );
    return undefined;
  };
}

/**
 * GET `check.url` on a fresh connection (no agent, no keep-alive: a pooled socket to an nginx worker
 * that a reload retired fails with "other side closed") and judge the answer: the status must be
 * `check.status` (default any 2xx; redirects are not followed, a 3xx is an answer), and the first
 * KEYWORD_WINDOW_BYTES of the body must hold `check.keyword` when one is given. Never throws.
 */
export function probeHttp(check: HttpCheck, opts: HttpProbeOptions): Promise<ProbeResult> {
  const at = check.url;
  let url: URL;
  try {
    url = new URL(at);
  } catch {
    return Promise.resolve({ up: false, latencyMs: 0, status: null, detail: oneLine(`${at}: not a valid URL`) });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.resolve({ up: false, latencyMs: 0, status: null, detail: oneLine(`${at}: only http and https URLs can be probed`) });
  }
  let phase = 'still connecting';
  let status: number | null = null;
  let certificate: PeerCertificate | undefined;
  let untrusted = '';
  const verdict = (up: boolean, detail: string): Verdict => ({ up, status, detail, ...(certificate ? { certificate } : {}) });
  const late = (): Verdict => verdict(false, `${at}: no complete answer within ${opts.timeoutMs} ms (${phase})`);
  const aborted = (): Verdict => verdict(false, `${at}: probe cancelled (${phase})`);
  return bounded(opts, late, aborted, (settle) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let open = true;
    const via = opts.dial && { createConnection: throughDial(opts.dial, url, !opts.ignoreTlsErrors, () => open) };
    const req = send(url, { method: 'GET', agent: false, headers: { connection: 'close' }, rejectUnauthorized: !opts.ignoreTlsErrors, ...via }, (res) => {
      status = res.statusCode ?? 0;
      const answered = `${at} answered ${status}`;
      if (!statusMet(status, check.status)) return settle(verdict(false, `${answered}, expected ${check.status ?? '2xx'}${untrusted}`));
      if (check.keyword === undefined) return settle(verdict(true, `${answered}${untrusted}`));
      const keyword = check.keyword;
      phase = `answered ${status}, keyword not seen in the 0 bytes read`;
      readForKeyword(res, keyword, (found) => settle(found
        ? verdict(true, `${answered} with "${keyword}"${untrusted}`)
        : verdict(false, `${answered} without "${keyword}" in its first ${KEYWORD_WINDOW_BYTES} bytes${untrusted}`)),
      (bytes) => { phase = `answered ${status}, keyword not seen in the ${bytes} bytes read`; });
    });
    req.on('socket', (socket: Socket) => {
      socket.once('connect', () => { phase = url.protocol === 'https:' ? 'connected, TLS handshake incomplete' : 'connected, response headers incomplete'; });
      socket.once('secureConnect', () => {
        const tls = socket as TLSSocket;
        phase = 'connected, response headers incomplete';
        certificate = certificateOf(tls);
        if (!tls.authorized) untrusted = `; certificate does not verify (${String(tls.authorizationError)}), ignored as asked`;
      });
    });
    req.on('error', (err) => settle(verdict(false, `${at}: ${failureText(err)}`)));
    req.end();
    return () => {
      open = false;
      req.destroy();
    };
  });
}

/** `host:port` or `[v6]:port` split, or null when it is neither. */
export function splitHostPort(hostPort: string): { host: string; port: number } | null {
  const m = /^\[([0-9A-Za-z:.%_-]+)\]:(\d{1,5})$/.exec(hostPort) ?? /^([^\s:[\]/]+):(\d{1,5})$/.exec(hostPort);
  const port = Number(m?.[2]);
  return m && port >= 1 && port <= 65535 ? { host: m[1]!, port } : null;
}

/** Opens a TCP connection to `hostPort` and closes it: up when the connection opened. Never throws. */
export function probeTcp(hostPort: string, opts: ProbeOptions): Promise<ProbeResult> {
  const target = splitHostPort(hostPort);
  if (!target) return Promise.resolve({ up: false, latencyMs: 0, status: null, detail: oneLine(`${hostPort}: not host:port or [v6]:port`) });
  const down = (detail: string): Verdict => ({ up: false, status: null, detail });
  return bounded(
    opts,
    () => down(`${hostPort}: no connection within ${opts.timeoutMs} ms`),
    () => down(`${hostPort}: probe cancelled`),
    (settle) => {
      if (opts.dial) {
        let open = true;
        dialed(opts.dial, target.host, target.port, () => open).then((stream) => {
          settle({ up: true, status: null, detail: `${hostPort} accepted a connection` });
          stream.destroy();
        }, (err: unknown) => settle(down(`${hostPort}: ${failureText(err)}`)));
        return () => { open = false; };
      }
      const socket = connect({ host: target.host, port: target.port });
      socket.once('connect', () => settle({ up: true, status: null, detail: `${hostPort} accepted a connection` }));
      socket.once('error', (err) => settle(down(`${hostPort}: ${failureText(err)}`)));
      return () => socket.destroy();
    },
  );
}
