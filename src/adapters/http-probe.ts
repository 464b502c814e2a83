// One HTTP GET to a health URL the inventory names, checked against what it expects: a status
// (default 2xx) and a keyword. Redirects are not followed (a 3xx is an answer, not a success). The
// body is read only to look for the keyword, and never past KEYWORD_WINDOW_BYTES. Each probe opens
// its own connection: a pooled keep-alive socket to an nginx worker that a reload retired fails
// with "other side closed", which would read as a failed check right after a good reload.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export const KEYWORD_WINDOW_BYTES = 64 * 1024;

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

/** The inventory's `healthCheck` as an HTTP check, or null when it has none (tcp, container, absent). */
export function httpCheckOf(healthCheck: unknown): HttpCheck | null {
  const h = healthCheck as { http?: unknown; status?: number; keyword?: string } | null | undefined;
  if (typeof h?.http !== 'string') return null;
  return { url: h.http, ...(h.status !== undefined ? { status: h.status } : {}), ...(h.keyword !== undefined ? { keyword: h.keyword } : {}) };
}

export interface CheckedProbe {
  /** The answer met the expectation. */
  passed: boolean;
  /** The status, or null when nothing answered. */
  status: number | null;
  /** One line: what was expected and what came. */
  detail: string;
}

interface Answer {
  status: number;
  /** The first KEYWORD_WINDOW_BYTES of the body, when asked for. */
  body: string;
}

function get(url: string, timeoutMs: number, readBody: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(u, { method: 'GET', agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (!readBody) {
        res.destroy();
        resolve({ status, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      let read = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        read += c.length;
        if (read >= KEYWORD_WINDOW_BYTES) res.destroy();
      });
      const done = (): void => resolve({ status, body: Buffer.concat(chunks).subarray(0, KEYWORD_WINDOW_BYTES).toString('utf8') });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** GET `url` and check it against `expect`; never throws. */
export async function probeExpecting(url: string, expect: Expectation, timeoutMs: number): Promise<CheckedProbe> {
  try {
    const res = await get(url, timeoutMs, expect.keyword !== undefined);
    const statusOk = expect.status === undefined ? res.status >= 200 && res.status < 300 : res.status === expect.status;
    if (!statusOk || expect.keyword === undefined) {
      return { passed: statusOk, status: res.status, detail: `${url} answered ${res.status}${statusOk ? '' : `, expected ${expect.status ?? '2xx'}`}` };
    }
    const found = res.body.includes(expect.keyword);
    return { passed: found, status: res.status, detail: `${url} answered ${res.status}${found ? ` with "${expect.keyword}"` : ` without "${expect.keyword}" in its first ${KEYWORD_WINDOW_BYTES} bytes`}` };
  } catch (err) {
    return { passed: false, status: null, detail: `${url}: ${(err as Error).message}` };
  }
}
