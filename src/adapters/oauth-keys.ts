// The signing keys of an OAuth authorization server: its metadata (RFC 8414 / OpenID discovery)
// for jwks_uri, then the key set through jose's remote JWKS (cached, refetched on an unknown kid at
// most once per cooldown). Every fetch has a deadline: a hanging server costs a caller that
// deadline, never the gateway. Library and network errors leave here as KeysUnavailable.
import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';

/** The keys could not be fetched (network, timeout, a bad answer): nobody's token can be checked now. */
export class KeysUnavailable extends Error {
  override name = 'KeysUnavailable';
}

export interface IssuerKeysOptions {
  issuer: string;
  /** When set, no discovery. */
  jwksUri?: string;
  timeoutMs: number;
  /** How soon after a fetch an unknown kid may fetch again (jose's cooldown); default 30 s. */
  cooldownMs?: number;
  /** After a failed discovery, callers are answered at once for this long before it is tried again; default 10 s. */
  retryAfterMs?: number;
}

export interface IssuerKeys {
  /** For jose's jwtVerify. Throws KeysUnavailable, or jose's own errors about the token (unknown kid, ...). */
  getKey: JWTVerifyGetKey;
  /** Discovers jwks_uri now; resolves to the reason it failed, if it did. */
  warm(): Promise<string | undefined>;
}

const MAX_METADATA_BYTES = 256 * 1024;

/** RFC 8414 section 3 and OpenID discovery, in the order the MCP authorization spec gives. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  if (!path) return [`${url.origin}/.well-known/oauth-authorization-server`, `${url.origin}/.well-known/openid-configuration`];
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

async function fetchMetadata(url: string, issuer: string, timeoutMs: number): Promise<string | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual', headers: { accept: 'application/json' } });
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (res.status !== 200) throw new KeysUnavailable(`${url} answered ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_METADATA_BYTES) throw new KeysUnavailable(`${url}: metadata over ${MAX_METADATA_BYTES} bytes`);
  const doc = JSON.parse(text) as { issuer?: unknown; jwks_uri?: unknown };
  // RFC 8414 section 3.3: metadata naming another issuer must not be used.
  if (doc.issuer !== issuer) throw new KeysUnavailable(`${url} names issuer ${JSON.stringify(doc.issuer)}, not ${issuer}`);
  if (typeof doc.jwks_uri !== 'string' || !URL.canParse(doc.jwks_uri)) throw new KeysUnavailable(`${url} has no jwks_uri`);
  return doc.jwks_uri;
}

async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  for (const url of metadataUrls(issuer)) {
    try {
      const found = await fetchMetadata(url, issuer, timeoutMs);
      if (found) return found;
    } catch (err) {
      if (err instanceof KeysUnavailable) throw err;
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
      throw new KeysUnavailable(`${url}: ${why}`);
    }
  }
  throw new KeysUnavailable(`no metadata at ${metadataUrls(issuer).join(' or ')}`);
}

/** jose's errors about the token itself pass through; anything else is the key source failing. */
function isAboutTheToken(err: unknown): boolean {
  return err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys
    || err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported || err instanceof errors.JWSInvalid;
}

export function issuerKeys(opts: IssuerKeysOptions): IssuerKeys {
  const retryAfterMs = opts.retryAfterMs ?? 10_000;
  let jwks: JWTVerifyGetKey | undefined;
  let discovering: Promise<JWTVerifyGetKey> | undefined;
  let failed: { atMs: number; reason: string } | undefined;

  const remote = (uri: string): JWTVerifyGetKey =>
    createRemoteJWKSet(new URL(uri), { timeoutDuration: opts.timeoutMs, cooldownDuration: opts.cooldownMs ?? 30_000 });

  const resolve = (): Promise<JWTVerifyGetKey> => {
    if (jwks) return Promise.resolve(jwks);
    if (opts.jwksUri) return Promise.resolve((jwks = remote(opts.jwksUri)));
    if (failed && Date.now() - failed.atMs < retryAfterMs) return Promise.reject(new KeysUnavailable(failed.reason));
    // One discovery at a time: callers arriving while it runs wait for the same answer.
    discovering ??= discoverJwksUri(opts.issuer, opts.timeoutMs).then(
      (uri) => (jwks = remote(uri)),
      (err: unknown) => {
        failed = { atMs: Date.now(), reason: (err as Error).message };
        throw err;
      },
    ).finally(() => { discovering = undefined; });
    return discovering;
  };

  return {
    async getKey(header, token) {
      const keys = await resolve();
      try {
        return await keys(header, token);
      } catch (err) {
        if (isAboutTheToken(err)) throw err;
        const why = err instanceof errors.JWKSTimeout ? `no answer within ${opts.timeoutMs} ms` : (err as Error).message;
        throw new KeysUnavailable(`signing keys of ${opts.issuer}: ${why}`);
      }
    },
    async warm() {
      try {
        await resolve();
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  };
}
