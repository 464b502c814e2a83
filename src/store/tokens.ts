// Bearer tokens for the HTTP gateway. A token is shown once when made; only its SHA-256 is
// stored, so neither the table nor a listing can ever give a token back. A principal may hold
// several active tokens (rotation overlaps the old and the new); each has its own id.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sortableIso } from '../shared/durations.js';
import type { Role } from '../shared/roles.js';
import type { Db } from './db.js';
import { isBusy } from './busy.js';

export const TOKEN_PREFIX = 'wdn_';
const TOKEN_FORMAT = /^wdn_[A-Za-z0-9_-]{32,128}$/;
/** last_used_at is a hint for humans: written at most this often per token, not on every request. */
const TOUCH_EVERY_MS = 60_000;
const DAY_MS = 86_400_000;
/** A token made without an explicit lifetime lives this long (`--expires never` is the way to say forever). */
export const DEFAULT_TOKEN_LIFETIME_MS = 90 * DAY_MS;
/** `tokens list`, `status`, `doctor` and `serve` warn about tokens that end within this. */
export const EXPIRY_WARNING_MS = 14 * DAY_MS;
/** A request with a token this close to its end logs a warning, once per token per day. */
export const EXPIRY_REQUEST_WARNING_MS = 7 * DAY_MS;

export interface TokenRecord {
  id: number;
  /** The principal the token speaks for (the policy and the audit see it); several tokens may share it. */
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

export interface TokenStoreOptions {
  /** Told when an active token within EXPIRY_REQUEST_WARNING_MS of its end is used: at most once per token a day; must not throw. */
  onExpiringSoon?: (token: TokenRecord) => void;
}

const COLUMNS = `id, name, role, created_at AS createdAt, expires_at AS expiresAt, revoked_at AS revokedAt, last_used_at AS lastUsedAt`;

function hashOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function statusOf(t: TokenRecord, now = new Date()): TokenStatus {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && t.expiresAt <= now.toISOString()) return 'expired';
  return 'active';
}

/** Whether an active token ends within `withinMs` of `now`. */
export function expiresSoon(t: TokenRecord, now = new Date(), withinMs = EXPIRY_WARNING_MS): boolean {
  return statusOf(t, now) === 'active' && t.expiresAt !== null && Date.parse(t.expiresAt) - now.getTime() <= withinMs;
}

export class TokenStore {
  private readonly byHash;
  private readonly touch;
  private readonly touched = new Map<number, number>();
  private readonly warned = new Map<number, number>();

  constructor(private readonly db: Db, private readonly opts: TokenStoreOptions = {}) {
    this.byHash = db.prepare(`SELECT ${COLUMNS}, hash FROM tokens WHERE hash = ?`);
    this.touch = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?');
  }

  /** Stores another token for `principal` and returns it with the only copy of the secret; the principal's other tokens stay as they are. */
  create(principal: string, role: Role, expiresAt: Date | null, now = new Date()): { token: string; record: TokenRecord } {
    return this.db.transaction(() => this.insert(principal, role, expiresAt, now)).immediate();
  }

  /**
   * A new token for `principal` with `role`, and every other active token of the principal made to
   * end by `oldEndAt` (never later than it already ended): one transaction, so no moment has
   * neither. Returns the new token and the old ones as they now stand.
   */
  rotate(principal: string, role: Role, expiresAt: Date | null, oldEndAt: Date, now = new Date()): { token: string; record: TokenRecord; old: TokenRecord[] } {
    return this.db
      .transaction(() => {
        const end = sortableIso(oldEndAt);
        const old = this.active(principal, now);
        const made = this.insert(principal, role, expiresAt, now);
        const shorten = this.db.prepare('UPDATE tokens SET expires_at = ? WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)');
        for (const t of old) shorten.run(end, t.id, end);
        return { ...made, old: old.map((t) => this.byId(t.id)!) };
      })
      .immediate();
  }

  private insert(principal: string, role: Role, expiresAt: Date | null, now: Date): { token: string; record: TokenRecord } {
    // Times are compared as text (statusOf, the queries here): sortableIso refuses any that would not sort.
    const expires = expiresAt === null ? null : sortableIso(expiresAt);
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO tokens (name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(principal, role, hashOf(token).toString('hex'), sortableIso(now), expires);
    return { token, record: this.byId(Number(lastInsertRowid))! };
  }

  byId(id: number): TokenRecord | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`).get(id) as TokenRecord | undefined;
  }

  /** Every token of `principal`, newest first. */
  ofPrincipal(principal: string): TokenRecord[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE name = ? ORDER BY id DESC`).all(principal) as TokenRecord[];
  }

  /** The principal's active tokens, newest first. */
  active(principal: string, now = new Date()): TokenRecord[] {
    return this.ofPrincipal(principal).filter((t) => statusOf(t, now) === 'active');
  }

  list(): TokenRecord[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY name, id`).all() as TokenRecord[];
  }

  /** Active tokens that end within `withinMs`, soonest first. */
  expiringWithin(withinMs: number, now = new Date()): TokenRecord[] {
    const until = new Date(now.getTime() + withinMs).toISOString();
    return this.db
      .prepare(`SELECT ${COLUMNS} FROM tokens WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at > ? AND expires_at <= ? ORDER BY expires_at`)
      .all(now.toISOString(), until) as TokenRecord[];
  }

  /** Revokes one token by id; the record as it now stands, or undefined when there is no such token or it was already revoked. */
  revokeId(id: number, now = new Date()): TokenRecord | undefined {
    const changed = this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now.toISOString(), id).changes;
    return changed === 1 ? this.byId(id) : undefined;
  }

  /** Revokes every token of `principal` not revoked yet (expired ones too, so none can be mistaken for live); the ones it revoked. */
  revokePrincipal(principal: string, now = new Date()): TokenRecord[] {
    return this.db
      .transaction(() => {
        const open = this.ofPrincipal(principal).filter((t) => t.revokedAt === null);
        const revoke = this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
        for (const t of open) revoke.run(now.toISOString(), t.id);
        return open.map((t) => this.byId(t.id)!);
      })
      .immediate();
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
    this.warnIfEnding(token, now);
    return { ok: true, token };
  }

  private warnIfEnding(token: TokenRecord, now: Date): void {
    if (!this.opts.onExpiringSoon || !expiresSoon(token, now, EXPIRY_REQUEST_WARNING_MS)) return;
    if (now.getTime() - (this.warned.get(token.id) ?? -Infinity) < DAY_MS) return;
    this.warned.set(token.id, now.getTime());
    try {
      this.opts.onExpiringSoon(token);
    } catch {
      // A warning must never cost the request it rode on.
    }
  }
}

/** A sentence for people about a token that ends soon, and what to do; never the token itself. */
export function expiryWarning(t: TokenRecord, now = new Date()): string {
  const days = Math.max(0, Math.floor((Date.parse(t.expiresAt ?? '') - now.getTime()) / DAY_MS));
  const when = days === 0 ? 'within a day' : `in ${days} day${days === 1 ? '' : 's'}`;
  return `token ${t.id} of ${t.name} (${t.role}) expires ${when}, at ${t.expiresAt}: warden tokens rotate ${t.name}`;
}
