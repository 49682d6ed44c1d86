import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_OPTIONS } from './service-redis.js';
import { freeLoopbackPort } from './testing/redis-server.js';
import {
  createRedisSessionRevocations,
  REVOCATION_MAX_STALENESS_MS,
  type RedisSessionRevocations,
  type SessionRevocations,
} from './session-revocations.js';
import { createSigningKey, claims, sign, expectRefused, revocableVerifier } from './testing/signing-keys.js';

const current = await createSigningKey('key-current');

describe('session revocation', () => {
  const verifierWith = (revocations: SessionRevocations) => revocableVerifier(current, revocations);

  describe('in Redis', () => {
    const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    const prefix = `parley-test:auth:${randomUUID()}:`;
    const admin = new Redis(redisUrl);
    const views: RedisSessionRevocations[] = [];
    const connections: Redis[] = [admin];

    /** A process's view: its own connections, its own clock. */
    function processView(options: { now?: () => number; viewPrefix?: string; redisUrl?: string } = {}) {
      const redis = new Redis(options.redisUrl ?? redisUrl, REDIS_OPTIONS);
      const subscriber = new Redis(options.redisUrl ?? redisUrl, REDIS_OPTIONS);
      redis.on('error', () => {});
      subscriber.on('error', () => {});
      connections.push(redis, subscriber);
      const view = createRedisSessionRevocations({
        redis,
        subscriber,
        prefix: options.viewPrefix ?? prefix,
        // Pushes and explicit syncs only: the tests decide when a view reads the set.
        syncIntervalMs: 3_600_000,
        ...(options.now && { now: options.now }),
      });
      views.push(view);
      return { view, redis, verify: verifierWith(view) };
    }

    afterAll(async () => {
      await Promise.all(views.map((view) => view.close()));
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      for (const connection of connections) connection.disconnect();
    });

    it('a session revoked by one process is refused by another at once (pushed) with reason SESSION_REVOKED', async () => {
      const sessionId = `session-${randomUUID()}`;
      const token = await sign(current, claims({ sid: sessionId }));
      const otherToken = await sign(current, claims({ sid: `session-${randomUUID()}` }));
      const elsewhere = processView();
      await expect(elsewhere.verify(token)).resolves.toMatchObject({ sessionId });

      const revoker = processView();
      await revoker.view.revoke([sessionId], 300);
      // Refused by the revoking process itself at once, and by the other one as soon as the push arrives.
      await expectRefused(revoker.verify(token), 'SESSION_REVOKED');
      await expect
        .poll(() => elsewhere.view.isRevoked(sessionId), { timeout: 2_000, interval: 5 })
        .toBe(true);
      await expectRefused(elsewhere.verify(token), 'SESSION_REVOKED');
      await expect(elsewhere.verify(otherToken)).resolves.toBeTruthy();
      // A process started later reads it from Redis; another deployment (another prefix) is not affected.
      await expectRefused(processView().verify(token), 'SESSION_REVOKED');
      const otherDeployment = processView({ viewPrefix: `${prefix}other:` });
      await expect(otherDeployment.verify(token)).resolves.toMatchObject({ sessionId });
    });

    it('a revocation whose push was missed is read at the next sync', async () => {
      const sessionId = `session-${randomUUID()}`;
      const late = processView();
      await late.view.started();
      // Written as another process would, without the push.
      await admin.zadd(`${prefix}revoked-sessions`, Date.now() + 60_000, sessionId);
      expect(await late.view.isRevoked(sessionId)).toBe(false);
      await late.view.sync();
      expect(await late.view.isRevoked(sessionId)).toBe(true);
    });

    it('while Redis is unreachable, answers from its last view until that is older than the bound, then SERVICE_UNAVAILABLE', async () => {
      let now = Date.now();
      const revokedId = `session-${randomUUID()}`;
      const { view, redis, verify } = processView({ now: () => now });
      await view.revoke([revokedId], 900);
      await view.sync();
      const revokedToken = await sign(current, claims({ sid: revokedId }));
      const token = await sign(current, claims({ sid: `session-${randomUUID()}` }));

      // Redis gone for this process: reads fail, checks keep answering from the view.
      redis.disconnect();
      await expect(view.sync()).rejects.toThrow();
      now += REVOCATION_MAX_STALENESS_MS - 1_000;
      await expectRefused(verify(revokedToken), 'SESSION_REVOKED');
      await expect(verify(token)).resolves.toBeTruthy();

      now += 2_000;
      await expect(verify(token)).rejects.toMatchObject({
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: expect.any(Number) },
      });
    });

    it('a check before the set could ever be read is SERVICE_UNAVAILABLE, not an answer', async () => {
      const { verify } = processView({ redisUrl: `redis://127.0.0.1:${await freeLoopbackPort()}` });
      const token = await sign(current, claims({ sid: `session-${randomUUID()}` }));
      await expect(verify(token)).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    });

    it('writes back what Redis lost (restarted empty), so a revoked session does not come back', async () => {
      const sessionId = `session-${randomUUID()}`;
      const { view } = processView();
      await view.revoke([sessionId], 300);
      await admin.del(`${prefix}revoked-sessions`);
      await view.sync();
      expect(await admin.zscore(`${prefix}revoked-sessions`, sessionId)).not.toBeNull();
      const newcomer = processView();
      expect(await newcomer.view.isRevoked(sessionId)).toBe(true);
    });

    it('a sync asked for while another is under way reads the set again, after what changed meanwhile', async () => {
      const sessionId = `session-${randomUUID()}`;
      const { view, redis } = processView();
      await view.started();
      await view.revoke([sessionId], 300);
      // On the view's own connection, so Redis runs them in this order: a read, then the loss.
      const under = view.sync();
      const lost = redis.del(`${prefix}revoked-sessions`);
      const again = view.sync();
      await Promise.all([under, lost, again]);
      expect(await admin.zscore(`${prefix}revoked-sessions`, sessionId)).not.toBeNull();
    });
  });
});
