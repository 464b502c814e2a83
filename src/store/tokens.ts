// Bearer tokens for the HTTP gateway. A token is shown once when made; only its SHA-256 is
// stored, so neither the table nor a listing can ever give a token back.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../shared/roles.js';
import type { Db } from './db.js';
import { isBusy } from './busy.js';

export const TOKEN_PREFIX = 'wdn_';
const TOKEN_FORMAT = /^wdn_[A-Za-z0-9_-]{32,128}$/;
/** last_used_at is a hint for humans: written at most this often per token, not on every request. */
const TOUCH_EVERY_MS = 60_000;

export interface TokenRecord {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export type TokenStatus = 'active' | 'expired' | 'revoked';

/** An expired or revoked token still names whose it was, for the audit of the refusal. */
export type TokenCheck =
  | { ok: true; token: TokenRecord }
  | { ok: false; why: 'malformed' | 'unknown' }
  | { ok: false; why: 'expired' | 'revoked'; name: string };

const COLUMNS = `id, name, role, created_at AS createdAt, expires_at AS expiresAt, revoked_at AS revokedAt, last_used_at AS lastUsedAt`;

function hashOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function statusOf(t: TokenRecord, now = new Date()): TokenStatus {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && t.expiresAt <= now.toISOString()) return 'expired';
  return 'active';
}

export class TokenStore {
  private readonly byHash;
  private readonly touch;
  private readonly touched = new Map<number, number>();

  constructor(private readonly db: Db) {
    this.byHash = db.prepare(`SELECT ${COLUMNS}, hash FROM tokens WHERE hash = ?`);
    this.touch = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?');
  }

  /**
   * Stores a new token for `name` and returns it with the only copy of the secret. A name whose
   * token was revoked or has expired is reused; one with an active token is refused.
   */
  create(name: string, role: Role, expiresAt: Date | null, now = new Date()): { token: string; record: TokenRecord } {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record = this.db
      .transaction((): TokenRecord => {
        const existing = this.get(name);
        if (existing && statusOf(existing, now) === 'active') throw new TokenNameTaken(name);
        if (existing) this.db.prepare('DELETE FROM tokens WHERE id = ?').run(existing.id);
        const { lastInsertRowid } = this.db
          .prepare('INSERT INTO tokens (name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
          .run(name, role, hashOf(token).toString('hex'), now.toISOString(), expiresAt?.toISOString() ?? null);
        return this.db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`).get(lastInsertRowid) as TokenRecord;
      })
      .immediate();
    return { token, record };
  }

  get(name: string): TokenRecord | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE name = ?`).get(name) as TokenRecord | undefined;
  }

  list(): TokenRecord[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY name`).all() as TokenRecord[];
  }

  /** Marks the token revoked; false when there is no such token or it was already revoked. */
  revoke(name: string, now = new Date()): boolean {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now.toISOString(), name).changes === 1;
  }

  /**
   * Checks a presented token. The row is found by the SHA-256 of what was presented, so how long
   * the lookup takes says nothing usable about any stored token; the final compare is constant-time.
   */
  check(presented: string, now = new Date()): TokenCheck {
    if (!TOKEN_FORMAT.test(presented)) return { ok: false, why: 'malformed' };
    const hash = hashOf(presented);
    const row = this.byHash.get(hash.toString('hex')) as (TokenRecord & { hash: string }) | undefined;
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), hash)) return { ok: false, why: 'unknown' };
    const { hash: _stored, ...token } = row;
    const status = statusOf(token, now);
    if (status !== 'active') return { ok: false, why: status, name: token.name };
    const last = this.touched.get(token.id) ?? 0;
    if (now.getTime() - last >= TOUCH_EVERY_MS) {
      this.touched.set(token.id, now.getTime());
      try {
        this.touch.run(now.toISOString(), token.id);
      } catch (err) {
        // A hint for humans: a token check never waits for, or fails on, another process's write lock.
        if (!isBusy(err)) throw err;
        this.touched.delete(token.id);
      }
    }
    return { ok: true, token };
  }
}

export class TokenNameTaken extends Error {
  constructor(readonly tokenName: string) {
    super(`${tokenName} already has an active token; revoke it first (warden tokens revoke ${tokenName})`);
    this.name = 'TokenNameTaken';
  }
}
