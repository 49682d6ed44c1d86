import { createHash } from 'node:crypto';
import { addressKey, rateLimited } from '@parley/kit';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export interface LoginThrottleOptions {
  /** Failed attempts on one account from one address (IPv6: one /64) per window. */
  maxFailuresPerAccount: number;
  /** Failed attempts on one account from all addresses together per window. */
  maxFailuresPerAccountTotal: number;
  /** Failed attempts from one address (IPv6: one /64), over all accounts, per window. */
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
   * Takes one attempt from each budget before the password is checked, so parallel guesses cannot all
   * slip in before the first failure is counted. Throws RATE_LIMITED (with `retryAfter`) when one is spent.
   */
  attempt(account: string, ip: string | null): Promise<void>;
  /** A correct password gives the attempt back and clears the failures of that account from that address. */
  succeeded(account: string, ip: string | null): Promise<void>;
  /** Forgets an account entirely (account deletion). */
  forget(account: string): Promise<void>;
  /** One registration from this address; RATE_LIMITED past the budget. */
  register(ip: string | null): Promise<void>;
}

/**
 * Attempt budgets in fixed windows (rate-limiter-flexible, on Redis when configured). The tight budget is
 * per account *and* address, so a stranger failing logins on purpose locks only themselves out, not the
 * owner; a wider per-account budget caps guessing spread over many addresses, and a per-address budget
 * caps spraying many accounts. Accounts are keyed by a hash, so no email address sits in Redis.
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
  const window = options.windowSeconds;
  const byAccountAndIp = limiter('login-account-ip', options.maxFailuresPerAccount, window);
  const byAccount = limiter('login-account', options.maxFailuresPerAccountTotal, window);
  const byIp = limiter('login-ip', options.maxFailuresPerIp, window);
  const registrations = limiter(
    'register-ip',
    options.maxRegistrationsPerIp,
    options.registrationWindowSeconds,
  );
  const accountKey = (account: string) => createHash('sha256').update(account).digest('base64url');

  const budgetsFor = (account: string, ip: string | null): [RateLimiterAbstract, string][] => {
    const hashed = accountKey(account);
    const address = ip ? addressKey(ip) : 'unknown';
    return [
      [byAccountAndIp, `${hashed}:${address}`],
      [byAccount, hashed],
      ...(ip ? [[byIp, address] as [RateLimiterAbstract, string]] : []),
    ];
  };

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
      const taken: [RateLimiterAbstract, string][] = [];
      try {
        for (const [rateLimiter, key] of budgetsFor(account, ip)) {
          await take(rateLimiter, key);
          taken.push([rateLimiter, key]);
        }
      } catch (error) {
        // A refused attempt is not checked, so it spends nothing from the budgets that did allow it.
        await Promise.all(taken.map(([rateLimiter, key]) => rateLimiter.reward(key, 1)));
        throw error;
      }
    },
    async succeeded(account, ip) {
      const [pair, ...wider] = budgetsFor(account, ip);
      if (pair) await pair[0].delete(pair[1]);
      await Promise.all(wider.map(([rateLimiter, key]) => rateLimiter.reward(key, 1)));
    },

    async forget(account) {
      await byAccount.delete(accountKey(account));
    },
    async register(ip) {
      if (ip) await take(registrations, addressKey(ip));
    },
  };
}
