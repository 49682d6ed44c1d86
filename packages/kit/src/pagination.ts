import { z } from 'zod';
import { badUserInput } from './errors.js';

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

export const MAX_PAGE_SIZE = 100;

/** `first` must be 1..max; anything else is BAD_USER_INPUT rather than a silent clamp. */
export function pageSize(first: number | null | undefined, fallback: number, max = MAX_PAGE_SIZE): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw badUserInput(`first must be between 1 and ${max}`, { field: 'first' });
  }
  return size;
}

/** Cursors are opaque to clients: base64url JSON of the keyset position. */
export const encodeCursor = (position: unknown): string =>
  Buffer.from(JSON.stringify(position)).toString('base64url');

export function decodeCursor<T extends z.ZodType>(
  cursor: string | null | undefined,
  schema: T,
): z.output<T> | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    if (cursor.length > 512) throw new Error('too long');
    const json = Buffer.from(cursor, 'base64url').toString('utf8');
    // Node's decoder skips characters outside the alphabet; only the exact encoding of a position counts.
    if (Buffer.from(json).toString('base64url') !== cursor) throw new Error('not canonical');
    return schema.parse(JSON.parse(json));
  } catch {
    throw badUserInput('Invalid cursor', { field: 'after' });
  }
}

/**
 * Builds a forward connection from `rows` fetched with `limit + 1` (the extra row only says whether
 * another page exists).
 */
export function forwardConnection<Row, Node>(
  rows: Row[],
  limit: number,
  hasPrevious: boolean,
  cursorOf: (row: Row) => unknown,
  toNode: (row: Row) => Node,
): Connection<Node> {
  const page = rows.slice(0, limit);
  const edges = page.map((row) => ({ cursor: encodeCursor(cursorOf(row)), node: toNode(row) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
