import { badUserInput, decodeCursor, encodeCursor, pageSize, type Connection } from '@parley/kit';
import { z } from 'zod';
import type { MessageRecord, SeqRange } from './data/message-store.js';

/** With neither `first` nor `last`: the latest messages, as a chat opens on them. */
const DEFAULT_PAGE = 50;

// seq is a PostgreSQL integer: a larger cursor is malformed, not a query to run.
const seqCursor = z.object({ s: z.number().int().min(0).max(2_147_483_647) });

export interface SeqPageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** Reads Relay arguments as a seq range: forward with `first`, backward with `last` (or with neither). */
export function seqRange(args: SeqPageArgs): SeqRange {
  const hasFirst = args.first !== null && args.first !== undefined;
  const hasLast = args.last !== null && args.last !== undefined;
  if (hasFirst && hasLast) throw badUserInput('Pass first or last, not both', { field: 'last' });
  const after = decodeCursor(args.after, seqCursor)?.s ?? null;
  const before = decodeCursor(args.before, seqCursor)?.s ?? null;
  return hasFirst
    ? { direction: 'forward', limit: pageSize(args.first, DEFAULT_PAGE), after, before }
    : { direction: 'backward', limit: pageSize(args.last, DEFAULT_PAGE), after, before };
}

/**
 * The connection for rows a store returned for `range` (in the direction of travel, one extra when the
 * page's far end is not the last). Edges are oldest first either way.
 */
export function seqConnection(rows: MessageRecord[], range: SeqRange): Connection<MessageRecord> {
  const page = rows.slice(0, range.limit);
  if (range.direction === 'backward') page.reverse();
  const edges = page.map((message) => ({ cursor: encodeCursor({ s: message.seq }), node: message }));
  const more = rows.length > range.limit;
  return {
    edges,
    pageInfo: {
      hasNextPage: range.direction === 'forward' ? more : range.before !== null,
      hasPreviousPage: range.direction === 'backward' ? more : range.after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
