// A cookie-keeping HTTP client for the operator console, as a browser on the console's own origin
// would send (Origin and Sec-Fetch-Site same-origin on posts): sign in with a token, then get pages
// and post forms with the session's CSRF token. For page tests that need no real browser.
export interface ConsolePage {
  status: number;
  headers: Headers;
  body: string;
}

export interface ConsoleClient {
  /** Session cookie value (undefined before sign-in). */
  cookie(): string | undefined;
  /** The CSRF token found on the last page fetched. */
  csrf(): string | undefined;
  get(path: string, headers?: Record<string, string>): Promise<ConsolePage>;
  /** A form post; `_csrf` is added unless given (pass `_csrf: ''` to leave it out). */
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<ConsolePage>;
  /** A post of exactly `body` as `contentType` (a repeated field, a broken multipart body), same-origin, no CSRF token added. */
  postRaw(path: string, body: string, contentType: string, headers?: Record<string, string>): Promise<ConsolePage>;
}

const CSRF = /name="_csrf" value="([^"]+)"/;

export function consoleClient(base: string): ConsoleClient {
  const jar = new Map<string, string>();
  let csrf: string | undefined;
  const origin = new URL(base).origin;
  const cookieHeader = (): string => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: Response): void => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  };
  const send = async (path: string, init: RequestInit & { headers: Record<string, string> }): Promise<ConsolePage> => {
    const res = await fetch(new URL(path, base), { ...init, redirect: 'manual', headers: { ...(jar.size ? { cookie: cookieHeader() } : {}), ...init.headers } });
    keep(res);
    const body = await res.text();
    csrf = CSRF.exec(body)?.[1] ?? csrf;
    return { status: res.status, headers: res.headers, body };
  };
  return {
    cookie: () => jar.get('warden_session') ?? jar.get('__Host-warden_session'),
    csrf: () => csrf,
    get: (path, headers = {}) => send(path, { headers: { accept: 'text/html', ...headers } }),
    post: (path, form, headers = {}) => send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin, 'sec-fetch-site': 'same-origin', accept: 'text/html', ...headers },
      body: new URLSearchParams({ ...(csrf !== undefined ? { _csrf: csrf } : {}), ...form }).toString(),
    }),
    postRaw: (path, body, contentType, headers = {}) => send(path, {
      method: 'POST',
      headers: { 'content-type': contentType, origin, 'sec-fetch-site': 'same-origin', accept: 'text/html', ...headers },
      body,
    }),
  };
}

/** Signs in with `token` through the form, as a person would; returns the client and the response. */
export async function signIn(base: string, token: string): Promise<{ client: ConsoleClient; res: ConsolePage }> {
  const client = consoleClient(base);
  const form = await client.get('/console/login');
  const login = /name="_login" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const res = await client.post('/console/login', { _login: login, token, next: '/console/incidents' });
  return { client, res };
}
