import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemberRole, MembershipProjection } from '../membership.js';

export interface MembershipContractInstance {
  projection: MembershipProjection;
  /** Releases the projection's connections and whatever it stored. */
  cleanup?: () => Promise<void>;
}

/**
 * Builds a projection with the given key prefix. Every call made during one test must reach the same
 * backend (the same Redis server, say), so that prefix isolation is really put to the test. The suite
 * picks a fresh random prefix per test.
 */
export type MembershipContractFactory = (options: { prefix: string }) => Promise<MembershipContractInstance>;

const members = (entries: Record<string, MemberRole>) => new Map(Object.entries(entries));

/** The one behavioural contract every MembershipProjection implementation must meet. */
export function describeMembershipProjectionContract(name: string, create: MembershipContractFactory): void {
  describe(`MembershipProjection contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function open(prefix = `parley-test:membership:${randomUUID()}:`): Promise<MembershipProjection> {
      const instance = await create({ prefix });
      if (instance.cleanup) cleanups.push(instance.cleanup);
      return instance.projection;
    }

    it('answers rolesOf in the order asked: a role, null for a non-member, undefined for an unknown conversation', async () => {
      const projection = await open();
      expect(await projection.replace('c1', 1, members({ ann: 'OWNER', bob: 'MEMBER' }))).toBe(true);
      expect(await projection.replace('c2', 7, members({ ann: 'ADMIN' }))).toBe(true);
      expect(await projection.rolesOf('ann', ['c2', 'unknown', 'c1', 'c2'])).toEqual([
        'ADMIN',
        undefined,
        'OWNER',
        'ADMIN',
      ]);
      expect(await projection.rolesOf('bob', ['c1', 'c2'])).toEqual(['MEMBER', null]);
      expect(await projection.rolesOf('eve', ['c1'])).toEqual([null]);
      expect(await projection.rolesOf('ann', [])).toEqual([]);
    });

    it('knows a conversation written with no members: null, not undefined', async () => {
      const projection = await open();
      await projection.replace('c1', 1, new Map());
      expect(await projection.rolesOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.snapshot('c1')).toEqual({ version: 1, deleted: false, members: new Map() });
    });

    it('refuses an older or an equal version, and changes nothing', async () => {
      const projection = await open();
      const current = members({ ann: 'OWNER', bob: 'MEMBER' });
      await projection.replace('c1', 5, current);
      expect(await projection.replace('c1', 4, members({ eve: 'OWNER' }))).toBe(false);
      expect(await projection.replace('c1', 5, members({ eve: 'OWNER' }))).toBe(false);
      expect(await projection.markDeleted('c1', 5)).toBe(false);
      expect(await projection.markDeleted('c1', 0)).toBe(false);
      expect(await projection.snapshot('c1')).toEqual({ version: 5, deleted: false, members: current });
      expect(await projection.rolesOf('eve', ['c1'])).toEqual([null]);
    });

    it('replaces the whole membership with a newer version: a removed member becomes null', async () => {
      const projection = await open();
      await projection.replace('c1', 1, members({ ann: 'OWNER', bob: 'MEMBER' }));
      expect(await projection.replace('c1', 2, members({ ann: 'ADMIN', cy: 'MEMBER' }))).toBe(true);
      expect(await projection.rolesOf('bob', ['c1'])).toEqual([null]);
      expect(await projection.rolesOf('ann', ['c1'])).toEqual(['ADMIN']);
      expect(await projection.snapshot('c1')).toEqual({
        version: 2,
        deleted: false,
        members: members({ ann: 'ADMIN', cy: 'MEMBER' }),
      });
    });

    it('ends at the highest version when writes arrive concurrently in any order', async () => {
      const projection = await open();
      const versions = [3, 9, 1, 7, 9, 2, 8, 5, 4, 6];
      await Promise.all(
        versions.map((version) =>
          projection.replace('c1', version, members({ [`user${version}`]: 'MEMBER' })),
        ),
      );
      expect(await projection.snapshot('c1')).toEqual({
        version: 9,
        deleted: false,
        members: members({ user9: 'MEMBER' }),
      });
    });

    it('markDeleted leaves no members, and an older or equal replace after it is refused', async () => {
      const projection = await open();
      await projection.replace('c1', 3, members({ ann: 'OWNER', bob: 'MEMBER' }));
      expect(await projection.markDeleted('c1', 4)).toBe(true);
      expect(await projection.rolesOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.replace('c1', 3, members({ ann: 'OWNER' }))).toBe(false);
      expect(await projection.replace('c1', 4, members({ ann: 'OWNER' }))).toBe(false);
      expect(await projection.rolesOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.snapshot('c1')).toEqual({ version: 4, deleted: true, members: new Map() });
    });

    it('markDeleted of a conversation it never saw makes it known, with no members', async () => {
      const projection = await open();
      expect(await projection.markDeleted('c1', 2)).toBe(true);
      expect(await projection.rolesOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.replace('c1', 1, members({ ann: 'OWNER' }))).toBe(false);
    });

    it('stores a newer replace after markDeleted, like any newer version', async () => {
      const projection = await open();
      await projection.markDeleted('c1', 2);
      expect(await projection.replace('c1', 3, members({ ann: 'OWNER' }))).toBe(true);
      expect(await projection.snapshot('c1')).toEqual({
        version: 3,
        deleted: false,
        members: members({ ann: 'OWNER' }),
      });
    });

    it('round-trips a snapshot, which a caller changing its map afterwards does not alter', async () => {
      const projection = await open();
      const written = members({ ann: 'OWNER', bob: 'ADMIN', 'user:with:colons': 'MEMBER' });
      await projection.replace('c1', 42, written);
      written.set('eve', 'OWNER');
      const snapshot = await projection.snapshot('c1');
      expect(snapshot).toEqual({
        version: 42,
        deleted: false,
        members: members({ ann: 'OWNER', bob: 'ADMIN', 'user:with:colons': 'MEMBER' }),
      });
      (snapshot?.members as Map<string, MemberRole>).set('mallory', 'OWNER');
      expect(await projection.rolesOf('mallory', ['c1'])).toEqual([null]);
      expect(await projection.snapshot('unknown')).toBeUndefined();
    });

    it('forget makes a conversation unknown, and then any version is stored again', async () => {
      const projection = await open();
      await projection.replace('c1', 5, members({ ann: 'OWNER' }));
      await projection.replace('c2', 5, members({ ann: 'OWNER' }));
      await projection.forget('c1');
      expect(await projection.rolesOf('ann', ['c1', 'c2'])).toEqual([undefined, 'OWNER']);
      expect(await projection.snapshot('c1')).toBeUndefined();
      expect(await projection.replace('c1', 5, members({ bob: 'OWNER' }))).toBe(true);
      expect(await projection.rolesOf('bob', ['c1'])).toEqual(['OWNER']);
      await expect(projection.forget('never-written')).resolves.toBeUndefined();
    });

    it('replaces a group of 5000 members, and then a smaller one completely', async () => {
      const projection = await open();
      const group = new Map<string, MemberRole>(
        Array.from({ length: 5000 }, (_, index) => [`user${index}`, index === 0 ? 'OWNER' : 'MEMBER']),
      );
      expect(await projection.replace('big', 1, group)).toBe(true);
      expect(await projection.rolesOf('user0', ['big'])).toEqual(['OWNER']);
      expect(await projection.rolesOf('user4999', ['big'])).toEqual(['MEMBER']);
      expect(await projection.rolesOf('user5000', ['big'])).toEqual([null]);
      expect((await projection.snapshot('big'))?.members).toEqual(group);
      await projection.replace('big', 2, members({ user1: 'OWNER' }));
      expect((await projection.snapshot('big'))?.members).toEqual(members({ user1: 'OWNER' }));
      expect(await projection.rolesOf('user4999', ['big'])).toEqual([null]);
    });

    it('isolates projections with different prefixes on the same backend', async () => {
      const alpha = await open();
      const beta = await open();
      await alpha.replace('c1', 5, members({ ann: 'OWNER' }));
      expect(await beta.rolesOf('ann', ['c1'])).toEqual([undefined]);
      expect(await beta.replace('c1', 1, members({ bob: 'OWNER' }))).toBe(true);
      await beta.forget('c1');
      expect(await alpha.rolesOf('ann', ['c1'])).toEqual(['OWNER']);
    });

    it.each([-1, 1.5, Number.NaN, 2 ** 53])('refuses the version %s', async (version) => {
      const projection = await open();
      await expect(projection.replace('c1', version, new Map())).rejects.toThrow(RangeError);
      await expect(projection.markDeleted('c1', version)).rejects.toThrow(RangeError);
      expect(await projection.snapshot('c1')).toBeUndefined();
    });

    it.each(['', 'no-separator'])('refuses the prefix "%s" (required, ending in ":")', async (prefix) => {
      const attempt = create({ prefix }).then(async (instance) => {
        await instance.cleanup?.();
        return instance;
      });
      await expect(attempt).rejects.toThrow(/prefix/i);
    });
  });
}
