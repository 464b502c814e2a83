// One HTTP GET to a health URL the inventory names, checked against what it expects: a status
// (default 2xx) and a keyword. Redirects are not followed (a 3xx is an answer, not a success). The
// body is read only to look for the keyword, and never past KEYWORD_WINDOW_BYTES.

export const KEYWORD_WINDOW_BYTES = 64 * 1024;

export interface Expectation {
  /** The status that means healthy; default any 2xx. */
  status?: number;
  /** Text the body must contain within its first KEYWORD_WINDOW_BYTES. */
  keyword?: string;
}

export interface CheckedProbe {
  /** The answer met the expectation. */
  passed: boolean;
  /** The status, or null when nothing answered. */
  status: number | null;
  /** One line: what was expected and what came. */
  detail: string;
}

const failureText = (err: unknown): string => ((err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message);

/** GET `url` and check it against `expect`; never throws. */
export async function probeExpecting(url: string, expect: Expectation, timeoutMs: number): Promise<CheckedProbe> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const statusOk = expect.status === undefined ? res.status >= 200 && res.status < 300 : res.status === expect.status;
    if (!statusOk || expect.keyword === undefined) {
      await res.body?.cancel();
      return { passed: statusOk, status: res.status, detail: `${url} answered ${res.status}${statusOk ? '' : `, expected ${expect.status ?? '2xx'}`}` };
    }
    const found = await bodyContains(res, expect.keyword);
    return { passed: found, status: res.status, detail: `${url} answered ${res.status}${found ? ` with "${expect.keyword}"` : ` without "${expect.keyword}" in its first ${KEYWORD_WINDOW_BYTES} bytes`}` };
  } catch (err) {
    return { passed: false, status: null, detail: `${url}: ${failureText(err)}` };
  }
}

async function bodyContains(res: Response, keyword: string): Promise<boolean> {
  const reader = res.body?.getReader();
  if (!reader) return false;
  const decoder = new TextDecoder();
  let text = '';
  let read = 0;
  try {
    while (read < KEYWORD_WINDOW_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      text += decoder.decode(value, { stream: true });
      if (text.includes(keyword)) return true;
    }
    return text.slice(0, KEYWORD_WINDOW_BYTES).includes(keyword);
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
