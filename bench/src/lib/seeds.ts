import { randomUUID } from 'node:crypto';
import type { Parley, SignedInUser } from '@parley/testkit';
import pg from 'pg';
import { call, CREATE_DIRECT, CREATE_GROUP, mapLimit, SEND } from './graph.js';

const send = (user: SignedInUser, conversationId: string, body: string) =>
  call(user, SEND, { input: { conversationId, body, clientMutationId: randomUUID() } });

/** A signed-in user as the benchmark's load generator needs it: who, and their token. */
const credentials = (user: SignedInUser) => ({ id: user.id, accessToken: user.accessToken });

/**
 * Router throughput: 32 users, each with 5 direct conversations with the next users round the circle (10 in
 * all, half started by each side) and in 4 of 16 groups of 8, a message from someone else in each: every
 * user's conversation list crosses every subgraph (conversations, messages, users, presence), and no two
 * users' lists are the same request.
 */
/** Router: 32 users, each starting DIRECT_PER_USER DMs (and receiving as many) and in 4 of 16 groups of 8. */
const DIRECT_PER_USER = 5;
const GROUPS = 16;
const GROUP_SIZE = 8;

async function router(parley: Parley) {
  const userCount = 32;
  const users = await mapLimit(Array.from({ length: userCount }), 4, (_, index) =>
    parley.registerUser(`viewer${index}`),
  );
  const pairs = users.flatMap((user, index) =>
    Array.from(
      { length: DIRECT_PER_USER },
      (_, step) => [user, users[(index + step + 1) % userCount]!] as const,
    ),
  );
  await mapLimit(pairs, 4, async ([user, peer]) => {
    const { createDirectConversation } = await call<{ createDirectConversation: { id: string } }>(
      user,
      CREATE_DIRECT,
      { userId: peer.id },
    );
    await send(peer, createDirectConversation.id, `Hello from ${peer.username}`);
  });
  await mapLimit(Array.from({ length: GROUPS }), 4, async (_, group) => {
    const members = Array.from(
      { length: GROUP_SIZE },
      (_, offset) => users[(group + offset * (userCount / GROUP_SIZE)) % userCount]!,
    );
    const [owner, ...rest] = members;
    const { createGroup } = await call<{ createGroup: { id: string } }>(owner!, CREATE_GROUP, {
      input: { title: `Group ${group}`, memberIds: rest.map((member) => member.id) },
    });
    await send(rest[0]!, createGroup.id, `Hi from ${rest[0]!.username}`);
  });
  return {
    viewers: users.map(credentials),
    conversationsPerViewer: 2 * DIRECT_PER_USER + (GROUPS * GROUP_SIZE) / userCount,
  };
}

/**
 * Fan-out: `FANOUT_USERS` users (200) in `FANOUT_GROUPS` groups (20) of `FANOUT_MEMBERS` (100): group g holds
 * the 100 users from 10·g on (wrapping), so each user is in 10 groups.
 */
async function fanout(parley: Parley) {
  const userCount = Number(process.env['FANOUT_USERS'] ?? 200);
  const groupCount = Number(process.env['FANOUT_GROUPS'] ?? 20);
  const memberCount = Number(process.env['FANOUT_MEMBERS'] ?? 100);
  const users = await mapLimit(Array.from({ length: userCount }), 4, (_, index) =>
    parley.registerUser(`fan${index}`),
  );
  const stride = Math.max(1, Math.floor(userCount / groupCount));
  const groups = await mapLimit(Array.from({ length: groupCount }), 2, async (_, group) => {
    const members = Array.from(
      { length: memberCount },
      (_, offset) => users[(group * stride + offset) % userCount]!,
    );
    const [owner, ...rest] = members;
    const { createGroup } = await call<{ createGroup: { id: string } }>(owner!, CREATE_GROUP, {
      input: { title: `Fan-out ${group}`, memberIds: rest.map((member) => member.id) },
    });
    return { id: createGroup.id, memberIds: members.map((member) => member.id) };
  });
  // Two more, in a conversation of their own: the slow client's (see fanout/slow-client.ts).
  const [bulkSender, slowReader] = await parley.registerUsers('fan_bulk', 'fan_slow');
  const { createGroup: slowConversation } = await call<{ createGroup: { id: string } }>(
    bulkSender!,
    CREATE_GROUP,
    { input: { title: 'Slow reader', memberIds: [slowReader!.id] } },
  );
  return {
    users: users.map(credentials),
    groups,
    slow: {
      sender: credentials(bulkSender!),
      reader: credentials(slowReader!),
      conversationId: slowConversation.id,
    },
  };
}

const HISTORY_SMALL = 1_000;

/**
 * History: one viewer with two groups, filled straight in the messages database (the graph would take hours
 * for a million): 1,000 messages in one, `HISTORY_LARGE` (1,000,000) in the other.
 */
async function history(parley: Parley) {
  const large = Number(process.env['HISTORY_LARGE'] ?? 1_000_000);
  const [viewer, peer] = await parley.registerUsers('reader', 'writer');
  const create = async (title: string) =>
    (
      await call<{ createGroup: { id: string } }>(viewer, CREATE_GROUP, {
        input: { title, memberIds: [peer.id] },
      })
    ).createGroup.id;
  const small = await create('A thousand');
  const big = await create('A million');

  const client = new pg.Client({ connectionString: parley.databaseUrls.messages });
  await client.connect();
  try {
    const fill = async (conversationId: string, count: number) => {
      // Batches keep each transaction (and its WAL) bounded.
      for (let from = 1; from <= count; from += 100_000) {
        const to = Math.min(count, from + 99_999);
        await client.query(
          `INSERT INTO messages (id, conversation_id, seq, sender_id, client_mutation_id, request_hash, body, created_at)
           SELECT gen_random_uuid(), $1::uuid, s, CASE WHEN s % 2 = 0 THEN $2::uuid ELSE $3::uuid END,
                  $1::text || '-' || s, 'bench', 'Message ' || s || ' of a long conversation, with a few words to index',
                  now() - make_interval(secs => $4 - s)
           FROM generate_series($5::int, $6::int) AS s`,
          [conversationId, viewer.id, peer.id, count, from, to],
        );
      }
      await client.query(
        `INSERT INTO conversation_sequences (conversation_id, last_seq) VALUES ($1, $2)
         ON CONFLICT (conversation_id) DO UPDATE SET last_seq = EXCLUDED.last_seq`,
        [conversationId, count],
      );
    };
    await fill(small, HISTORY_SMALL);
    await fill(big, large);
    await client.query('ANALYZE messages');
  } finally {
    await client.end();
  }
  return {
    viewer: credentials(viewer),
    conversations: [
      { id: small, messages: HISTORY_SMALL },
      { id: big, messages: large },
    ],
  };
}

export const seeds = { router, fanout, history };
export type SeedName = keyof typeof seeds;
