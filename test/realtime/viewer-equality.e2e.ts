import { randomUUID } from 'node:crypto';
import { startParley, type Parley, type SignedInUser } from '@parley/testkit';
import type { TypedDocumentString } from '@parley/kit/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, ok } from '../conversations/operations.js';
import { png, uploadFile } from '../files/operations.js';
import { send, SEND } from '../messages/operations.js';
import { startTyping } from '../presence/operations.js';
import { useRealtime, type EventFields, type EventSubscription } from './operations.js';

/**
 * The equality property of realtime results: for any event and any subscriber, what the subscriber receives
 * equals what that subscriber gets by querying the same selection at that moment. Scenarios are generated
 * (fast-check): who is in the group, who blocked whom, who has an avatar, who is typing, who reacted, who was
 * added or removed, who deleted their account, and which subscribers with which selections subscribed in which order (the router shares
 * one execution between subscribers of a selection only when every field of it is viewer-independent).
 */

const USERS = 5;
const OWNER = 0;

/** What a subscriber selects of a user, a message, a conversation: from shareable to viewer-dependent. */
const USER_SELECTIONS = [
  'id displayName',
  'id displayName avatar { id url thumbnailUrl }',
  'id username isContact isBlockedByViewer presence { status }',
];
const messageSelections = (user: string) => [
  'id seq body sender { id displayName }',
  `id body editedAt sender { ${user} } mentions { ${user} } readBy { ${user} } readCount clientMutationId
   reactions { emoji count viewerReacted } attachments { id name url thumbnailUrl }`,
  // Only fields a send does not change later (the conversation's counters and markers move after it).
  `id replyTo { id body sender { ${user} } } conversation { id title memberCount typingUsers { ${user} }
   members { edges { node { role user { ${user} } } } } }`,
];
const conversationSelections = (user: string) => [
  'id title memberCount',
  `id title kind viewerRole unreadCount mentionCount lastReadSeq isMuted peer { id }
   members { edges { node { role lastReadSeq user { ${user} } } } } typingUsers { ${user} }`,
];

interface Selection {
  message: string;
  user: string;
  conversation: string;
  /** Whether the document selects the events' own user references (`user`, `actor`). */
  eventUsers: boolean;
}

function selectionOf([m, u, c, eventUsers]: readonly [number, number, number, boolean]): Selection {
  const user = USER_SELECTIONS[u]!;
  return {
    user,
    message: messageSelections(user)[m]!,
    conversation: conversationSelections(user)[c]!,
    eventUsers,
  };
}

function subscriptionOf({ message, user, conversation, eventUsers }: Selection) {
  const users = (...fields: string[]) =>
    eventUsers ? fields.map((field) => `${field} { ${user} }`).join(' ') : '';
  return `subscription { events { __typename cursor conversationId
    ... on MessageAdded { message { ${message} } }
    ... on MessageEdited { message { ${message} } }
    ... on ReactionChanged { message { ${message} } ${users('user')} emoji added }
    ... on MemberAdded { ${users('user', 'actor')} conversation { ${conversation} } }
    ... on MemberRemoved { __typename ${users('user', 'actor')} }
    ... on ReadReceipt { ${users('user')} lastReadSeq }
    ... on ConversationUpdated { conversation { ${conversation} } ${users('actor')} }
  } }`;
}

type Action =
  | { kind: 'send'; by: number; mentions: number[]; reply: boolean; attach: boolean }
  | { kind: 'edit'; by: number }
  | { kind: 'react'; by: number; emoji: string }
  | { kind: 'read'; by: number }
  | { kind: 'rename'; title: string }
  | { kind: 'add'; user: number }
  | { kind: 'remove'; user: number }
  | { kind: 'block'; by: number; user: number }
  | { kind: 'unblock'; by: number; user: number }
  | { kind: 'contact'; by: number; user: number }
  | { kind: 'avatar'; by: number; set: boolean }
  | { kind: 'typing'; by: number }
  | { kind: 'delete'; user: number };

const someone = fc.integer({ min: 0, max: USERS - 1 });
const other = fc.integer({ min: 1, max: USERS - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('send'),
      by: someone,
      mentions: fc.subarray([0, 1, 2, 3, 4]),
      reply: fc.boolean(),
      attach: fc.boolean(),
    }),
  },
  fc.record({ kind: fc.constant('edit'), by: someone }),
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('react'), by: someone, emoji: fc.constantFrom('👍', '🎉') }),
  },
  fc.record({ kind: fc.constant('read'), by: someone }),
  fc.record({ kind: fc.constant('rename'), title: fc.constantFrom('Alpha', 'Beta', 'Gamma') }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add'), user: other }) },
  fc.record({ kind: fc.constant('remove'), user: other }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('block'), by: someone, user: someone }) },
  fc.record({ kind: fc.constant('unblock'), by: someone, user: someone }),
  fc.record({ kind: fc.constant('contact'), by: someone, user: someone }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('avatar'), by: someone, set: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('typing'), by: someone }) },
  fc.record({ kind: fc.constant('delete'), user: other }),
) as fc.Arbitrary<Action>;

const pair = fc.tuple(someone, someone).filter(([a, b]) => a !== b);
// Weighted toward the selections that reach viewer-dependent fields through shareable-looking paths.
const selectionIndices = fc.tuple(
  fc.constantFrom(0, 1, 2, 2),
  fc.constantFrom(0, 1, 1, 2),
  fc.constantFrom(0, 1),
  fc.boolean(),
);
const scenario = fc.record({
  members: fc.subarray([1, 2, 3, 4], { minLength: 2 }),
  // The state every event meets from the start: avatars, blocks, indicators.
  avatars: fc.subarray([0, 1, 2, 3, 4], { minLength: 2 }),
  blocks: fc.array(pair, { minLength: 1, maxLength: 4 }),
  typing: fc.subarray([0, 1, 2, 3, 4], { minLength: 1 }),
  // Two documents per run, so that subscribers of different users often share one.
  documents: fc.tuple(selectionIndices, selectionIndices),
  subscribers: fc.array(fc.record({ user: someone, document: fc.integer({ min: 0, max: 1 }) }), {
    minLength: 6,
    maxLength: 10,
  }),
  steps: fc.array(action, { minLength: 10, maxLength: 16 }),
});

let parley: Parley;
/** (event, subscriber) pairs compared, over every run. */
let compared = 0;

beforeAll(async () => {
  parley = await startParley({
    label: 'realtime_viewer_equality',
    // An indicator must not end between the event and the query that checks it.
    presenceEnv: { TYPING_TTL_SECONDS: '60' },
  });
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

const PROFILE = `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`;

/** Signed URLs carry their expiry and signature: two signings of one file differ only in the query string. */
function normalized(value: unknown): unknown {
  if (typeof value === 'string' && /^https?:\/\//.test(value)) return value.split('?')[0];
  if (Array.isArray(value)) return value.map(normalized);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normalized(inner)]));
  }
  return value;
}

interface World {
  users: SignedInUser[];
  images: string[];
  groupId: string;
  fenceId: string;
  members: Set<number>;
  /** Users who deleted their account: they act no more, and their sockets were closed. */
  deleted: Set<number>;
  messages: Array<{ id: string; by: number }>;
  typing: Set<number>;
}

async function createWorld(run: number, members: number[]): Promise<World> {
  const users: SignedInUser[] = [];
  for (let index = 0; index < USERS; index += 1) users.push(await parley.registerUser(`eq${run}u${index}`));
  const images = await Promise.all(
    users.map(async (user) => (await uploadFile(user, await png(32, 32), { contentType: 'image/png' })).id),
  );
  const group = await createGroup(
    users[OWNER]!,
    members.map((index) => users[index]!),
    'Alpha',
  );
  // Every user is in the fence group: a message there, received, means every earlier event was too.
  const fence = await createGroup(users[OWNER]!, users.slice(1), 'Fence');
  return {
    users,
    images,
    groupId: group.id,
    fenceId: fence.id,
    members: new Set([OWNER, ...members]),
    messages: [],
    typing: new Set(),
    deleted: new Set(),
  };
}

/**
 * A mutation the rules may refuse (a reaction or reply across a block): its data, or null when FORBIDDEN.
 * Any other error fails the test.
 */
async function unlessForbidden<T>(
  user: SignedInUser,
  query: string | TypedDocumentString<T, never>,
  variables: Record<string, unknown>,
) {
  // Sent as text: the variables are built from random steps, and a typed document still types the answer.
  const result = await user.client.request<T>(String(query), variables);
  if (!result.errors) return result.data!;
  expect(result.errors.map((error) => error.extensions?.['code'])).toEqual(['FORBIDDEN']);
  return null;
}

/** The conversation's state after a send has settled: its last seq and the sender's read marker reached it. */
async function settled(world: World, by: number, seq: number) {
  await expect
    .poll(
      async () => {
        const { conversation } = await ok<{ conversation: { lastSeq: number; lastReadSeq: number } }>(
          world.users[by]!,
          `query ($id: ID!) { conversation(id: $id) { lastSeq lastReadSeq } }`,
          { id: world.groupId },
        );
        return conversation.lastSeq >= seq && conversation.lastReadSeq >= seq;
      },
      { timeout: 10_000 },
    )
    .toBe(true);
}

/**
 * Performs one action (those the world does not allow are skipped) and returns the users the events it
 * causes refer to, by event type and field: a subscriber who may not see one receives null, and the
 * comparison needs the id to ask about.
 */
async function perform(world: World, step: Action): Promise<Record<string, Record<string, string>> | null> {
  const { users, groupId } = world;
  const acting = 'by' in step ? step.by : OWNER;
  if (world.deleted.has(acting)) return null;
  const owner = users[OWNER]!;
  switch (step.kind) {
    case 'send': {
      if (!world.members.has(step.by)) return null;
      const sender = users[step.by]!;
      // Sending ends the sender's own indicator, after the event: end it first, so the event's moment is settled.
      if (world.typing.delete(step.by)) {
        await ok(sender, `mutation ($id: ID!) { stopTyping(conversationId: $id) }`, { id: groupId });
      }
      const replyTo = step.reply ? world.messages.at(-1)?.id : undefined;
      const answer = await unlessForbidden(sender, SEND, {
        input: {
          clientMutationId: randomUUID(),
          conversationId: groupId,
          body: `from ${step.by}`,
          mentions: step.mentions
            .filter((index) => world.members.has(index) && !world.deleted.has(index))
            .map((index) => users[index]!.id),
          ...(replyTo && { replyToId: replyTo }),
          ...(step.attach && { attachmentIds: [world.images[step.by]] }),
        },
      });
      if (!answer) return null;
      const sent = answer.sendMessage;
      world.messages.push({ id: sent.id, by: step.by });
      await settled(world, step.by, sent.seq);
      return { ReadReceipt: { user: sender.id } };
    }
    case 'edit': {
      const own = world.messages.findLast((message) => message.by === step.by);
      if (!own || !world.members.has(step.by)) return null;
      await unlessForbidden(
        users[step.by]!,
        `mutation ($input: EditMessageInput!) { editMessage(input: $input) { id } }`,
        {
          input: { id: own.id, body: `edited by ${step.by}` },
        },
      );
      return {};
    }
    case 'react': {
      const last = world.messages.at(-1);
      if (!last || !world.members.has(step.by)) return null;
      const reacted = await unlessForbidden(
        users[step.by]!,
        `mutation ($id: ID!, $emoji: String!) { addReaction(messageId: $id, emoji: $emoji) { id } }`,
        { id: last.id, emoji: step.emoji },
      );
      if (!reacted) return null;
      return { ReactionChanged: { user: users[step.by]!.id } };
    }
    case 'read': {
      if (!world.members.has(step.by) || world.messages.length === 0) return null;
      const { conversation } = await ok<{ conversation: { lastSeq: number } }>(
        users[step.by]!,
        `query ($id: ID!) { conversation(id: $id) { lastSeq } }`,
        { id: groupId },
      );
      await ok(
        users[step.by]!,
        `mutation ($id: ID!, $seq: Int!) { markRead(conversationId: $id, upToSeq: $seq) { id } }`,
        {
          id: groupId,
          seq: conversation.lastSeq,
        },
      );
      return { ReadReceipt: { user: users[step.by]!.id } };
    }
    case 'rename':
      await ok(
        owner,
        `mutation ($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { id } }`,
        {
          id: groupId,
          input: { title: step.title },
        },
      );
      return { ConversationUpdated: { actor: owner.id } };
    case 'add': {
      if (world.members.has(step.user)) return null;
      const added = await owner.client.request(
        `mutation ($id: ID!, $userIds: [ID!]!) { addMembers(conversationId: $id, userIds: $userIds) { id } }`,
        { id: groupId, userIds: [users[step.user]!.id] },
      );
      // Someone who blocked the owner cannot be added by them: nothing happens, and nothing is announced.
      if (added.errors) return null;
      world.members.add(step.user);
      return { MemberAdded: { user: users[step.user]!.id, actor: owner.id } };
    }
    case 'remove':
      if (!world.members.has(step.user)) return null;
      await ok(
        owner,
        `mutation ($id: ID!, $userId: ID!) { removeMember(conversationId: $id, userId: $userId) }`,
        {
          id: groupId,
          userId: users[step.user]!.id,
        },
      );
      world.members.delete(step.user);
      world.typing.delete(step.user);
      return { MemberRemoved: { user: users[step.user]!.id, actor: owner.id } };
    case 'block':
    case 'unblock':
    case 'contact': {
      if (step.by === step.user) return null;
      const mutation = { block: 'blockUser', unblock: 'unblockUser', contact: 'addContact' }[step.kind];
      const result = await users[step.by]!.client.request(
        `mutation ($id: ID!) { ${mutation}(userId: $id) ${step.kind === 'contact' ? '{ id }' : ''} }`,
        { id: users[step.user]!.id },
      );
      return result.errors ? null : {};
    }
    case 'avatar':
      await ok(users[step.by]!, PROFILE, {
        input: { avatarFileId: step.set ? world.images[step.by] : null },
      });
      return {};
    case 'delete':
      if (world.deleted.has(step.user)) return null;
      await ok(users[step.user]!, `mutation ($input: DeleteAccountInput!) { deleteAccount(input: $input) }`, {
        input: { password: users[step.user]!.password },
      });
      world.deleted.add(step.user);
      world.typing.delete(step.user);
      return {};
    case 'typing':
      if (!world.members.has(step.by)) return null;
      await startTyping(users[step.by]!, groupId);
      world.typing.add(step.by);
      return {};
  }
}

/** The root query field that reads each kind of reference an event field holds. */
const REFERENCES: Record<string, Record<string, 'message' | 'user' | 'conversation'>> = {
  MessageAdded: { message: 'message' },
  MessageEdited: { message: 'message' },
  ReactionChanged: { message: 'message', user: 'user' },
  MemberAdded: { user: 'user', actor: 'user', conversation: 'conversation' },
  MemberRemoved: { user: 'user', actor: 'user' },
  ReadReceipt: { user: 'user' },
  ConversationUpdated: { conversation: 'conversation', actor: 'user' },
};

interface Subscriber {
  user: number;
  selection: Selection;
  subscription: EventSubscription;
}

/** The events a subscriber received up to (not including) the fence message `fenceMessageId`. */
async function eventsUntilFence(subscriber: Subscriber, fenceMessageId: string) {
  const events: Array<{ event: EventFields & Record<string, unknown>; errors: unknown }> = [];
  for (;;) {
    const result = await subscriber.subscription.next(15_000);
    const event = Object.values(result.data ?? {})[0] as EventFields & Record<string, unknown>;
    if (event.__typename === 'MessageAdded' && event.message?.id === fenceMessageId) return events;
    events.push({ event, errors: result.errors });
  }
}

/** Compares each reference the event holds with what the subscriber's own query of it answers now. */
async function compare(
  world: World,
  subscriber: Subscriber,
  event: EventFields & Record<string, unknown>,
  refs: Record<string, Record<string, string>>,
) {
  const fields = REFERENCES[event.__typename];
  if (!fields || event.conversationId !== world.groupId) return;
  const viewer = world.users[subscriber.user]!;
  for (const [field, root] of Object.entries(fields)) {
    // Not selected by this subscriber's document.
    if (!(field in event)) continue;
    const received = event[field] as { id?: string } | null | undefined;
    const id =
      root === 'conversation' ? world.groupId : (received?.id ?? refs[event.__typename]?.[field] ?? null);
    if (id === null) continue;
    const selection = subscriber.selection[root];
    const asked = await viewer.client.request<Record<string, unknown>>(
      `query ($id: ID!) { ${root}(id: $id) { ${selection} } }`,
      { id },
    );
    expect(
      normalized(received ?? null),
      `${event.__typename}.${field} as received by user ${subscriber.user} vs their own query (errors: ${JSON.stringify(asked.errors)})`,
    ).toEqual(normalized(asked.data?.[root] ?? null));
    compared += 1;
  }
}

describe('what a subscriber receives equals what they would get by querying then', () => {
  let run = 0;
  it('holds over generated scenarios of members, blocks, avatars, typing, receipts and subscription orders', async () => {
    // Scenarios compare more or fewer cases (who is in the group, who subscribed): batches until 200 at least.
    for (let batch = 0; compared < 200 && batch < 8; batch += 1) {
      await fc.assert(
        fc.asyncProperty(
          scenario,
          async ({ members, avatars, blocks, typing, documents, subscribers: wanted, steps }) => {
            run += 1;
            const world = await createWorld(run, members);
            const initial: Action[] = [
              ...avatars.map((by): Action => ({ kind: 'avatar', by, set: true })),
              ...blocks.map(([by, user]): Action => ({ kind: 'block', by, user })),
              ...typing.map((by): Action => ({ kind: 'typing', by })),
            ];
            for (const step of initial) await perform(world, step);
            const subscribers: Subscriber[] = [];
            for (const { user, document } of wanted) {
              const selection = selectionOf(documents[document]!);
              const socket = await realtime.connect(world.users[user]!);
              subscribers.push({
                user,
                selection,
                subscription: socket.subscribe(subscriptionOf(selection)) as EventSubscription,
              });
              // One at a time, in the generated order: the first of a group is whose rights a shared execution uses.
              await realtime.live(subscribers.length);
            }
            try {
              for (const step of steps) {
                const refs = await perform(world, step);
                if (refs === null) continue;
                const fence = await send(world.users[OWNER]!, world.fenceId, 'fence');
                // A deleted account's sessions end, and its subscriptions with them.
                for (const subscriber of subscribers.filter(({ user }) => !world.deleted.has(user))) {
                  for (const { event } of await eventsUntilFence(subscriber, fence.id)) {
                    await compare(world, subscriber, event, refs);
                  }
                }
              }
            } finally {
              await realtime.closeAll();
            }
          },
        ),
        { numRuns: 5, endOnFailure: true },
      );
    }
    expect(compared, '(event, subscriber) comparisons').toBeGreaterThanOrEqual(200);
    console.info(`viewer equality: ${compared} (event, subscriber) cases compared`);
  }, 300_000);
});
