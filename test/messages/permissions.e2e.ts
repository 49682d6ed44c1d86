import { randomUUID } from 'node:crypto';
import { createGraphQLClient, testRedisUrl, type GraphQLResponse } from '@parley/kit/testing';
import {
  codeOf,
  type Parley,
  sharedParley,
  type SignedInUser,
  type TypedDocumentString,
} from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, ok } from '../conversations/operations.js';
import {
  ADD_REACTION,
  DELETE,
  EDIT,
  HISTORY,
  MESSAGE,
  REMOVE_REACTION,
  SEARCH,
  send,
  SEND,
} from './operations.js';

let parley: Parley;
let owner: SignedInUser;
let member: SignedInUser;
let stranger: SignedInUser;
let conversationId: string;
let messageId: string;
const word = `secretword${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  parley = await sharedParley();
  [owner, member, stranger] = await parley.registerUsers('owner', 'member', 'stranger');
  conversationId = (await createGroup(owner, [member], 'Private')).id;
  messageId = (await send(owner, conversationId, `the ${word} is here`)).id;
}, 60_000);

afterAll(async () => {
  await parley?.stop();
});

/** What a caller learns from a response: its data and each error's message and code. */
const visible = (response: GraphQLResponse) => ({
  data: response.data ?? null,
  errors: response.errors?.map((error) => ({ message: error.message, code: error.extensions?.['code'] })),
});

/** Each operation on the group's real ids, and the same with ids that exist nowhere. */
const operations: {
  name: string;
  // Sent as text, untyped: a probe compares two responses, whatever their data.
  run: (ids: { conversationId: string; messageId: string }) => [TypedDocumentString<unknown, never>, object];
}[] = [
  { name: 'message', run: (ids) => [MESSAGE, { id: ids.messageId }] },
  { name: 'history', run: (ids) => [HISTORY, { id: ids.conversationId, last: 10 }] },
  {
    name: 'sendMessage',
    run: (ids) => [
      SEND,
      { input: { conversationId: ids.conversationId, body: 'hi', clientMutationId: 'x1' } },
    ],
  },
  {
    name: 'sendMessage (a reply)',
    run: (ids) => [
      SEND,
      {
        input: {
          conversationId: ids.conversationId,
          body: 'hi',
          clientMutationId: 'x2',
          replyToId: ids.messageId,
        },
      },
    ],
  },
  { name: 'editMessage', run: (ids) => [EDIT, { input: { id: ids.messageId, body: 'mine now' } }] },
  { name: 'deleteMessage', run: (ids) => [DELETE, { id: ids.messageId }] },
  { name: 'addReaction', run: (ids) => [ADD_REACTION, { id: ids.messageId, emoji: '👍' }] },
  { name: 'removeReaction', run: (ids) => [REMOVE_REACTION, { id: ids.messageId, emoji: '👍' }] },
  {
    name: 'searchMessages in it',
    run: (ids) => [SEARCH, { query: word, conversationId: ids.conversationId }],
  },
];

describe('a non-member', () => {
  it.each(operations)(
    'cannot tell $name on the conversation from the same on ids that do not exist',
    async ({ run }) => {
      const [query, variables] = run({ conversationId, messageId });
      const [unknownQuery, unknownVariables] = run({ conversationId: randomUUID(), messageId: randomUUID() });
      const real = await stranger.client.request(String(query), variables as Record<string, unknown>);
      const unknown = await stranger.client.request(
        String(unknownQuery),
        unknownVariables as Record<string, unknown>,
      );
      expect(codeOf(real)).toBe('NOT_FOUND');
      expect(visible(real)).toEqual(visible(unknown));
    },
  );

  it('finds nothing of it when searching everywhere, while a member finds the message', async () => {
    const mine = await ok(stranger, SEARCH, { query: word });
    expect(mine.searchMessages.edges).toEqual([]);
    const theirs = await ok(member, SEARCH, { query: word });
    expect(theirs.searchMessages.edges.map((edge) => edge.node.id)).toEqual([messageId]);
  });

  it('changed nothing: the message is as sent, unreacted, and no message was added', async () => {
    const data = await ok(member, MESSAGE, { id: messageId });
    expect(data.message).toMatchObject({ body: `the ${word} is here`, reactions: [] });
    const page = await ok(member, HISTORY, { id: conversationId, last: 10 });
    expect(page.conversation.messages.edges).toHaveLength(1);
  });

  it('cannot read it by calling the messages subgraph directly with forged entity references', async () => {
    const direct = createGraphQLClient({ url: parley.subgraphUrls.messages, token: stranger.accessToken });
    const entities = await direct.request<{ _entities: unknown[] }>(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) {
        ... on Message { body }
        ... on Conversation { messages(last: 5) { edges { node { body } } } }
      } }`,
      {
        representations: [
          { __typename: 'Message', id: messageId },
          { __typename: 'Conversation', id: conversationId },
        ],
      },
    );
    expect(entities.data?._entities[0]).toBeNull();
    expect(codeOf(entities)).toBe('NOT_FOUND');
    expect(JSON.stringify(entities)).not.toContain(word);
  });
});

describe('membership changes', () => {
  it('a removed member loses read and write access at once; an anonymous caller has none', async () => {
    const leaving = await parley.registerUser('leaving');
    const group = await createGroup(owner, [leaving], 'Revolving door');
    const message = await send(leaving, group.id, 'I was here');
    await ok(owner, `mutation ($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) }`, {
      c: group.id,
      u: leaving.id,
    });
    expect(codeOf(await leaving.client.request(MESSAGE, { id: message.id }))).toBe('NOT_FOUND');
    const sent = await leaving.client.request(SEND, {
      input: { conversationId: group.id, body: 'still here?', clientMutationId: randomUUID() },
    });
    expect(codeOf(sent)).toBe('NOT_FOUND');
    expect(codeOf(await leaving.client.request(EDIT, { input: { id: message.id, body: 'gone' } }))).toBe(
      'NOT_FOUND',
    );

    const anonymous = parley.client();
    expect(codeOf(await anonymous.request(MESSAGE, { id: message.id }))).toBe('UNAUTHENTICATED');
    expect(
      codeOf(
        await anonymous.request(SEND, {
          input: { conversationId: group.id, body: 'hi', clientMutationId: randomUUID() },
        }),
      ),
    ).toBe('UNAUTHENTICATED');
  });

  it('a lost membership entry is rebuilt from the conversations service on the next read', async () => {
    const group = await createGroup(owner, [member], 'Rebuilt');
    const message = await send(member, group.id, 'survives');
    const redis = new Redis(testRedisUrl());
    try {
      expect(await redis.del(`${parley.redisPrefix}membership:${group.id}`)).toBe(1);
    } finally {
      redis.disconnect();
    }
    expect((await ok(member, MESSAGE, { id: message.id })).message.body).toBe('survives');
    expect(codeOf(await stranger.client.request(MESSAGE, { id: message.id }))).toBe('NOT_FOUND');
  });
});
