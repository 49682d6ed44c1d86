import type { PayloadOf, Topic } from '@parley/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userEvents } from '../src/events.js';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

/** The next event on `topic`, read through Redis like any other service would. */
async function nextEvent<T extends Topic>(topic: T, act: () => Promise<unknown>): Promise<PayloadOf<T>> {
  const subscription = await server.events.subscribe(topic);
  try {
    await act();
    const iterator = subscription[Symbol.asyncIterator]();
    const { value } = await iterator.next();
    return value as PayloadOf<T>;
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
    expect(updated).toEqual({
      userId: user.user.id,
      audience: [user.user.id],
      eventId: expect.stringMatching(/^users:\d+$/),
    });
    const deleted = await nextEvent(userEvents.deleted, () =>
      user.api.request('mutation($p: String!) { deleteAccount(input: { password: $p }) }', {
        p: user.input.password,
      }),
    );
    expect(deleted).toEqual({ userId: user.user.id });
  });
});

describe('users.updated in the realtime log', () => {
  /** The `users.updated` entries appended after `cursor`. */
  async function updatesAfter(cursor: string) {
    const read = await server.log.readAfter(cursor, 100);
    if (read.expired) throw new Error('the realtime log lost its entries');
    return read.events
      .filter((event) => event.topic === userEvents.updated.name)
      .map((event) => event.payload);
  }
  type Registered = Awaited<ReturnType<UsersTestServer['register']>>;
  const updateProfile = (user: Registered, input: string) =>
    user.api.request(`mutation { updateProfile(input: ${input}) { id } }`);
  const mutate = (user: Registered) => (mutation: string, id: string) =>
    user.api.request(`mutation ($id: ID!) { ${mutation}(userId: $id) }`, { id });

  it('goes to the user and contacts either way, never across a block; fellow members are not its to know', async () => {
    const [ann, lister, listed, blocker, blocked] = await Promise.all([
      server.register('ann'),
      server.register('lister'),
      server.register('listed'),
      server.register('blocker'),
      server.register('blocked'),
    ]);
    await lister.api.request('mutation ($id: ID!) { addContact(userId: $id) { id } }', { id: ann.user.id });
    await ann.api.request('mutation ($id: ID!) { addContact(userId: $id) { id } }', { id: listed.user.id });
    await mutate(blocker)('blockUser', ann.user.id);
    await mutate(ann)('blockUser', blocked.user.id);
    const cursor = await server.log.head();

    await updateProfile(ann, '{ displayName: "Ann B." }');
    const [event] = await updatesAfter(cursor);
    expect(event).toEqual({ userId: ann.user.id, audience: expect.any(Array), eventId: expect.any(String) });
    expect([...(event as { audience: string[] }).audience].sort()).toEqual(
      [ann.user.id, lister.user.id, listed.user.id].sort(),
    );
  });

  it('is appended to the durable stream too, with the id the realtime log stores it under', async () => {
    const ann = await server.register('ann');
    const cursor = await server.log.head();
    await updateProfile(ann, '{ bio: "streamed" }');
    const read = await server.log.readAfter(cursor, 100);
    if (read.expired) throw new Error('the realtime log lost its entries');
    const logged = read.events.find(
      (event) => event.topic === userEvents.updated.name && event.payload['userId'] === ann.user.id,
    );
    expect(logged).toBeDefined();

    // A consumer group of the test's own, from the start of the stream (other tests' updates are in it too).
    const streamed: Array<PayloadOf<typeof userEvents.updated>> = [];
    const stop = await server.stream.consume(userEvents.updated, `test-${ann.user.id}`, async (payload) => {
      if (payload.userId === ann.user.id) streamed.push(payload);
    });
    try {
      await expect.poll(() => streamed.length, { timeout: 10_000, interval: 20 }).toBe(1);
    } finally {
      await stop();
    }
    expect(streamed).toEqual([{ ...logged!.payload, eventId: logged!.id }]);
  });

  it('is recorded when the display name, bio or avatar changes, not when nothing does', async () => {
    const ann = await server.register('ann', { displayName: 'Ann' });
    const cursor = await server.log.head();
    await updateProfile(ann, '{ displayName: "Ann" }');
    await updateProfile(ann, '{}');
    expect(await updatesAfter(cursor)).toEqual([]);
    await updateProfile(ann, '{ bio: "hi" }');
    await updateProfile(ann, '{ avatarFileId: "0190a0b0-0000-7000-8000-000000000001" }');
    await updateProfile(ann, '{ avatarFileId: null }');
    expect(await updatesAfter(cursor)).toHaveLength(3);
  });
});
