// The gateway's own HTTP answers: JSON bodies, and errors as {error, reason} with a status that
// says what to do (401 authenticate, 403 not allowed, 429 wait, 413 smaller, 404/409 look again).

export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function jsonError(status: number, error: string, reason: string, headers: Record<string, string> = {}): Response {
  return json({ error, reason }, status, headers);
}
