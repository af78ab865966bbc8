import type { Clock } from '../core/clock.ts';

export interface RateLimiter {
  /** Records an attempt for `key`; returns 0 when allowed, else the seconds until the next one is. */
  hit(key: string): number;
  /** Forgets `key` (after a successful login). */
  reset(key: string): void;
  /** Keys dropped because the table was full. */
  readonly dropped: number;
}

/**
 * Sliding-window limiter: at most `limit` attempts per `windowMs` per key. The table is bounded;
 * when full, the key seen longest ago is evicted (counted in `dropped`).
 */
export function createRateLimiter(options: {
  clock: Clock;
  limit?: number;
  windowMs?: number;
  maxKeys?: number;
}): RateLimiter {
  const { clock, limit = 5, windowMs = 60_000, maxKeys = 10_000 } = options;
  // Map iteration order is insertion order; re-inserting on every hit keeps the stalest key first.
  const hits = new Map<string, number[]>();
  let dropped = 0;
  return {
    hit(key) {
      const now = clock.now();
      const recent = (hits.get(key) ?? []).filter((t) => now - t < windowMs);
      hits.delete(key);
      if (recent.length >= limit) {
        hits.set(key, recent);
        return Math.max(1, Math.ceil((recent[0]! + windowMs - now) / 1000));
      }
      recent.push(now);
      hits.set(key, recent);
      if (hits.size > maxKeys) {
        const oldest = hits.keys().next().value;
        if (oldest !== undefined) hits.delete(oldest);
        dropped++;
      }
      return 0;
    },
    reset(key) {
      hits.delete(key);
    },
    get dropped() {
      return dropped;
    },
  };
}
