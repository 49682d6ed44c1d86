import { randomUUID } from 'node:crypto';
import type { Clock } from '@parley/kit';
import { createTestClock, type TestClock } from '@parley/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { PresenceChange, PresenceStore, PresenceTimings } from '../src/store/presence-store.js';

export interface PresenceContractInstance {
  store: PresenceStore;
  /** Releases the store's connections and whatever it stored. */
  cleanup?: () => Promise<void>;
}

/**
 * Builds a store with the given key prefix, timings and clock (it reads the time from nothing else). Stores
 * built with the same prefix during one test must share their data (two presence instances on one Redis);
 * they are given the same clock.
 */
export type PresenceContractFactory = (options: {
  prefix: string;
  timings: Partial<PresenceTimings>;
  clock: Clock;
}) => Promise<PresenceContractInstance>;

/**
 * Time passes only when a test moves the clock on, so these need not be short. They are long next to a
 * test's real duration: Redis collects a typing set twice its TTL after its last write, in real time, and
 * must not do so during a test whose clock stands still.
 */
const TIMINGS: PresenceTimings = {
  deviceTtlMs: 10_000,
  awayAfterMs: 15_000,
  typingTtlMs: 10_000,
  settleMs: 1_000,
  claimLeaseMs: 12_000,
};

/** The one behavioural contract every PresenceStore implementation must meet. */
export function describePresenceStoreContract(name: string, create: PresenceContractFactory): void {
  describe(`PresenceStore contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    let prefix = '';
    /** The clock of the stores opened last (those on the same data share one): time passes when it moves on. */
    let clock: TestClock = createTestClock();
    async function open(timings: Partial<PresenceTimings> = {}, samePrefix = false): Promise<PresenceStore> {
      if (!samePrefix) {
        prefix = `parley-test:presence:${randomUUID()}:`;
        clock = createTestClock();
      }
      const instance = await create({ prefix, timings: { ...TIMINGS, ...timings }, clock });
      if (instance.cleanup) cleanups.push(instance.cleanup);
      return instance.store;
    }
    /**
     * Claims (and acknowledges, as a publisher would) until two claims in a row, the clock moved on by the
     * settle time between them, find nothing: then every change made before the call has settled and was
     * claimed.
     */
    async function claimAll(store: PresenceStore) {
      const changes = [];
      for (let quiet = 0; quiet < 2;) {
        const claimed = await store.claimChanges(100);
        await store.acknowledgeChanges(claimed);
        changes.push(...claimed.map(({ userId, status, lastSeenAt }) => ({ userId, status, lastSeenAt })));
        quiet = claimed.length > 0 ? 0 : quiet + 1;
        clock.advance(store.timings.settleMs);
      }
      return changes;
    }

    it('keeps a user online while any device is; offline with the last sign of life when the last one goes', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      await store.touch([
        { userId: 'ann', deviceId: 'phone', active: true },
        { userId: 'ann', deviceId: 'laptop', active: true },
      ]);
      expect(await store.read(['ann'])).toEqual([{ status: 'ONLINE', lastSeenAt: clock.now().getTime() }]);
      await store.disconnect('ann', 'phone');
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      clock.advance(1_000);
      await store.disconnect('ann', 'laptop');
      expect(await store.read(['ann'])).toEqual([{ status: 'OFFLINE', lastSeenAt: clock.now().getTime() }]);
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
      clock.advance(TIMINGS.deviceTtlMs / 2);
      await store.touch([{ userId: 'bob', deviceId: 'tab', active: true }]); // bob's heartbeat
      clock.advance(TIMINGS.deviceTtlMs / 2 - 1);
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      clock.advance(1);
      expect((await store.read(['ann']))[0]!.status).toBe('OFFLINE');
      expect((await store.read(['bob']))[0]!.status).toBe('ONLINE');
    });

    it('turns AWAY after inactivity while connected, and ONLINE again on activity; a refresh is not activity', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      clock.advance(TIMINGS.awayAfterMs - 1);
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: false }]);
      expect((await store.read(['ann']))[0]!.status).toBe('ONLINE');
      clock.advance(1);
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: false }]);
      expect((await store.read(['ann']))[0]!.status).toBe('AWAY');
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
      clock.advance(TIMINGS.deviceTtlMs); // every device has expired
      await Promise.all([first.sweep(100), second.sweep(100)]);
      clock.advance(TIMINGS.settleMs);
      const claimed = await Promise.all([first.claimChanges(100), second.claimChanges(100)]);
      await first.acknowledgeChanges(claimed.flat());
      const seen = claimed.flat().map((change) => `${change.userId}:${change.status}`);
      expect(seen.sort()).toEqual(['ann:OFFLINE', 'bob:OFFLINE']);
    });

    it('finds users gone AWAY on a sweep and hands the change out, then ONLINE again on activity', async () => {
      const store = await open({ deviceTtlMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      expect(await claimAll(store)).toEqual([
        { userId: 'ann', status: 'ONLINE', lastSeenAt: expect.any(Number) },
      ]);
      clock.advance(TIMINGS.awayAfterMs);
      await store.sweep(100);
      clock.advance(TIMINGS.settleMs);
      const claimed = await store.claimChanges(100);
      await store.acknowledgeChanges(claimed);
      expect(claimed.map((change) => `${change.userId}:${change.status}`)).toEqual(['ann:AWAY']);
      await store.markActive(['ann']); // typing or sending counts as activity too
      expect((await claimAll(store)).map((change) => change.status)).toEqual(['ONLINE']);
    });

    /** Sweeps, moves the clock on by the settle time and claims: exactly one change is handed out. */
    async function claimOne(store: PresenceStore): Promise<PresenceChange> {
      await store.sweep(100);
      clock.advance(store.timings.settleMs);
      const claimed = await store.claimChanges(100);
      expect(claimed).toHaveLength(1);
      return claimed[0]!;
    }

    it('hands a released change out again, and one whose lease ended without an answer (its publisher died), not before', async () => {
      const store = await open({ deviceTtlMs: 60_000, awayAfterMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      const first = await claimOne(store);
      expect(first.status).toBe('ONLINE');
      await store.releaseChanges([first]); // publishing failed
      const second = await claimOne(store);
      expect(second).toMatchObject({ status: 'ONLINE' });
      expect(second.claim).not.toBe(first.claim);
      // Neither acknowledged nor released: not handed out during its lease, however often swept (a sweep
      // that let it go a settle time before the lease ends would show in the last claim)...
      clock.advance(TIMINGS.claimLeaseMs - TIMINGS.settleMs - 1);
      await store.sweep(100);
      clock.advance(TIMINGS.settleMs);
      await store.sweep(100);
      expect(await store.claimChanges(100)).toEqual([]);
      // ...and handed out again once it has ended.
      clock.advance(1);
      const third = await claimOne(store);
      // A late answer to a lapsed claim does nothing to the one made since.
      await store.acknowledgeChanges([second]);
      await store.releaseChanges([second]);
      await store.disconnect('ann', 'tab');
      clock.advance(TIMINGS.settleMs);
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
      clock.advance(TIMINGS.claimLeaseMs);
      expect((await claimOne(store)).status).toBe('OFFLINE');
    });

    it("holds a user's next change until the claimed one is acknowledged, so they are published in order", async () => {
      const store = await open({ deviceTtlMs: 60_000, claimLeaseMs: 60_000 });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      const first = await claimOne(store);
      await store.disconnect('ann', 'tab');
      clock.advance(TIMINGS.settleMs);
      await store.sweep(100);
      expect(await store.claimChanges(100)).toEqual([]); // ONLINE is still being published
      await store.acknowledgeChanges([first]);
      expect((await claimAll(store)).map((change) => change.status)).toEqual(['OFFLINE']);
    });

    it('does not let users whose changes are held keep back the others', async () => {
      const store = await open({ deviceTtlMs: 60_000, claimLeaseMs: 60_000 });
      const held = ['u1', 'u2', 'u3', 'u4', 'u5'];
      await store.touch(held.map((userId) => ({ userId, deviceId: 'tab', active: true })));
      clock.advance(TIMINGS.settleMs);
      const claimedFirst = (await store.claimChanges(5)).map((change) => change.userId);
      expect(claimedFirst.sort()).toEqual(held); // claimed by a publisher that then dies
      for (const userId of held) await store.disconnect(userId, 'tab');
      clock.advance(1);
      await store.touch([{ userId: 'zed', deviceId: 'tab', active: true }]);
      // Their changes settle first and fill a page of 5, yet zed's is handed out once settled.
      clock.advance(TIMINGS.settleMs - 1);
      expect(await store.claimChanges(5)).toEqual([]);
      clock.advance(1);
      expect((await store.claimChanges(5)).map((change) => change.userId)).toEqual(['zed']);
    });

    const typers = async (store: PresenceStore, conversationId: string) =>
      (await store.typingIn([conversationId]))[0]!.map((entry) => entry.userId);

    it('starts typing once, renews silently, stops it, and lets an unrenewed one end and be claimed once', async () => {
      const store = await open();
      expect((await store.startTyping('c1', 'ann')).started).toBe(true);
      clock.advance(1_000);
      const renewed = await store.startTyping('c1', 'ann');
      expect(renewed).toEqual({ started: false, expiresAt: clock.now().getTime() + TIMINGS.typingTtlMs });
      clock.advance(1_000);
      await store.startTyping('c1', 'bob');
      expect(await typers(store, 'c1')).toEqual(['ann', 'bob']);
      const [c1, c2, again] = await store.typingIn(['c1', 'c2', 'c1']);
      expect([c1!.length, c2, again!.length]).toEqual([2, [], 2]);
      expect(await store.stopTyping('c1', 'ann')).toBe(true);
      expect(await store.stopTyping('c1', 'ann')).toBe(false);
      expect(await typers(store, 'c1')).toEqual(['bob']);
      expect(await typers(store, 'c2')).toEqual([]);
      clock.advance(TIMINGS.typingTtlMs - 1);
      expect(await store.claimExpiredTyping(100)).toEqual([]);
      expect(await typers(store, 'c1')).toEqual(['bob']);
      clock.advance(1);
      expect(await store.claimExpiredTyping(100)).toEqual([{ conversationId: 'c1', userId: 'bob' }]);
      expect(await typers(store, 'c1')).toEqual([]);
      expect(await store.claimExpiredTyping(100)).toEqual([]);
      expect((await store.startTyping('c1', 'bob')).started).toBe(true);
      // Ended by itself but not claimed yet: stopping it still counts (nobody was told it ended), and it is
      // not claimed afterwards (in Redis, even once its set was collected: see the Redis store's own tests).
      clock.advance(TIMINGS.typingTtlMs * 3);
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
      clock.advance(TIMINGS.deviceTtlMs - 1);
      await short.sweep(100);
      expect(await short.claimExpiredTyping(100)).toEqual([]);
      clock.advance(1);
      await short.sweep(100);
      expect(await short.claimExpiredTyping(100)).toEqual([{ conversationId: 'c3', userId: 'cy' }]);
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
