import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userEvents } from '../src/events.js';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

/** The next event on `topic`, read through Redis like any other service would. */
async function nextEvent<T>(topic: string, act: () => Promise<unknown>): Promise<T> {
  const subscription = await server.events.subscribe<T>(topic);
  try {
    await act();
    const iterator = subscription[Symbol.asyncIterator]();
    const { value } = await iterator.next();
    return value as T;
  } finally {
    await subscription.unsubscribe();
  }
}

describe('domain events on Redis', () => {
  it('blockUser and unblockUser publish the pair, after the change is stored', async () => {
    const blocker = await server.register('evblocker');
    const blocked = await server.register('evblocked');
    const event = await nextEvent(userEvents.blocked, () =>
      blocker.api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id: blocked.user.id }),
    );
    expect(event).toEqual({ blockerId: blocker.user.id, blockedId: blocked.user.id });
    const rows = await server.sql('SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2', [
      blocker.user.id,
      blocked.user.id,
    ]);
    expect(rows).toHaveLength(1);
    const unblocked = await nextEvent(userEvents.unblocked, () =>
      blocker.api.request('mutation($id: ID!) { unblockUser(userId: $id) }', { id: blocked.user.id }),
    );
    expect(unblocked).toEqual({ blockerId: blocker.user.id, blockedId: blocked.user.id });
  });

  it('logout publishes the revoked session, so live connections can be closed', async () => {
    const user = await server.register('evlogout');
    const event = await nextEvent(userEvents.sessionsRevoked, () => user.api.request('mutation { logout }'));
    expect(event).toEqual({ userId: user.user.id, sessionIds: [user.session.id] });
  });

  it('profile updates and account deletion publish the user id', async () => {
    const user = await server.register('evprofile');
    const updated = await nextEvent(userEvents.updated, () =>
      user.api.request('mutation { updateProfile(input: { bio: "hello" }) { id } }'),
    );
    expect(updated).toEqual({ userId: user.user.id });
    const deleted = await nextEvent(userEvents.deleted, () =>
      user.api.request('mutation($p: String!) { deleteAccount(input: { password: $p }) }', {
        p: user.input.password,
      }),
    );
    expect(deleted).toEqual({ userId: user.user.id });
  });
});
