import { describe, expect, it } from 'vitest';
import {
  createMembershipReader,
  createMemoryMembershipProjection,
  type ConversationKind,
  type MemberRole,
} from './membership.js';
import { describeMembershipProjectionContract } from './testing/index.js';

const members = (entries: Record<string, MemberRole>) => new Map(Object.entries(entries));
/** The state replace takes: these members, in a GROUP unless `kind` says otherwise. */
const state = (entries: Record<string, MemberRole>, kind: ConversationKind = 'GROUP') => ({
  kind,
  members: members(entries),
});

describeMembershipProjectionContract('memory', async ({ prefix }) => ({
  projection: createMemoryMembershipProjection({ prefix }),
}));

describe('createMembershipReader', () => {
  const setup = () => {
    const projection = createMemoryMembershipProjection({ prefix: 'parley-test:' });
    const repairs: string[][] = [];
    // Stands in for the conversations service: it knows c-lost and c-late, and c-gone does not exist.
    const database = new Map([
      ['c-lost', state({ ann: 'ADMIN' })],
      ['c-late', state({ bob: 'MEMBER', cy: 'MEMBER' }, 'DIRECT')],
    ]);
    const repair = async (conversationIds: string[]) => {
      repairs.push(conversationIds);
      for (const id of conversationIds) {
        const stored = database.get(id);
        if (stored) await projection.replace(id, 10, stored);
      }
    };
    return { projection, repairs, reader: createMembershipReader({ projection, repair }) };
  };

  it('repairs only the unknown conversations, once each, and reads the repair back', async () => {
    const { projection, repairs, reader } = setup();
    await projection.replace('c-known', 1, state({ ann: 'MEMBER' }, 'DIRECT'));
    await projection.replace('c-other', 1, state({ bob: 'MEMBER' }));
    const memberships = await reader.membershipsOf('ann', [
      'c-known',
      'c-lost',
      'c-other',
      'c-gone',
      'c-lost',
      'c-late',
    ]);
    expect(memberships).toEqual([
      { role: 'MEMBER', kind: 'DIRECT' },
      { role: 'ADMIN', kind: 'GROUP' },
      null,
      null,
      { role: 'ADMIN', kind: 'GROUP' },
      null,
    ]);
    expect(repairs).toEqual([['c-lost', 'c-gone', 'c-late']]);
    expect(await reader.membershipsOf('cy', ['c-late'])).toEqual([{ role: 'MEMBER', kind: 'DIRECT' }]);
  });

  it('never repairs when every conversation is known, members or not', async () => {
    const { projection, repairs, reader } = setup();
    await projection.replace('c1', 1, state({ ann: 'MEMBER' }));
    await projection.markDeleted('c2', 1);
    expect(await reader.membershipsOf('ann', ['c1', 'c2'])).toEqual([
      { role: 'MEMBER', kind: 'GROUP' },
      null,
    ]);
    expect(await reader.membershipsOf('ann', [])).toEqual([]);
    expect(repairs).toEqual([]);
  });

  it('passes a failed repair on to the caller', async () => {
    const projection = createMemoryMembershipProjection({ prefix: 'parley-test:' });
    const reader = createMembershipReader({
      projection,
      repair: async () => {
        throw new Error('conversations service unavailable');
      },
    });
    await expect(reader.membershipsOf('ann', ['c1'])).rejects.toThrow('conversations service unavailable');
  });
});
