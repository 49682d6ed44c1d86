import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** Automatic persisted queries (Apollo's APQ): query text by its SHA-256, kept for `ttlSeconds`. */
export interface ApqStore {
  get(hash: string): Promise<string | null>;
  set(hash: string, query: string): Promise<void>;
}

/** In Redis when given (shared by every router instance), else an in-process LRU of 10,000 queries. */
export function createApqStore(options: {
  redis?: Redis | null;
  prefix: string;
  ttlSeconds: number;
}): ApqStore {
  const { redis, prefix, ttlSeconds } = options;
  if (redis) {
    return {
      get: (hash) => redis.get(`${prefix}apq:${hash}`),
      set: async (hash, query) => {
        await redis.set(`${prefix}apq:${hash}`, query, 'EX', ttlSeconds);
      },
    };
  }
  const queries = new LRUCache<string, string>({ max: 10_000, ttl: ttlSeconds * 1000 });
  return {
    get: async (hash) => queries.get(hash) ?? null,
    set: async (hash, query) => {
      queries.set(hash, query);
    },
  };
}
