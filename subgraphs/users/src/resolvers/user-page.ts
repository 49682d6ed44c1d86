import { decodeCursor, forwardConnection, pageSize } from '@parley/kit';
import { z } from 'zod';
import type { UsersContext } from '../context.js';
import type { User } from '../data/user-store.js';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

// Usernames are [a-z0-9_], and `deleted-<uuid>` for tombstones: anything else in a cursor is forged.
const usernameCursor = z.object({ username: z.string().regex(/^[a-z0-9_-]{1,64}$/) });

/**
 * A UserConnection keyset-paginated by username (unique, so pages never overlap or skip). The fetched
 * users prime the request's loader, so their other fields cost no further query.
 */
export async function userPage(
  args: PageArgs,
  defaultSize: number,
  context: UsersContext,
  fetch: (limit: number, afterUsername: string | null) => Promise<User[]>,
) {
  const limit = pageSize(args.first, defaultSize);
  const after = decodeCursor(args.after, usernameCursor);
  const rows = await fetch(limit, after?.username ?? null);
  for (const row of rows) context.loaders.userById.prime(row.id, row);
  return forwardConnection(
    rows,
    limit,
    after !== null,
    (row) => ({ username: row.username }),
    (row) => row,
  );
}
