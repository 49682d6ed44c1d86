import { createHash } from 'node:crypto';
import { rateLimited } from '@parley/kit';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export interface LoginThrottleOptions {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
  maxRegistrationsPerIp: number;
  registrationWindowSeconds: number;
  /** Shared across instances when given; in-process otherwise. */
  redis?: Redis;
  prefix: string;
}

export interface LoginThrottle {
  /**
   * Takes one attempt from the account's and the address's budgets before the password is checked, so
   * parallel guesses cannot all slip in before the first failure is counted. Throws RATE_LIMITED (with
   * `retryAfter`) once a budget is spent.
   */
  attempt(account: string, ip: string | null): Promise<void>;
  /** A correct password gives the attempt back and clears the account's failures. */
  succeeded(account: string, ip: string | null): Promise<void>;
  /** Forgets an account entirely (account deletion). */
  forget(account: string): Promise<void>;
  /** One registration from this address; RATE_LIMITED past the budget. */
  register(ip: string | null): Promise<void>;
}

/**
 * Attempt budgets in fixed windows (rate-limiter-flexible, on Redis when configured): guessing one
 * password is capped per account, spraying many accounts and mass registration are capped per address.
 * Accounts are keyed by a hash, so no email address sits in Redis.
 */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const limiter = (name: string, points: number, duration: number): RateLimiterAbstract =>
    options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          keyPrefix: `${options.prefix}throttle:${name}`,
          points,
          duration,
        })
      : new RateLimiterMemory({ keyPrefix: name, points, duration });
  const byAccount = limiter('login-account', options.maxFailuresPerAccount, options.windowSeconds);
  const byIp = limiter('login-ip', options.maxFailuresPerIp, options.windowSeconds);
  const registrations = limiter(
    'register-ip',
    options.maxRegistrationsPerIp,
    options.registrationWindowSeconds,
  );
  const accountKey = (account: string) => createHash('sha256').update(account).digest('base64url');

  /** consume() rejects with a RateLimiterRes when the budget is spent, and with an Error when the store fails. */
  const take = async (rateLimiter: RateLimiterAbstract, key: string) => {
    try {
      await rateLimiter.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw rateLimited(rejection.msBeforeNext / 1000);
      throw rejection;
    }
  };

  return {
    async attempt(account, ip) {
      await take(byAccount, accountKey(account));
      if (!ip) return;
      try {
        await take(byIp, ip);
      } catch (error) {
        await byAccount.reward(accountKey(account), 1);
        throw error;
      }
    },
    async succeeded(account, ip) {
      await byAccount.delete(accountKey(account));
      if (ip) await byIp.reward(ip, 1);
    },
    async forget(account) {
      await byAccount.delete(accountKey(account));
    },
    async register(ip) {
      if (ip) await take(registrations, ip);
    },
  };
}
