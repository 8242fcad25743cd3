// A token bucket per remote address for login and API requests: enough for people and their
// pages, not for scripts hammering the identity provider or the store. The clock is passed in;
// the table of addresses is bounded (the quietest entries go first).
import type { NextFunction, Request, Response } from 'express';

export interface RateLimitOptions {
  /** Requests per second each address may make on average. */
  readonly perSecond: number;
  /** How many it may make at once. */
  readonly burst: number;
  /** Addresses tracked at most; when full, the entry that was refilled longest ago is forgotten. */
  readonly maxAddresses?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxAddresses: number;

  constructor(private readonly options: RateLimitOptions) {
    this.maxAddresses = options.maxAddresses ?? 10_000;
  }

  /** True when the address may make one more request now (and counts it). */
  take(address: string, now: number): boolean {
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxAddresses) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      bucket = { tokens: this.options.burst, at: now };
    } else {
      this.buckets.delete(address); // re-inserted below: the Map's order is least recently used first
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.options.perSecond);
      bucket.at = now;
    }
    this.buckets.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** Express middleware: 429 with Retry-After when the address is over its allowance. */
export function rateLimit(limiter: RateLimiter, clock: () => number = () => Date.now()) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (limiter.take(req.socket.remoteAddress ?? 'unknown', clock())) {
      next();
      return;
    }
    res.setHeader('Retry-After', '1');
    res.status(429).json({ error: { code: 'GW_ERR_RATE_LIMITED', message: 'Too many requests from your address; wait a moment and try again.' } });
  };
}
