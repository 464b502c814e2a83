// Where warden may fetch or trust an OAuth URL from: TLS everywhere, plain http only to this machine,
// and no user or password in it. One rule for the config's URLs and for every URL an issuer's metadata names.

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const SECURE_URL_RULE = 'expected an https:// URL (http:// only on 127.0.0.1, localhost or [::1])';
/** These URLs are named whole in log lines and errors: a password in one would be written wherever they go. */
export const NO_USERINFO_RULE = 'no user or password in it (the URL is written in logs and errors)';

/** Why `u` may not be fetched or trusted, or undefined when it may. */
export function secureUrlProblem(u: string): string | undefined {
  if (!URL.canParse(u)) return 'not a URL';
  const url = new URL(u);
  // https, or http on a loopback address (a local authorization server, tests): the spec asks for TLS everywhere else.
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)))) return SECURE_URL_RULE;
  if (url.username || url.password) return NO_USERINFO_RULE;
  return undefined;
}

/** `u` fit for a log line: any user and password dropped, at most `max` characters. */
export function loggableUrl(u: string, max = 200): string {
  if (!URL.canParse(u)) return JSON.stringify(u.slice(0, max));
  const url = new URL(u);
  url.username = '';
  url.password = '';
  return url.href.slice(0, max);
}
