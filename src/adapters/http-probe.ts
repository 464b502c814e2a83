// One HTTP GET to a health URL the inventory names: the status, or why there was none. Redirects
// are not followed (a 3xx is an answer, not a success), and the body is never read.

export type ProbeResult = { ok: true; status: number } | { ok: false; error: string };

export async function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    return { ok: true, status: res.status };
  } catch (err) {
    return { ok: false, error: (err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message };
  }
}
