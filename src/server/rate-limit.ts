// Per-principal token buckets for the HTTP gateway: `burst` requests at once, refilled at
// `perMinute`. In memory, one process: a restart forgets the buckets, which only ever loosens them.

export interface RateLimit {
  perMinute: number;
  burst: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(private readonly limit: RateLimit) {
    this.perMs = limit.perMinute / 60_000;
  }

  take(key: string, nowMs = Date.now()): Take {
    const b = this.buckets.get(key) ?? { tokens: this.limit.burst, updatedMs: nowMs };
    b.tokens = Math.min(this.limit.burst, b.tokens + (nowMs - b.updatedMs) * this.perMs);
    b.updatedMs = nowMs;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
  }

  /** Drops buckets that have refilled completely: they hold nothing a fresh bucket would not. */
  prune(nowMs = Date.now()): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (nowMs - b.updatedMs) * this.perMs >= this.limit.burst) this.buckets.delete(key);
    }
  }
}
