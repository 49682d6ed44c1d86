import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { schemaDir } from '@parley/schema';
import { buildSchema, GraphQLError, parse, print, type DocumentNode, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createHydrationSchema, executeEvent } from '../src/realtime/hydration.js';

const schema = createHydrationSchema(buildSchema(await readFile(join(schemaDir, 'api.graphql'), 'utf8')));

const reaction = {
  __typename: 'ReactionChanged',
  cursor: 'e:1-0',
  conversationId: 'c1',
  message: { entity: 'Message', id: 'm1' },
  user: { entity: 'User', id: 'u1' },
  emoji: '👍',
  added: true,
} as const;

/**
 * Runs `subscription` over the reaction with a gateway that answers `answer` and records what it was
 * asked: the gateway's side is plain data here, what is tested is how hydration asks and places answers.
 */
async function run(subscription: string, answer: ExecutionResult, variables: Record<string, unknown> = {}) {
  const asked: Array<{ document: DocumentNode; variables: Record<string, unknown> }> = [];
  let hydrations = 0;
  const result = await executeEvent({
    schema,
    document: parse(subscription),
    operationName: undefined,
    variableValues: variables,
    responseKey: 'feed',
    event: reaction,
    gateway: async (request) => {
      asked.push(request);
      return answer;
    },
    onHydrate: () => (hydrations += 1),
  });
  return { result, asked, hydrations };
}

describe('hydration', () => {
  it('asks for every reference of an event in one query, with the subscriber’s fragments and variables', async () => {
    const { result, asked, hydrations } = await run(
      `subscription ($n: Int!) { feed: events { ... on ReactionChanged { emoji m: message { ...M } who: user { name: displayName } } } }
       fragment M on Message { id replies: latestReplies(last: $n) { id } }`,
      { data: { _e0: { id: 'm1', replies: [] }, _e1: { name: 'Ann' } } },
      { n: 2 },
    );
    expect(hydrations).toBe(1);
    expect(asked.map(({ variables }) => variables)).toEqual([{ _id0: 'm1', _id1: 'u1', n: 2 }]);
    expect(print(asked[0]!.document)).toContain('_e0: message(id: $_id0)');
    expect(print(asked[0]!.document)).toContain('fragment M on Message');
    expect(result).toEqual({
      data: { feed: { emoji: '👍', m: { id: 'm1', replies: [] }, who: { name: 'Ann' } } },
    });
  });

  it('asks again for each reference alone when one the viewer may not see nulled the whole answer', async () => {
    const asked: string[][] = [];
    const result = await executeEvent({
      schema,
      document: parse(
        `subscription { feed: events { ... on ReactionChanged { message { id } user { id } } } }`,
      ),
      operationName: undefined,
      variableValues: {},
      responseKey: 'feed',
      event: reaction,
      // `user(id): User!` is NOT_FOUND for this viewer: in one query it nulls `message` too, as a gateway does.
      gateway: async ({ document, variables }) => {
        const roots = print(document).match(/_e\d: \w+/g) ?? [];
        asked.push(roots);
        const hidden = new GraphQLError('User not found', {
          path: [roots.findIndex((root) => root.endsWith('user')) === 0 ? '_e0' : '_e1'],
          extensions: { code: 'NOT_FOUND' },
        });
        if (roots.some((root) => root.endsWith('user'))) return { data: null, errors: [hidden] };
        return { data: { _e0: { id: variables['_id0'] } } };
      },
      onHydrate: () => undefined,
    });
    expect(asked).toEqual([['_e0: message', '_e1: user'], ['_e0: message'], ['_e0: user']]);
    expect(result.data).toEqual({ feed: { message: { id: 'm1' }, user: null } });
    expect(result.errors?.map((error) => [error.extensions['code'], error.path])).toEqual([
      ['NOT_FOUND', ['feed', 'user']],
    ]);
  });

  it('asks nothing for a selection without references', async () => {
    const { result, hydrations } = await run(`subscription { feed: events { cursor } }`, { data: {} });
    expect(hydrations).toBe(0);
    expect(result).toEqual({ data: { feed: { cursor: 'e:1-0' } } });
  });

  it('reports an error without a path (a refused token) on each reference, not as a silent null', async () => {
    const refused = new GraphQLError('Access token expired', { extensions: { code: 'UNAUTHENTICATED' } });
    const { result } = await run(
      `subscription { feed: events { ... on ReactionChanged { message { id } } } }`,
      {
        data: null,
        errors: [refused],
      },
    );
    expect(result.data).toEqual({ feed: { message: null } });
    expect(result.errors?.map((error) => [error.extensions['code'], error.path])).toEqual([
      ['UNAUTHENTICATED', ['feed', 'message']],
    ]);
  });

  it('moves an error below a reference to where the subscriber sees it', async () => {
    const unavailable = new GraphQLError('The messages service is unavailable', {
      path: ['_e0', 'replyTo'],
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    const { result } = await run(
      `subscription { feed: events { ... on ReactionChanged { message { id replyTo { id } } } } }`,
      { data: { _e0: { id: 'm1', replyTo: null } }, errors: [unavailable] },
    );
    expect(result.data).toEqual({ feed: { message: { id: 'm1', replyTo: null } } });
    expect(result.errors?.map((error) => [error.extensions['code'], error.path])).toEqual([
      ['SERVICE_UNAVAILABLE', ['feed', 'message', 'replyTo']],
    ]);
  });
});
