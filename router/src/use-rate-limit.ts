import { addressKey, clientIp, rateLimited, type Logger, type NodeServerContext } from '@parley/kit';
import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { RouterContext } from './context.js';

export interface RateLimitOptions {
  perUser: number;
  perIp: number;
  windowSeconds: number;
  trustProxy: boolean;
  /** Shared by every router instance when given; in-process otherwise. */
  redis?: Redis | null;
  prefix: string;
  logger: Logger;
}

/**
 * Request budgets in fixed windows (rate-limiter-flexible): one per address (IPv6: per /64), taken before
 * the body is even parsed, and one per signed-in user over all their devices and addresses, taken once
 * the token is verified. A spent budget is RATE_LIMITED with `retryAfter` and HTTP 429 + Retry-After.
 * If Redis fails, an in-process budget stands in rather than letting every request through.
 */
export function useRateLimit(options: RateLimitOptions): Plugin<RouterContext> {
  const limiter = (name: string, points: number): RateLimiterAbstract => {
    const settings = { keyPrefix: `${options.prefix}rate:${name}`, points, duration: options.windowSeconds };
    if (!options.redis) return new RateLimiterMemory(settings);
    return new RateLimiterRedis({
      ...settings,
      storeClient: options.redis,
      insuranceLimiter: new RateLimiterMemory(settings),
    });
  };
  const perIp = limiter('ip', options.perIp);
  const perUser = limiter('user', options.perUser);

  async function take(budget: RateLimiterAbstract, key: string): Promise<void> {
    try {
      await budget.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        options.logger.error({ err: rejection }, 'rate limiter failed');
        return;
      }
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      const error = rateLimited(retryAfter, 'Too many requests, try again later');
      error.extensions['http'] = { status: 429, headers: { 'Retry-After': String(retryAfter) } };
      throw error;
    }
  }

  return {
    async onRequestParse({ request, serverContext }) {
      if (request.method !== 'POST' && request.method !== 'GET') return;
      const socketAddress = (serverContext as NodeServerContext | undefined)?.req?.socket.remoteAddress;
      const ip = clientIp(request.headers, socketAddress, options.trustProxy);
      await take(perIp, ip ? addressKey(ip) : 'unknown');
    },
    async onExecute({ args }) {
      const { viewer } = args.contextValue;
      if (viewer) await take(perUser, viewer.userId);
    },
  };
}
