import { rateLimited } from '@parley/kit';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface LoginThrottleOptions {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
  /** Shared across instances when given; in-process otherwise. */
  redis?: Redis;
  prefix: string;
}

export interface LoginThrottle {
  /** Throws RATE_LIMITED (with `retryAfter`) when the account or the address has failed too often. */
  check(account: string, ip: string | null): Promise<void>;
  recordFailure(account: string, ip: string | null): Promise<void>;
  /** A successful login clears the account's failures (not the address's). */
  recordSuccess(account: string): Promise<void>;
}

/**
 * Counts failed logins per account and per client address in fixed windows (rate-limiter-flexible):
 * guessing one password is capped per account, spraying many accounts is capped per address.
 */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const limiter = (name: string, points: number): RateLimiterAbstract =>
    options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          keyPrefix: `${options.prefix}login-failures:${name}`,
          points,
          duration: options.windowSeconds,
        })
      : new RateLimiterMemory({ keyPrefix: name, points, duration: options.windowSeconds });
  const byAccount = limiter('account', options.maxFailuresPerAccount);
  const byIp = limiter('ip', options.maxFailuresPerIp);

  const refuseIfSpent = async (rateLimiter: RateLimiterAbstract, key: string, max: number) => {
    const state = await rateLimiter.get(key);
    if (state && state.consumedPoints >= max) throw rateLimited(state.msBeforeNext / 1000);
  };
  const count = async (rateLimiter: RateLimiterAbstract, key: string) => {
    // consume() rejects once points run out; that is the state check() reports, not an error here.
    await rateLimiter.consume(key).catch((rejection: unknown) => {
      if (rejection instanceof Error) throw rejection;
    });
  };

  return {
    async check(account, ip) {
      await refuseIfSpent(byAccount, account, options.maxFailuresPerAccount);
      if (ip) await refuseIfSpent(byIp, ip, options.maxFailuresPerIp);
    },
    async recordFailure(account, ip) {
      await count(byAccount, account);
      if (ip) await count(byIp, ip);
    },
    async recordSuccess(account) {
      await byAccount.delete(account);
    },
  };
}
