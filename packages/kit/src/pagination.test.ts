import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeCursor, encodeCursor, forwardConnection, pageSize } from './pagination.js';

const position = z.object({ username: z.string() });

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof GraphQLError ? error.extensions['code'] : 'not a GraphQLError';
  }
  return 'no error';
};

describe('pageSize', () => {
  it('uses the fallback, accepts 1..max and refuses anything else as BAD_USER_INPUT', () => {
    expect(pageSize(undefined, 20)).toBe(20);
    expect(pageSize(null, 20)).toBe(20);
    expect(pageSize(100, 20)).toBe(100);
    for (const first of [0, -1, 101, 1.5]) expect(codeOf(() => pageSize(first, 20))).toBe('BAD_USER_INPUT');
  });
});

describe('cursors', () => {
  it('round-trip a position', () => {
    const cursor = encodeCursor({ username: 'alice' });
    expect(decodeCursor(cursor, position)).toEqual({ username: 'alice' });
    expect(decodeCursor(null, position)).toBeNull();
  });

  it('refuse forged, altered or oversized cursors with BAD_USER_INPUT', () => {
    const cursor = encodeCursor({ username: 'alice' });
    for (const forged of [
      `${cursor}!!`,
      'not base64 at all',
      encodeCursor({ user: 'alice' }),
      encodeCursor('just a string'),
      Buffer.from('{not json').toString('base64url'),
      encodeCursor({ username: 'x'.repeat(600) }),
    ]) {
      expect(
        codeOf(() => decodeCursor(forged, position)),
        forged.slice(0, 20),
      ).toBe('BAD_USER_INPUT');
    }
  });
});

describe('forwardConnection', () => {
  it('uses the extra row only to say a next page exists', () => {
    const rows = ['a', 'b', 'c'];
    const page = forwardConnection(
      rows,
      2,
      false,
      (row) => ({ username: row }),
      (row) => row.toUpperCase(),
    );
    expect(page.edges.map((edge) => edge.node)).toEqual(['A', 'B']);
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: encodeCursor({ username: 'a' }),
      endCursor: encodeCursor({ username: 'b' }),
    });
    const last = forwardConnection(
      ['c'],
      2,
      true,
      (row) => ({ username: row }),
      (row) => row,
    );
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(
      forwardConnection(
        [],
        2,
        false,
        () => null,
        (row) => row,
      ).pageInfo,
    ).toMatchObject({
      startCursor: null,
      endCursor: null,
    });
  });
});
