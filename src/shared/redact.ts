// Secret redaction for everything that leaves a tool or enters the audit log. It errs on the side
// of hiding: a redacted non-secret costs a little context, a leaked secret costs a rotation.

export const REDACTED = '[REDACTED]';

const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|auth(orization)?|cookie|session[-_]?id|dsn/i;

interface Pattern {
  re: RegExp;
  replace: string | ((...m: string[]) => string);
}

const PATTERNS: Pattern[] = [
  // PEM private key blocks, whole. The replacement has no BEGIN line, so redacting twice is harmless.
  { re: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END \1PRIVATE KEY\2-----|$)/g, replace: `${REDACTED} (private key)` },
  // Authorization headers and bearer tokens.
  { re: /\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=-]{8,}/gi, replace: (_m, scheme) => `${scheme} ${REDACTED}` },
  // Passwords given as command-line options: --password X, --password=X, mysql's -pX.
  { re: /(--(?:password|passwd|pass|secret|token|api-key|auth-token))([= ]+)(\S+)/gi, replace: (_m, flag, sep) => `${flag}${sep}${REDACTED}` },
  { re: /(\bmysql(?:dump|admin)?\b[^\n]*?\s-p)(\S+)/g, replace: (_m, pre) => `${pre}${REDACTED}` },
  // Provider keys with recognisable prefixes.
  { re: /\bsk-ant-[A-Za-z0-9_-]{10,}/g, replace: REDACTED },
  { re: /\bsk-(proj-)?[A-Za-z0-9_-]{20,}/g, replace: REDACTED },
  { re: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, replace: REDACTED },
  { re: /\bgh[pousr]_[A-Za-z0-9]{30,}/g, replace: REDACTED },
  { re: /\bgithub_pat_[A-Za-z0-9_]{30,}/g, replace: REDACTED },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replace: REDACTED },
  { re: /\bglpat-[A-Za-z0-9_-]{20}/g, replace: REDACTED },
  { re: /\bAIza[0-9A-Za-z_-]{35}/g, replace: REDACTED },
  { re: /\bwdn_[A-Za-z0-9_-]{20,}/g, replace: REDACTED },
  // JSON Web Tokens.
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, replace: REDACTED },
  // Credentials inside URLs: scheme://user:password@host.
  { re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s@/]+@/gi, replace: (_m, pre) => `${pre}:${REDACTED}@` },
  // URL query parameters that carry a credential under a short name (?key=, &sig=, X-Amz-Signature).
  { re: /([?&](?:key|sig|signature|auth|apikey|x-amz-signature|x-amz-credential|x-goog-signature)=)[^&\s#"']+/gi, replace: (_m, pre) => `${pre}${REDACTED}` },
  // key=value and key: value where the key names a secret (env files, logs, command lines).
  {
    re: /\b([A-Za-z0-9_.-]*(?:pass(?:word|wd|phrase)?|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential)[A-Za-z0-9_.-]*)(["']?\s*[:=]\s*["']?)([^\s"',;&]+)/gi,
    replace: (_m, key, sep) => `${key}${sep}${REDACTED}`,
  },
  // The AWS secret key itself often stands alone after its id.
  { re: /\b(aws_secret_access_key|AWS_SECRET_ACCESS_KEY)\b(\s*[:=]\s*)\S+/g, replace: (_m, k, s) => `${k}${s}${REDACTED}` },
];

export function redactText(text: string): string {
  let out = text;
  for (const { re, replace } of PATTERNS) {
    out = out.replace(re, replace as (substring: string, ...args: string[]) => string);
  }
  return out;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Deep copy with secret-named keys blanked and every string scanned for secret patterns. */
export function redactValue<T>(value: T): T {
  return walk(value, undefined) as T;
}

/**
 * Names Docker, the inventory and warden give things. A tool's output keeps them as they are: a
 * legal container name such as `sk-payments-worker-blue-01` reads like an API key to the patterns,
 * and a name the model cannot see is a container it cannot act on. Everything else is redacted.
 */
const IDENTIFIER_KEYS = new Set(['id', 'name', 'image', 'imageId', 'container', 'host', 'service', 'previousId', 'newId', 'changeId', 'incidentId', 'callId']);

/** redactValue for a tool's output: identifiers (IDENTIFIER_KEYS) pass as they are. */
export function redactOutput<T>(value: T): T {
  return walk(value, undefined, undefined, IDENTIFIER_KEYS) as T;
}

function walk(value: unknown, key: string | undefined, parent?: string, keep?: ReadonlySet<string>): unknown {
  if (keep && key !== undefined && keep.has(key) && typeof value === 'string') return value;
  if (key !== undefined && isSecretKey(key) && value !== null && typeof value !== 'object') {
    return value === '' ? value : REDACTED;
  }
  // An environment a call sets (env.set of recreate_container) is a map of values any of which may
  // be a secret under an innocent name (STRIPE_KEY, JWT_KEY): its names are kept, every value hidden.
  if (parent === 'env' && key === 'set' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
  }
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, undefined, undefined, keep));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // A label map's keys are anybody's words: a label called "name" is not an identifier.
    const inner = key === 'labels' ? undefined : keep;
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, k, key, inner);
    return out;
  }
  return value;
}
