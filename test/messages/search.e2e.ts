import { randomUUID } from 'node:crypto';
import { codeOf, type Parley, sharedParley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import type { SearchQueryVariables } from '../generated/graphql.js';
import { DELETE, SEARCH, send } from './operations.js';

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let cy: SignedInUser;
/** A word no other test uses, so results are exactly this file's messages. */
const tag = `kiwi${randomUUID().slice(0, 6)}`;

const search = async (user: SignedInUser, variables: SearchQueryVariables) =>
  (await ok(user, SEARCH, variables)).searchMessages;

beforeAll(async () => {
  parley = await sharedParley();
  [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
}, 60_000);

afterAll(async () => {
  await parley?.stop();
});

describe('searchMessages', () => {
  it('finds messages of the viewer’s conversations only, best match first, and pages through them', async () => {
    const group = await createGroup(ann, [bob], 'Fruit');
    const dm = await createDm(ann, cy);
    const elsewhere = await createGroup(bob, [cy], 'Not Ann’s');
    const weak = await send(ann, group.id, `one ${tag} among many other words in a long sentence`);
    const strong = await send(bob, group.id, `${tag} ${tag} ${tag}`);
    const inDm = await send(cy, dm.id, `a ${tag} from cy`);
    await send(cy, elsewhere.id, `${tag} ann cannot see`);
    const deleted = await send(ann, group.id, `${tag} deleted`);
    await ok(ann, DELETE, { id: deleted.id });
    await send(ann, group.id, 'nothing to find here');

    const all = await search(ann, { query: tag });
    expect(new Set(all.edges.map((edge) => edge.node.id))).toEqual(new Set([strong.id, inDm.id, weak.id]));
    expect(all.edges[0]!.node.id).toBe(strong.id);
    const ranks = all.edges.map((edge) => edge.rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));

    const inGroup = await search(ann, { query: tag, conversationId: group.id });
    expect(inGroup.edges.map((edge) => edge.node.id)).toEqual([strong.id, weak.id]);

    const first = await search(ann, { query: tag, first: 2 });
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await search(ann, { query: tag, first: 2, after: first.pageInfo.endCursor });
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...second.edges].map((edge) => edge.node.id)).toEqual(
      all.edges.map((edge) => edge.node.id),
    );
    // A cursor belongs to its search.
    const reused = await ann.client.request(SEARCH, {
      query: `${tag} other`,
      after: first.pageInfo.endCursor,
    });
    expect(codeOf(reused)).toBe('BAD_USER_INPUT');
  });

  it('reads quotes, operators and odd characters as a query, never as an error', async () => {
    const group = await createGroup(ann, [], 'Syntax');
    const phrase = await send(ann, group.id, `the quick ${tag} fox`);
    const other = await send(ann, group.id, `the slow ${tag} turtle`);
    const ids = async (query: string) =>
      (await search(ann, { query, conversationId: group.id })).edges.map((edge) => edge.node.id);
    expect(await ids(`"quick ${tag}"`)).toEqual([phrase.id]);
    expect(await ids(`${tag} -quick`)).toEqual([other.id]);
    expect(new Set(await ids(`fox or turtle`))).toEqual(new Set([phrase.id, other.id]));
    const odd = [
      '"unterminated',
      'a & b | !c',
      ':*',
      '(((',
      '-',
      'or',
      "'",
      '\\',
      '🦓',
      "'; DROP TABLE messages; --",
      '<->',
      '!!',
      '%_%',
      'a:b:c',
      `${tag}:*`,
      'x'.repeat(256),
    ];
    for (const query of odd) {
      const response = await ann.client.request(SEARCH, { query, conversationId: group.id });
      expect(response.errors, query).toBeUndefined();
    }
    for (const query of ['', '   ', 'x'.repeat(257), 'nul\u0000byte']) {
      expect(codeOf(await ann.client.request(SEARCH, { query })), JSON.stringify(query)).toBe(
        'BAD_USER_INPUT',
      );
    }
    // The messages are still there (the injection attempt was a query).
    expect(await ids(tag)).toHaveLength(2);
  });
});
