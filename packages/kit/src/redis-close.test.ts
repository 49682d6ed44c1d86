import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { closeRedis } from './redis-close.js';
import { startWithResources } from './resources.js';
import { openServiceRedis } from './service-redis.js';
import { freeLoopbackPort, startTestRedisServer, type TestRedisServer } from './testing/redis-server.js';

const servers: TestRedisServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

describe('a service whose Redis went away', () => {
  it('stops all the same, closing every connection rather than failing on the first', async () => {
    const server = await startTestRedisServer();
    servers.push(server);
    const service = await startWithResources(async (resources) =>
      openServiceRedis(resources, { REDIS_URL: server.url, REDIS_PREFIX: 'close-test:' }),
    );
    await service.redis!.ping();
    await server.stop();
    await expect.poll(() => service.redis!.status).not.toBe('ready');
    // QUIT cannot be sent on a connection that is down (its offline queue is off once it was ready).
    await expect(service.redis!.quit()).rejects.toThrow(/Stream isn't writeable/);
    await expect(service.stop()).resolves.toBeUndefined();
  });

  it('closeRedis ends a connection that is up with QUIT and one that is down at once', async () => {
    const server = await startTestRedisServer();
    servers.push(server);
    const up = new Redis(server.url);
    await up.ping();
    await closeRedis(up);
    await expect.poll(() => up.status).toBe('end');
    const down = new Redis(await freeLoopbackPort(), '127.0.0.1', { lazyConnect: true });
    down.on('error', () => {});
    await closeRedis(down);
    expect(down.status).toBe('end');
  });
});

describe('startWithResources', () => {
  it('closes every resource when one fails to close, then reports the failure', async () => {
    const closed: string[] = [];
    const service = await startWithResources(async (resources) => {
      resources.add(async () => void closed.push('first opened'));
      resources.add(async () => {
        throw new Error('cannot close');
      });
      resources.add(async () => void closed.push('last opened'));
      return {};
    });
    await expect(service.stop()).rejects.toThrow('cannot close');
    expect(closed).toEqual(['last opened', 'first opened']);
  });
});
