// The inventory's HTTP health checks: reading one from a `healthCheck` value, and probing it with the
// shared implementation in probes.ts (one GET on a fresh connection, the whole probe bounded by its
// timeout, redirects not followed, the body read only for the keyword).
import { KEYWORD_WINDOW_BYTES, probeHttp, type Expectation, type HttpCheck } from './probes.js';

export { KEYWORD_WINDOW_BYTES };
export type { Expectation, HttpCheck };

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

/** GET `url` and check it against `expect` within `timeoutMs` in all; never throws. */
export async function probeExpecting(url: string, expect: Expectation, timeoutMs: number): Promise<CheckedProbe> {
  const check: HttpCheck = { url, ...(expect.status !== undefined ? { status: expect.status } : {}), ...(expect.keyword !== undefined ? { keyword: expect.keyword } : {}) };
  const r = await probeHttp(check, { timeoutMs });
  return { passed: r.up, status: r.status, detail: r.detail };
}
