import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PresenceChange, PresenceStore, PresenceTimings } from '../src/store/presence-store.js';

export interface PresenceContractInstance {
  store: PresenceStore;
  /** Releases the store's connections and whatever it stored. */
  cleanup?: () => Promise<void>;
}

/**
 * Builds a store with the given key prefix and timings. Stores built with the same prefix during one test
 * must share their data (two presence instances on one Redis).
 */
export type PresenceContractFactory = (options: {
  prefix: string;
  timings: Partial<PresenceTimings>;
}) => Promise<PresenceContractInstance>;

/** Short enough for tests to wait through, long enough that a slow machine does not cross them by accident. */
const TIMINGS: PresenceTimings = {
  deviceTtlMs: 400,
  awayAfterMs: 600,
  typingTtlMs: 400,
  settleMs: 150,
  claimLeaseMs: 500,
};
const WAIT = { timeout: 5_000, interval: 25 };

/** The one behavioural contract every PresenceStore implementation must meet. */
export function describePresenceStoreContract(name: string, create: PresenceContractFactory): void {
  describe(`PresenceStore contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    let prefix = '';
    async function open(timings: Partial<PresenceTimings> = {}, samePrefix = false): Promise<PresenceStore> {
      if (!samePrefix) prefix = `parley-test:presence:${randomUUID()}:`;
      const instance = await create({ prefix, timings: { ...TIMINGS, ...timings } });
      if (instance.cleanup) cleanups.push(instance.cleanup);
      return instance.store;
    }
    /**
     * Claims (and acknowledges, as a publisher would) until two claims in a row, one settle time apart, find
     * nothing: then every change made before the call has settled and was claimed (asserting that nothing
     * more comes needs that bounded wait).
     */
    async function claimAll(store: PresenceStore) {
      const changes = [];
      for (let quiet = 0; quiet < 2;) {
        const claimed = await store.claimChanges(100);
        await store.acknowledgeChanges(claimed);
        changes.push(...claimed.map(({ userId, status, lastSeenAt }) => ({ userId, status, lastSeenAt })));
        quiet = claimed.length > 0 ? 0 : quiet + 1;
        await new Promise((resolve) => setTimeout(resolve, TIMINGS.settleMs + 50));
      }
      return changes;
    }

    it('keeps a user online while any device is; offline with the last sign of life when the last one goes', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      const before = Date.now();
      await store.touch([
        { userId: 'ann', deviceId: 'phone', active: true },
        { userId: 'ann', deviceId: 'laptop', active: true },
      ]);
      expect(await store.read(['ann'])).toEqual([{ status: 'ONLINE', lastSeenAt: expect.any(Number) }]);
      await store.disconnect('ann', 'phone');
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      await store.disconnect('ann', 'laptop');
      const [ann] = await store.read(['ann']);
      expect(ann!.status).toBe('OFFLINE');
      expect(ann!.lastSeenAt).toBeGreaterThanOrEqual(before - 1_000);
      expect(ann!.lastSeenAt).toBeLessThanOrEqual(Date.now() + 1_000);
    });

    it('never reads OFFLINE across a quick reconnect, in either order: only an OFFLINE claimed for publishing', async () => {
      const store = await open({ deviceTtlMs: 60_000, claimLeaseMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'first', active: true }]);
      expect(await claimAll(store)).toMatchObject([{ userId: 'ann', status: 'ONLINE' }]);
      // The new socket opens before the old one's close is reported.
      await store.touch([{ userId: 'ann', deviceId: 'second', active: true }]);
      await store.disconnect('ann', 'first');
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      // The old socket's close is reported before the new one opens: no device for a moment.
      await store.disconnect('ann', 'second');
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      await store.touch([{ userId: 'ann', deviceId: 'third', active: true }]);
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      expect(await claimAll(store)).toEqual([]);
      // Gone for good: OFFLINE once the change is claimed, as everyone is told.
      await store.disconnect('ann', 'third');
      expect(await claimAll(store)).toMatchObject([{ userId: 'ann', status: 'OFFLINE' }]);
      expect((await store.read(['ann']))[0]!.status).toBe('OFFLINE');
    });

    it('reads many users in the order asked; a user never seen is OFFLINE with no last seen', async () => {
      const store = await open();
      await store.touch([{ userId: 'bob', deviceId: 'd', active: true }]);
      expect(await store.read(['nobody', 'bob', 'nobody'])).toEqual([
        { status: 'OFFLINE', lastSeenAt: null },
        { status: 'ONLINE', lastSeenAt: expect.any(Number) },
        { status: 'OFFLINE', lastSeenAt: null },
      ]);
      expect(await store.read([])).toEqual([]);
    });

    it('lets a device expire without a disconnect; a heartbeat before then keeps it', async () => {
      const store = await open();
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      await store.touch([{ userId: 'bob', deviceId: 'tab', active: true }]);
      const renew = setInterval(
        () => void store.touch([{ userId: 'bob', deviceId: 'tab', active: true }]),
        TIMINGS.deviceTtlMs / 4,
      );
      try {
        await vi.waitFor(async () => expect((await store.read(['ann']))[0]!.status).toBe('OFFLINE'), WAIT);
        expect((await store.read(['bob']))[0]!.status).toBe('ONLINE');
      } finally {
        clearInterval(renew);
      }
    });

    it('turns AWAY after inactivity while connected, and ONLINE again on activity; a refresh is not activity', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      await vi.waitFor(async () => {
        await store.touch([{ userId: 'ann', deviceId: 'tab', active: false }]);
        expect((await store.read(['ann']))[0]!.status).toBe('AWAY');
      }, WAIT);
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      // A device it has not seen before counts as activity, even when touched as a refresh.
      await store.touch([{ userId: 'cy', deviceId: 'new', active: false }]);
      expect((await store.read(['cy']))[0]!.status).toBe('ONLINE');
    });

    it('hands a settled change out once: 50 flaps in a row make at most one change per user', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      for (let flap = 0; flap < 50; flap += 1) {
        await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
        await store.disconnect('ann', 'tab');
      }
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      expect(await claimAll(store)).toEqual([
        { userId: 'ann', status: 'ONLINE', lastSeenAt: expect.any(Number) },
      ]);
      // Flapping that ends where it started publishes nothing.
      for (let flap = 0; flap < 50; flap += 1) {
        await store.disconnect('ann', 'tab');
        await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      }
      expect(await claimAll(store)).toEqual([]);
      await store.disconnect('ann', 'tab');
      expect(await claimAll(store)).toEqual([
        { userId: 'ann', status: 'OFFLINE', lastSeenAt: expect.any(Number) },
      ]);
    });

    it('finds expired devices on a sweep, and two stores on the same data claim each change once', async () => {
      const first = await open();
      const second = await open({}, true);
      await first.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      await first.touch([
        { userId: 'bob', deviceId: 'tab', active: true },
        { userId: 'bob', deviceId: 'other', active: true },
      ]);
      const changes = await claimAll(first);
      expect(changes.map((change) => change.userId).sort()).toEqual(['ann', 'bob']);
      const seen: string[] = [];
      await vi.waitFor(async () => {
        await Promise.all([first.sweep(100), second.sweep(100)]);
        const claimed = await Promise.all([first.claimChanges(100), second.claimChanges(100)]);
        await first.acknowledgeChanges(claimed.flat());
        seen.push(...claimed.flat().map((change) => `${change.userId}:${change.status}`));
        expect(seen.filter((entry) => entry.endsWith('OFFLINE')).sort()).toEqual([
          'ann:OFFLINE',
          'bob:OFFLINE',
        ]);
      }, WAIT);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('finds users gone AWAY on a sweep and hands the change out, then ONLINE again on activity', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      expect(await claimAll(store)).toEqual([
        { userId: 'ann', status: 'ONLINE', lastSeenAt: expect.any(Number) },
      ]);
      const changes: string[] = [];
      await vi.waitFor(async () => {
        await store.sweep(100);
        const claimed = await store.claimChanges(100);
        await store.acknowledgeChanges(claimed);
        changes.push(...claimed.map((change) => `${change.userId}:${change.status}`));
        expect(changes).toEqual(['ann:AWAY']);
      }, WAIT);
      await store.markActive(['ann']); // typing or sending counts as activity too
      expect((await claimAll(store)).map((change) => change.status)).toEqual(['ONLINE']);
    });

    /** Waits until a claim (after a sweep) hands out exactly one change. */
    async function claimOne(store: PresenceStore) {
      let claimed: PresenceChange[] = [];
      await vi.waitFor(async () => {
        await store.sweep(100);
        claimed = await store.claimChanges(100);
        expect(claimed).toHaveLength(1);
      }, WAIT);
      return claimed[0]!;
    }

    it('hands a released change out again, and one whose lease ended without an answer (its publisher died), not before', async () => {
      const store = await open({ deviceTtlMs: 60_000, awayAfterMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      const first = await claimOne(store);
      expect(first.status).toBe('ONLINE');
      await store.releaseChanges([first]); // publishing failed
      const second = await claimOne(store);
      const secondClaimed = Date.now();
      expect(second).toMatchObject({ status: 'ONLINE' });
      expect(second.claim).not.toBe(first.claim);
      // Neither acknowledged nor released: not handed out during its lease, however often swept...
      await store.sweep(100);
      expect(await store.claimChanges(100)).toEqual([]);
      // ...and handed out again after it.
      const third = await claimOne(store);
      expect(Date.now() - secondClaimed).toBeGreaterThanOrEqual(TIMINGS.claimLeaseMs - 50);
      // A late answer to a lapsed claim does nothing to the one made since.
      await store.acknowledgeChanges([second]);
      await store.releaseChanges([second]);
      await store.disconnect('ann', 'tab');
      await new Promise((resolve) => setTimeout(resolve, TIMINGS.settleMs + 50));
      expect(await store.claimChanges(100)).toEqual([]); // the third is still being published
      await store.acknowledgeChanges([third]);
      expect((await claimAll(store)).map((change) => change.status)).toEqual(['OFFLINE']);
    });

    it('publishes the status again after a lapsed lease, even one equal to what was published before it', async () => {
      const store = await open({ deviceTtlMs: 60_000, awayAfterMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      await claimOne(store); // ONLINE, appended perhaps, never answered (its publisher died)
      await store.disconnect('ann', 'tab'); // back to OFFLINE, what was published before
      // Subscribers may have been told ONLINE: OFFLINE is published again after the lease.
      expect((await claimOne(store)).status).toBe('OFFLINE');
    });

    it("holds a user's next change until the claimed one is acknowledged, so they are published in order", async () => {
      const store = await open({ deviceTtlMs: 60_000, claimLeaseMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      const first = await claimOne(store);
      await store.disconnect('ann', 'tab');
      await new Promise((resolve) => setTimeout(resolve, TIMINGS.settleMs + 100));
      await store.sweep(100);
      expect(await store.claimChanges(100)).toEqual([]); // ONLINE is still being published
      await store.acknowledgeChanges([first]);
      expect((await claimAll(store)).map((change) => change.status)).toEqual(['OFFLINE']);
    });

    it('does not let users whose changes are held keep back the others', async () => {
      const store = await open({ deviceTtlMs: 60_000, claimLeaseMs: 60_000 });
      const held = ['u1', 'u2', 'u3', 'u4', 'u5'];
      await store.touch(held.map((userId) => ({ userId, deviceId: 'tab', active: true })));
      const claimedFirst: string[] = [];
      await vi.waitFor(async () => {
        claimedFirst.push(...(await store.claimChanges(5)).map((change) => change.userId));
        expect(claimedFirst.sort()).toEqual(held); // claimed by a publisher that then dies
      }, WAIT);
      for (const userId of held) await store.disconnect(userId, 'tab');
      await store.touch([{ userId: 'zed', deviceId: 'tab', active: true }]);
      // Their changes settle first and fill a page of 5, yet zed's is handed out once settled.
      const claimedNext: string[] = [];
      await vi.waitFor(async () => {
        claimedNext.push(...(await store.claimChanges(5)).map((change) => change.userId));
        expect(claimedNext).not.toEqual([]);
      }, WAIT);
      expect(claimedNext).toEqual(['zed']);
    });

    const typers = async (store: PresenceStore, conversationId: string) =>
      (await store.typingIn([conversationId]))[0]!.map((entry) => entry.userId);

    it('starts typing once, renews silently, stops it, and lets an unrenewed one end and be claimed once', async () => {
      const store = await open();
      expect((await store.startTyping('c1', 'ann')).started).toBe(true);
      const renewed = await store.startTyping('c1', 'ann');
      expect(renewed.started).toBe(false);
      expect(renewed.expiresAt).toBeGreaterThan(Date.now() - 1_000);
      await store.startTyping('c1', 'bob');
      expect(await typers(store, 'c1')).toEqual(['ann', 'bob']);
      const [c1, c2, again] = await store.typingIn(['c1', 'c2', 'c1']);
      expect([c1!.length, c2, again!.length]).toEqual([2, [], 2]);
      expect(await store.stopTyping('c1', 'ann')).toBe(true);
      expect(await store.stopTyping('c1', 'ann')).toBe(false);
      expect(await typers(store, 'c1')).toEqual(['bob']);
      expect(await typers(store, 'c2')).toEqual([]);
      const ended: Array<{ conversationId: string; userId: string }> = [];
      await vi.waitFor(async () => {
        ended.push(...(await store.claimExpiredTyping(100)));
        expect(ended).toEqual([{ conversationId: 'c1', userId: 'bob' }]);
      }, WAIT);
      expect(await typers(store, 'c1')).toEqual([]);
      expect(await store.claimExpiredTyping(100)).toEqual([]);
      expect((await store.startTyping('c1', 'bob')).started).toBe(true);
      // Ended by itself but not claimed yet, long enough for its set to expire: stopping it still counts
      // (nobody was told it ended), and it is not claimed afterwards.
      await new Promise((resolve) => setTimeout(resolve, TIMINGS.typingTtlMs * 3));
      expect(await typers(store, 'c1')).toEqual([]);
      expect(await store.stopTyping('c1', 'bob')).toBe(true);
      expect(await store.claimExpiredTyping(100)).toEqual([]);
    });

    it('ends the typing of a user whose last device closed or expired, as if it ran out; not while one is left', async () => {
      const store = await open({ typingTtlMs: 60_000, deviceTtlMs: 60_000 });
      await store.touch([
        { userId: 'ann', deviceId: 'phone', active: true },
        { userId: 'ann', deviceId: 'laptop', active: true },
      ]);
      await store.startTyping('c1', 'ann');
      await store.startTyping('c2', 'ann');
      await store.startTyping('c1', 'bob');
      const running = async () =>
        (await store.typingNow(100)).map((entry) => `${entry.conversationId} ${entry.userId}`).sort();
      expect(await running()).toEqual(['c1 ann', 'c1 bob', 'c2 ann']);
      await store.disconnect('ann', 'phone');
      expect(await typers(store, 'c1')).toEqual(['ann', 'bob']);
      await store.disconnect('ann', 'laptop');
      expect(await typers(store, 'c1')).toEqual(['bob']);
      expect(await running()).toEqual(['c1 bob']);
      expect(await typers(store, 'c2')).toEqual([]);
      const byConversation = (a: { conversationId: string }, b: { conversationId: string }) =>
        a.conversationId.localeCompare(b.conversationId);
      expect((await store.claimExpiredTyping(100)).sort(byConversation)).toEqual([
        { conversationId: 'c1', userId: 'ann' },
        { conversationId: 'c2', userId: 'ann' },
      ]);
      expect(await store.claimExpiredTyping(100)).toEqual([]);

      // A device that expires (its router died) is a last device gone too, found by the sweep.
      const short = await open({ typingTtlMs: 60_000 });
      await short.touch([{ userId: 'cy', deviceId: 'tab', active: true }]);
      await short.startTyping('c3', 'cy');
      const ended: Array<{ conversationId: string; userId: string }> = [];
      await vi.waitFor(async () => {
        await short.sweep(100);
        ended.push(...(await short.claimExpiredTyping(100)));
        expect(ended).toEqual([{ conversationId: 'c3', userId: 'cy' }]);
      }, WAIT);
    });

    it('forgets a user entirely: never seen, nothing left to publish', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      await store.touch([
        { userId: 'ann', deviceId: 'tab', active: true },
        { userId: 'bob', deviceId: 'tab', active: true },
      ]);
      await store.forget(['ann']);
      // Late, after the forgetting (a socket still open, an event on its way): they keep nothing.
      await store.disconnect('ann', 'tab');
      await store.touch([{ userId: 'ann', deviceId: 'other', active: true }]);
      await store.markActive(['ann', 'nobody']);
      expect(await store.read(['ann', 'bob', 'nobody'])).toEqual([
        { status: 'OFFLINE', lastSeenAt: null },
        { status: 'ONLINE', lastSeenAt: expect.any(Number) },
        { status: 'OFFLINE', lastSeenAt: null },
      ]);
      expect((await claimAll(store)).map((change) => change.userId)).toEqual(['bob']);
    });

    it('keeps prefixes apart', async () => {
      const first = await open({ deviceTtlMs: 60_000 });
      const second = await open({ deviceTtlMs: 60_000 });
      await first.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      await first.startTyping('c1', 'ann');
      expect(await second.read(['ann'])).toEqual([{ status: 'OFFLINE', lastSeenAt: null }]);
      expect(await second.typingIn(['c1'])).toEqual([[]]);
    });
  });
}
