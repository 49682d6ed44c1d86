import type { Redis } from 'ioredis';

/**
 * Sessions revoked while their access tokens are still valid. Entries live as long as the longest
 * access token could, so the set stays small: after that, the token is refused for expiry anyway.
 */
export interface SessionRevocations {
  revoke(sessionIds: readonly string[], ttlSeconds: number): Promise<void>;
  isRevoked(sessionId: string): Promise<boolean>;
}

export function createRedisSessionRevocations(redis: Redis, prefix: string): SessionRevocations {
  const key = (sessionId: string) => `${prefix}revoked-session:${sessionId}`;
  return {
    async revoke(sessionIds, ttlSeconds) {
      if (sessionIds.length === 0) return;
      const pipeline = redis.pipeline();
      for (const id of sessionIds) pipeline.set(key(id), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)));
      await pipeline.exec();
    },
    async isRevoked(sessionId) {
      return (await redis.exists(key(sessionId))) === 1;
    },
  };
}

/** For the embedded single-process mode; not shared between processes. */
export function createMemorySessionRevocations(now: () => number = Date.now): SessionRevocations {
  const expiries = new Map<string, number>();
  return {
    async revoke(sessionIds, ttlSeconds) {
      for (const id of sessionIds) expiries.set(id, now() + ttlSeconds * 1000);
    },
    async isRevoked(sessionId) {
      const expiry = expiries.get(sessionId);
      if (expiry === undefined) return false;
      if (expiry > now()) return true;
      expiries.delete(sessionId);
      return false;
    },
  };
}
