// The audit signing key: an Ed25519 pair created with the data dir, its private half in
// <data-dir>/audit.key (PKCS8 PEM, 0600). It signs checkpoints (an entry's seq and hash) that
// leave the machine, so a log cut and rewritten together with its anchor file is still caught by
// whoever kept a checkpoint and the public key.
import {
  createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject,
} from 'node:crypto';
import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, errorMessage } from '../errors.js';
import type { Checkpoint } from './audit.js';
import { canonicalJson } from './canonical.js';
import { AUDIT_KEY_FILE } from './db.js';


export function auditKeyPath(dataDir: string): string {
  return join(dataDir, AUDIT_KEY_FILE);
}

/**
 * What is sent and kept: no version field; a later format adds `v`, and its absence means this one.
 * `signature` is hex, not base64: every notification is scanned for secrets on its way out, and a
 * base64 string can by chance look like one (`...token...==`) and be blanked; hex never does.
 */
export interface SignedCheckpoint {
  seq: number;
  hash: string;
  /** When it was signed (ISO 8601), not when the entry was written. */
  time: string;
  keyId: string;
  /** Ed25519 over canonicalJson({ seq, hash, time, keyId }), hex. */
  signature: string;
}

/** The first 16 hex digits of the SHA-256 of the raw public key (DER SPKI). */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** The data dir's private key, or null when none was created yet. */
export function readAuditKey(dataDir: string): KeyObject | null {
  const path = auditKeyPath(dataDir);
  if (!existsSync(path)) return null;
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CommandError(`${path}: not a readable private key (${errorMessage(err)})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CommandError(`${path}: an ${key.asymmetricKeyType ?? 'unknown'} key, expected Ed25519`);
  return key;
}

/**
 * The data dir's private key, created on first use. Written whole to a temp file (0600 from its
 * first byte) and linked into place, which fails if the name exists: two processes starting on a
 * new data dir agree on one key, and none ever reads a half-written one.
 */
export function ensureAuditKey(dataDir: string): KeyObject {
  const existing = readAuditKey(dataDir);
  if (existing) return existing;
  const path = auditKeyPath(dataDir);
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Named by pid: a leftover of this name is from a dead process, never from a live one.
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  try {
    writeFileSync(temp, pem, { flag: 'wx', mode: 0o600 });
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new CommandError(`cannot create ${path}: ${errorMessage(err)}`);
  } finally {
    rmSync(temp, { force: true });
  }
  const key = readAuditKey(dataDir);
  if (!key) throw new CommandError(`cannot create ${path}: it vanished as it was written`);
  return key;
}

/** A public key kept elsewhere (SPKI PEM; a private key PEM gives its public half too). Throws why not. */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`not a public key PEM (${errorMessage(err)})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an ${key.asymmetricKeyType ?? 'unknown'} key, expected Ed25519`);
  return key;
}

function signedBytes(cp: Omit<SignedCheckpoint, 'signature'>): Buffer {
  return Buffer.from(canonicalJson({ seq: cp.seq, hash: cp.hash, time: cp.time, keyId: cp.keyId }), 'utf8');
}

export function signCheckpoint(privateKey: KeyObject, head: Checkpoint, time: Date = new Date()): SignedCheckpoint {
  const body = { seq: head.seq, hash: head.hash, time: time.toISOString(), keyId: keyIdOf(privateKey) };
  return { ...body, signature: sign(null, signedBytes(body), privateKey).toString('hex') };
}

/** Null when `publicKey` signed it; else why not. */
export function checkpointSignatureProblem(publicKey: KeyObject, cp: SignedCheckpoint): string | null {
  const keyId = keyIdOf(publicKey);
  if (cp.keyId !== keyId) return `it was signed by key ${cp.keyId}, not by key ${keyId}`;
  const ok = verify(null, signedBytes(cp), publicKey, Buffer.from(cp.signature, 'hex'));
  return ok ? null : `its signature does not verify with key ${keyId}: the checkpoint was altered or forged`;
}

const FIELD_RULES: Record<keyof SignedCheckpoint, { test: (v: unknown) => boolean; expected: string }> = {
  seq: { test: (v) => Number.isSafeInteger(v) && (v as number) > 0, expected: 'a positive integer' },
  hash: { test: (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), expected: '64 hex digits' },
  time: { test: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)), expected: 'an ISO 8601 time' },
  keyId: { test: (v) => typeof v === 'string' && /^[0-9a-f]{16}$/.test(v), expected: '16 hex digits' },
  signature: { test: (v) => typeof v === 'string' && /^[0-9a-f]{128}$/.test(v), expected: '128 hex digits' },
};

/**
 * A checkpoint as received: the bare object, or a webhook body holding it at the top level (the
 * generic format), under `fields` or under `checkpoint`. Throws a message naming the bad field.
 */
export function parseSignedCheckpoint(value: unknown): SignedCheckpoint {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(value)) throw new Error('expected a JSON object');
  const inner = isObject(value.checkpoint) ? value.checkpoint : isObject(value.fields) ? value.fields : value;
  const out: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(FIELD_RULES)) {
    if (!(field in inner)) throw new Error(`missing field "${field}"`);
    if (!rule.test(inner[field])) throw new Error(`field "${field}": expected ${rule.expected}, got ${JSON.stringify(inner[field])?.slice(0, 80)}`);
    out[field] = inner[field];
  }
  return out as unknown as SignedCheckpoint;
}
