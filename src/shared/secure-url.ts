// Where warden may fetch or trust an OAuth URL from: TLS everywhere, plain http only to this machine.
// One rule for the config's URLs and for every URL an issuer's metadata names.

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const SECURE_URL_RULE = 'expected an https:// URL (http:// only on 127.0.0.1, localhost or [::1])';

/** https, or http on a loopback address (a local authorization server, tests): the spec asks for TLS everywhere else. */
export function isSecureUrl(u: string): boolean {
  if (!URL.canParse(u)) return false;
  const url = new URL(u);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}
