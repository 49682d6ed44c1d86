import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationKind, MemberRole, MembershipProjection } from '../membership.js';

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
/** The state replace takes: these members, in a GROUP unless `kind` says otherwise. */
const state = (entries: Record<string, MemberRole>, kind: ConversationKind = 'GROUP') => ({
  kind,
  members: members(entries),
});

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

    it('answers membershipsOf in the order asked: role and kind, null for a non-member, undefined for an unknown conversation', async () => {
      const projection = await open();
      expect(await projection.replace('c1', 1, state({ ann: 'OWNER', bob: 'MEMBER' }))).toBe(true);
      expect(await projection.replace('c2', 7, state({ ann: 'MEMBER', eve: 'MEMBER' }, 'DIRECT'))).toBe(true);
      expect(await projection.membershipsOf('ann', ['c2', 'unknown', 'c1', 'c2'])).toEqual([
        { role: 'MEMBER', kind: 'DIRECT' },
        undefined,
        { role: 'OWNER', kind: 'GROUP' },
        { role: 'MEMBER', kind: 'DIRECT' },
      ]);
      expect(await projection.membershipsOf('bob', ['c1', 'c2'])).toEqual([
        { role: 'MEMBER', kind: 'GROUP' },
        null,
      ]);
      expect(await projection.membershipsOf('cy', ['c1'])).toEqual([null]);
      expect(await projection.membershipsOf('ann', [])).toEqual([]);
    });

    it.each<ConversationKind>(['DIRECT', 'GROUP'])(
      'round-trips the kind %s in membershipsOf and snapshot',
      async (kind) => {
        const projection = await open();
        await projection.replace('c1', 3, state({ ann: 'MEMBER', bob: 'MEMBER' }, kind));
        expect(await projection.membershipsOf('bob', ['c1'])).toEqual([{ role: 'MEMBER', kind }]);
        expect(await projection.snapshot('c1')).toEqual({
          version: 3,
          deleted: false,
          kind,
          members: members({ ann: 'MEMBER', bob: 'MEMBER' }),
        });
      },
    );

    it('knows a conversation written with no members: null, not undefined', async () => {
      const projection = await open();
      await projection.replace('c1', 1, { kind: 'GROUP', members: new Map() });
      expect(await projection.membershipsOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.snapshot('c1')).toEqual({
        version: 1,
        deleted: false,
        kind: 'GROUP',
        members: new Map(),
      });
    });

    it('refuses an older or an equal version, and changes nothing', async () => {
      const projection = await open();
      const current = members({ ann: 'OWNER', bob: 'MEMBER' });
      await projection.replace('c1', 5, { kind: 'GROUP', members: current });
      expect(await projection.replace('c1', 4, state({ eve: 'OWNER' }, 'DIRECT'))).toBe(false);
      expect(await projection.replace('c1', 5, state({ eve: 'OWNER' }, 'DIRECT'))).toBe(false);
      expect(await projection.markDeleted('c1', 5)).toBe(false);
      expect(await projection.markDeleted('c1', 0)).toBe(false);
      expect(await projection.snapshot('c1')).toEqual({
        version: 5,
        deleted: false,
        kind: 'GROUP',
        members: current,
      });
      expect(await projection.membershipsOf('eve', ['c1'])).toEqual([null]);
    });

    it('replaces the whole state with a newer version: a removed member becomes null', async () => {
      const projection = await open();
      await projection.replace('c1', 1, state({ ann: 'OWNER', bob: 'MEMBER' }));
      expect(await projection.replace('c1', 2, state({ ann: 'ADMIN', cy: 'MEMBER' }, 'DIRECT'))).toBe(true);
      expect(await projection.membershipsOf('bob', ['c1'])).toEqual([null]);
      expect(await projection.membershipsOf('ann', ['c1'])).toEqual([{ role: 'ADMIN', kind: 'DIRECT' }]);
      expect(await projection.snapshot('c1')).toEqual({
        version: 2,
        deleted: false,
        kind: 'DIRECT',
        members: members({ ann: 'ADMIN', cy: 'MEMBER' }),
      });
    });

    it('ends at the highest version when writes arrive concurrently in any order', async () => {
      const projection = await open();
      const versions = [3, 9, 1, 7, 9, 2, 8, 5, 4, 6];
      await Promise.all(
        versions.map((version) => projection.replace('c1', version, state({ [`user${version}`]: 'MEMBER' }))),
      );
      expect(await projection.snapshot('c1')).toEqual({
        version: 9,
        deleted: false,
        kind: 'GROUP',
        members: members({ user9: 'MEMBER' }),
      });
    });

    it('markDeleted leaves no members and no kind, and an older or equal replace after it is refused', async () => {
      const projection = await open();
      await projection.replace('c1', 3, state({ ann: 'OWNER', bob: 'MEMBER' }, 'DIRECT'));
      expect(await projection.markDeleted('c1', 4)).toBe(true);
      expect(await projection.membershipsOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.replace('c1', 3, state({ ann: 'OWNER' }))).toBe(false);
      expect(await projection.replace('c1', 4, state({ ann: 'OWNER' }))).toBe(false);
      expect(await projection.membershipsOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.snapshot('c1')).toEqual({
        version: 4,
        deleted: true,
        kind: null,
        members: new Map(),
      });
    });

    it('markDeleted of a conversation it never saw makes it known, with no members and no kind', async () => {
      const projection = await open();
      expect(await projection.markDeleted('c1', 2)).toBe(true);
      expect(await projection.membershipsOf('ann', ['c1'])).toEqual([null]);
      expect(await projection.snapshot('c1')).toEqual({
        version: 2,
        deleted: true,
        kind: null,
        members: new Map(),
      });
      expect(await projection.replace('c1', 1, state({ ann: 'OWNER' }))).toBe(false);
    });

    it('stores a newer replace after markDeleted, like any newer version', async () => {
      const projection = await open();
      await projection.markDeleted('c1', 2);
      expect(await projection.replace('c1', 3, state({ ann: 'OWNER' }))).toBe(true);
      expect(await projection.snapshot('c1')).toEqual({
        version: 3,
        deleted: false,
        kind: 'GROUP',
        members: members({ ann: 'OWNER' }),
      });
    });

    it('round-trips a snapshot, which a caller changing its map afterwards does not alter', async () => {
      const projection = await open();
      const written = members({ ann: 'OWNER', bob: 'ADMIN', 'user:with:colons': 'MEMBER' });
      await projection.replace('c1', 42, { kind: 'DIRECT', members: written });
      written.set('eve', 'OWNER');
      const snapshot = await projection.snapshot('c1');
      expect(snapshot).toEqual({
        version: 42,
        deleted: false,
        kind: 'DIRECT',
        members: members({ ann: 'OWNER', bob: 'ADMIN', 'user:with:colons': 'MEMBER' }),
      });
      (snapshot?.members as Map<string, MemberRole>).set('mallory', 'OWNER');
      expect(await projection.membershipsOf('mallory', ['c1'])).toEqual([null]);
      expect(await projection.membershipsOf('user:with:colons', ['c1'])).toEqual([
        { role: 'MEMBER', kind: 'DIRECT' },
      ]);
      expect(await projection.snapshot('unknown')).toBeUndefined();
    });

    it('forget makes a conversation unknown, and then any version is stored again', async () => {
      const projection = await open();
      await projection.replace('c1', 5, state({ ann: 'OWNER' }));
      await projection.replace('c2', 5, state({ ann: 'OWNER' }));
      await projection.forget('c1');
      expect(await projection.membershipsOf('ann', ['c1', 'c2'])).toEqual([
        undefined,
        { role: 'OWNER', kind: 'GROUP' },
      ]);
      expect(await projection.snapshot('c1')).toBeUndefined();
      expect(await projection.replace('c1', 5, state({ bob: 'OWNER' }))).toBe(true);
      expect(await projection.membershipsOf('bob', ['c1'])).toEqual([{ role: 'OWNER', kind: 'GROUP' }]);
      await expect(projection.forget('never-written')).resolves.toBeUndefined();
    });

    it('replaces a group of 5000 members, and then a smaller one completely', async () => {
      const projection = await open();
      const big = new Map<string, MemberRole>(
        Array.from({ length: 5000 }, (_, index) => [`user${index}`, index === 0 ? 'OWNER' : 'MEMBER']),
      );
      expect(await projection.replace('big', 1, { kind: 'GROUP', members: big })).toBe(true);
      expect(await projection.membershipsOf('user0', ['big'])).toEqual([{ role: 'OWNER', kind: 'GROUP' }]);
      expect(await projection.membershipsOf('user4999', ['big'])).toEqual([
        { role: 'MEMBER', kind: 'GROUP' },
      ]);
      expect(await projection.membershipsOf('user5000', ['big'])).toEqual([null]);
      expect((await projection.snapshot('big'))?.members).toEqual(big);
      await projection.replace('big', 2, state({ user1: 'OWNER' }));
      expect((await projection.snapshot('big'))?.members).toEqual(members({ user1: 'OWNER' }));
      expect(await projection.membershipsOf('user4999', ['big'])).toEqual([null]);
    });

    it('isolates projections with different prefixes on the same backend', async () => {
      const alpha = await open();
      const beta = await open();
      await alpha.replace('c1', 5, state({ ann: 'OWNER' }));
      expect(await beta.membershipsOf('ann', ['c1'])).toEqual([undefined]);
      expect(await beta.replace('c1', 1, state({ bob: 'OWNER' }))).toBe(true);
      await beta.forget('c1');
      expect(await alpha.membershipsOf('ann', ['c1'])).toEqual([{ role: 'OWNER', kind: 'GROUP' }]);
    });

    it.each([-1, 1.5, Number.NaN, 2 ** 53])('refuses the version %s', async (version) => {
      const projection = await open();
      await expect(projection.replace('c1', version, { kind: 'GROUP', members: new Map() })).rejects.toThrow(
        RangeError,
      );
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
