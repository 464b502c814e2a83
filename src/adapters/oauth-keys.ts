// The signing keys of an OAuth authorization server: its metadata (RFC 8414 / OpenID discovery)
// for jwks_uri, then the key set through jose's remote JWKS (cached, refetched on an unknown kid at
// most once per cooldown, one fetch in flight shared by every caller). Every fetch has a deadline
// and a size cap; after any failed fetch nothing is fetched again for retryAfterMs, so a flood of
// tokens during an outage is never passed on to the issuer. Errors leave here as KeysUnavailable.
import { createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey } from 'jose';
import { loggableUrl, secureUrlProblem } from '../shared/secure-url.js';

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
  /** After a failed fetch (metadata or key set), callers are answered at once for this long before it is tried again; default 10 s. */
  retryAfterMs?: number;
  /** The clock of the back-off (tests step it); default Date.now. */
  now?: () => number;
}

export interface IssuerKeys {
  /** For jose's jwtVerify. Throws KeysUnavailable, or jose's own errors about the token (unknown kid, ...). */
  getKey: JWTVerifyGetKey;
  /** Discovers jwks_uri and fetches the key set now; resolves to the reason it failed, if it did. */
  warm(): Promise<string | undefined>;
}

const MAX_METADATA_BYTES = 256 * 1024;
const MAX_JWKS_BYTES = 256 * 1024;

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

/** The body as text, refused past `max` bytes without reading the rest: a hostile server cannot make us buffer gigabytes. */
async function readCapped(res: Response, max: number, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > max) {
    await res.body?.cancel();
    throw new KeysUnavailable(`${url}: answer over ${max} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > max) throw new KeysUnavailable(`${url}: answer over ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, url: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new KeysUnavailable(`${url}: not JSON`);
  }
}

/**
 * A status other than 200, as KeysUnavailable. Redirects are never followed (fetch runs with
 * redirect: 'manual'): the issuer must publish at the URLs it names, and a 3xx to anywhere else,
 * plain http or another host, would take our trust with it.
 */
async function notOk(res: Response, url: string): Promise<KeysUnavailable> {
  await res.body?.cancel();
  const redirect = res.status >= 300 && res.status < 400;
  return new KeysUnavailable(`${url} answered ${res.status}${redirect ? ' (a redirect: not followed)' : ''}`);
}

/** What a hostile or broken issuer wrote, quoted for a log line: bounded, whatever its size or type. */
const quoted = (value: unknown): string => (JSON.stringify(value) ?? 'nothing').slice(0, 200);

/** Any error of a fetch, as KeysUnavailable with a sentence for the log. */
function unavailable(err: unknown, url: string, timeoutMs: number): KeysUnavailable {
  if (err instanceof KeysUnavailable) return err;
  const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
  return new KeysUnavailable(`${url}: ${why}`);
}

/** jwks_uri from one metadata URL; undefined when that URL has none (any 4xx: try the next, as the MCP SDK client does). */
async function fetchMetadata(url: string, issuer: string, timeoutMs: number): Promise<string | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual', headers: { accept: 'application/json' } });
  if (res.status >= 400 && res.status < 500) {
    await res.body?.cancel();
    return undefined;
  }
  if (res.status !== 200) throw await notOk(res, url);
  const doc = parseJson(await readCapped(res, MAX_METADATA_BYTES, url), url) as { issuer?: unknown; jwks_uri?: unknown } | null;
  // RFC 8414 section 3.3: metadata naming another issuer must not be used.
  if (doc?.issuer !== issuer) throw new KeysUnavailable(`${url} names issuer ${quoted(doc?.issuer)}, not ${issuer}`);
  if (typeof doc.jwks_uri !== 'string' || !URL.canParse(doc.jwks_uri)) throw new KeysUnavailable(`${url} has no jwks_uri`);
  // The config refuses such a jwksUri (http:// off loopback, a user or password); metadata must not get one past that rule.
  const problem = secureUrlProblem(doc.jwks_uri);
  if (problem) throw new KeysUnavailable(`${url}: jwks_uri ${loggableUrl(doc.jwks_uri)} refused: ${problem}`);
  return doc.jwks_uri;
}

async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  for (const url of metadataUrls(issuer)) {
    try {
      const found = await fetchMetadata(url, issuer, timeoutMs);
      if (found) return found;
    } catch (err) {
      throw unavailable(err, url, timeoutMs);
    }
  }
  throw new KeysUnavailable(`no metadata at ${metadataUrls(issuer).join(' or ')}`);
}

/** jose's errors about the token itself pass through; anything else is the key source failing. */
function isAboutTheToken(err: unknown): boolean {
  return err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys
    || err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported || err instanceof errors.JWSInvalid;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function issuerKeys(opts: IssuerKeysOptions): IssuerKeys {
  const retryAfterMs = opts.retryAfterMs ?? 10_000;
  const now = opts.now ?? Date.now;
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  let discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  let failed: { atMs: number; reason: string } | undefined;

  const backingOff = (): KeysUnavailable | undefined =>
    failed && now() - failed.atMs < retryAfterMs ? new KeysUnavailable(failed.reason) : undefined;
  const note = (err: KeysUnavailable): KeysUnavailable => {
    failed = { atMs: now(), reason: err.message };
    return err;
  };

  /** jose's fetch of the key set, through the same back-off, cap and checks as the metadata. */
  const fetchKeySet = async (url: string, init: RequestInit): Promise<Response> => {
    const waiting = backingOff();
    if (waiting) throw waiting;
    try {
      // jose asks for 'manual' too; said here so that no version of it can make us follow one.
      const res = await fetch(url, { ...init, redirect: 'manual' });
      if (res.status !== 200) throw await notOk(res, url);
      const text = await readCapped(res, MAX_JWKS_BYTES, url);
      const doc = parseJson(text, url);
      if (!isObject(doc) || !Array.isArray(doc.keys) || !doc.keys.every(isObject)) throw new KeysUnavailable(`${url}: not a JSON Web Key Set`);
      failed = undefined;
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (err) {
      throw note(unavailable(err, url, opts.timeoutMs));
    }
  };

  const remote = (uri: string) =>
    createRemoteJWKSet(new URL(uri), { timeoutDuration: opts.timeoutMs, cooldownDuration: opts.cooldownMs ?? 30_000, [customFetch]: fetchKeySet });

  const resolve = (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    if (jwks) return Promise.resolve(jwks);
    if (opts.jwksUri) return Promise.resolve((jwks = remote(opts.jwksUri)));
    const waiting = backingOff();
    if (waiting) return Promise.reject(waiting);
    // One discovery at a time: callers arriving while it runs wait for the same answer.
    discovering ??= discoverJwksUri(opts.issuer, opts.timeoutMs).then(
      (uri) => (jwks = remote(uri)),
      (err: unknown) => { throw note(unavailable(err, opts.issuer, opts.timeoutMs)); },
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
        if (err instanceof KeysUnavailable) throw new KeysUnavailable(`signing keys of ${opts.issuer}: ${err.message}`);
        // A key set jose itself refuses (a key it cannot import): back off from it like from a failed fetch.
        throw note(new KeysUnavailable(`signing keys of ${opts.issuer}: ${(err as Error).message}`));
      }
    },
    async warm() {
      try {
        const keys = await resolve();
        if (!keys.fresh) await keys.reload();
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  };
}
