import { startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, ok } from '../conversations/operations.js';
import { png, uploadFile } from '../files/operations.js';
import { send } from '../messages/operations.js';
import { startTyping, typingUsers } from '../presence/operations.js';
import { nextOf, useRealtime, type EventSubscription } from './operations.js';

/**
 * Subscribers of one selection share one execution of an event only when every field of it is declared
 * viewer-independent: fields whose value depends on the viewer are executed for each. These are the leaks
 * found when sharing was the default, tried in both subscription orders (the first subscriber's rights were
 * the ones used for the whole group).
 */
let parley: Parley;
let owner: SignedInUser;
let member: SignedInUser;
let blocker: SignedInUser;
let typist: SignedInUser;

const PROFILE = `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`;

beforeAll(async () => {
  parley = await startParley({ label: 'realtime_viewer_safety', presenceEnv: { TYPING_TTL_SECONDS: '60' } });
  owner = await parley.registerUser('owner');
  member = await parley.registerUser('member');
  blocker = await parley.registerUser('blocker');
  typist = await parley.registerUser('typist');
  const avatar = await uploadFile(owner, await png(64, 64), { contentType: 'image/png' });
  await ok(owner, PROFILE, { input: { avatarFileId: avatar.id } });
  await ok(blocker, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: typist.id });
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

/** Subscribes each user in this order, one after the other (the router groups them in that order). */
async function subscribeInOrder(users: SignedInUser[], document: string) {
  const subscriptions: EventSubscription[] = [];
  for (const [index, user] of users.entries()) {
    subscriptions.push((await realtime.connect(user)).subscribe(document) as EventSubscription);
    await realtime.live(index + 1);
  }
  return subscriptions;
}

const orders = [
  ['owner first', true],
  ['member first', false],
] as const;

describe('an avatar’s original, which only its owner may download', () => {
  const SENDER_AVATAR = `subscription { events { __typename
    ... on MessageAdded { message { id sender { id avatar { id url thumbnailUrl } } } } } }`;
  const AVATAR = `query ($id: ID!) { user(id: $id) { avatar { id url thumbnailUrl } } }`;

  it.each(orders)('reaches its owner and no one else in a MessageAdded (%s)', async (_, ownerFirst) => {
    const group = await createGroup(owner, [member], `Avatars ${ownerFirst}`);
    const [ownerEvents, memberEvents] = ownerFirst
      ? await subscribeInOrder([owner, member], SENDER_AVATAR)
      : (await subscribeInOrder([member, owner], SENDER_AVATAR)).reverse();

    await send(owner, group.id, 'look at my picture');

    type Avatar = { id: string; url: string | null; thumbnailUrl: string | null } | null;
    const avatarIn = (event: unknown) =>
      (event as { message: { sender: { avatar: Avatar } } }).message.sender.avatar;
    const ownerSees = avatarIn(await nextOf(ownerEvents!, 'MessageAdded'));
    const memberSees = avatarIn(await nextOf(memberEvents!, 'MessageAdded'));
    expect(ownerSees?.url).toEqual(expect.any(String));
    expect(memberSees?.url).toBeNull();
    expect(memberSees?.thumbnailUrl).toEqual(expect.any(String));
    // What each would get by asking: the same answer, null or not.
    const asked = async (viewer: SignedInUser) =>
      (await ok<{ user: { avatar: Avatar } }>(viewer, AVATAR, { id: owner.id })).user.avatar;
    expect((await asked(owner))?.url).toEqual(expect.any(String));
    expect((await asked(member))?.url).toBeNull();
  });
});

describe('the users typing in a conversation, which hide users in a block relation with the viewer', () => {
  const TYPING_USERS = `subscription { events { __typename
    ... on MessageAdded { message { id conversation { id typingUsers { id } } } } } }`;

  it.each([
    ['blocker first', true],
    ['member first', false],
  ] as const)('leave out the blocked typist for the blocker only (%s)', async (_, blockerFirst) => {
    const group = await createGroup(member, [blocker, typist], `Typing ${blockerFirst}`);
    const [blockerEvents, memberEvents] = blockerFirst
      ? await subscribeInOrder([blocker, member], TYPING_USERS)
      : (await subscribeInOrder([member, blocker], TYPING_USERS)).reverse();
    await startTyping(typist, group.id);
    expect(await typingUsers(member, group.id)).toEqual([typist.id]);
    expect(await typingUsers(blocker, group.id)).toEqual([]);

    await send(member, group.id, 'who is typing?');

    const typingIn = (event: unknown) =>
      (
        event as { message: { conversation: { typingUsers: Array<{ id: string }> } } }
      ).message.conversation.typingUsers.map((user) => user.id);
    expect(typingIn(await nextOf(memberEvents!, 'MessageAdded'))).toEqual([typist.id]);
    expect(typingIn(await nextOf(blockerEvents!, 'MessageAdded'))).toEqual([]);
  });
});
