// Console sessions: a random id in an HttpOnly, SameSite=Strict cookie, mapped in memory to the
// token that signed in. Held in memory on purpose: nothing a stolen database file or backup holds
// signs anyone in, and a restart signs everyone out. The token is looked up again on every request,
// so revoking or expiring it ends its sessions at once.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../../shared/roles.js';
import { statusOf, type TokenStore } from '../../store/tokens.js';
import type { Viewer } from './console-env.js';

interface Session {
  id: string;
  tokenId: number;
  principal: string;
  role: Role;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

/** Sessions held at once: past it, sign-ins are refused until some end (a flood cannot grow memory). */
const MAX_SESSIONS = 1_000;
/**
 * Sessions one token may hold; past it that token's own oldest goes. A token signing in over and
 * over only pushes out its own sessions, never another person's.
 */
export const MAX_SESSIONS_PER_TOKEN = 16;

export class SessionsFull extends Error {
  constructor() {
    super(`${MAX_SESSIONS} console sessions are open: sign-in refused until some end or expire`);
    this.name = 'SessionsFull';
  }
}

export class ConsoleSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly tokens: TokenStore, private readonly lifetimeMs: number, private readonly now: () => number = Date.now) {}

  /** A new session for `token`; throws SessionsFull when every slot is taken by live sessions. */
  create(token: { id: number; name: string; role: Role }): Session {
    this.prune();
    const own = [...this.sessions.values()].filter((s) => s.tokenId === token.id);
    for (const old of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_TOKEN + 1))) this.sessions.delete(old.id);
    if (this.sessions.size >= MAX_SESSIONS) throw new SessionsFull();
    const at = this.now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'), tokenId: token.id, principal: token.name, role: token.role,
      csrf: randomBytes(32).toString('base64url'), createdAt: at, expiresAt: at + this.lifetimeMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The viewer of a live session whose token is still active; undefined otherwise (and the session is gone). */
  viewer(id: string | undefined): Viewer | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const token = this.tokens.byId(s.tokenId);
    if (s.expiresAt <= this.now() || !token || statusOf(token, new Date(this.now())) !== 'active') {
      this.sessions.delete(id);
      return undefined;
    }
    return { principal: s.principal, role: s.role, tokenId: s.tokenId, csrf: s.csrf, sessionId: s.id };
  }

  expiresAt(id: string): number | undefined {
    return this.sessions.get(id)?.expiresAt;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  /** Whether `id` is still a live session of an active token (what an open live stream re-checks). */
  alive(id: string): boolean {
    return this.viewer(id) !== undefined;
  }

  size(): number {
    return this.sessions.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

/** Constant-time equality of two tokens of any length (a length mismatch is simply unequal). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
