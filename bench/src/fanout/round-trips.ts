import { Redis } from 'ioredis';
import pg from 'pg';
import type { FanoutTarget, FanoutWorld } from './scenario.js';

export interface RoundTrips {
  messages: number;
  /** Redis commands per message, by command (those Lua scripts run counted too, as Redis counts them). */
  redisCommands: Record<string, number>;
  redisTotal: number;
  /** PostgreSQL transactions committed per message (statements outside a transaction count one each). */
  postgresCommits: number;
}

/** Redis's count of each command so far. */
async function commandCalls(redis: Redis) {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/**
 * What one message costs the stores behind the router: one member of the first group sends `messages`
 * messages, one at a time, each awaited until another member's client received it; Redis's command counts
 * (INFO commandstats) and PostgreSQL's committed transactions (pg_stat_database, after the statistics are
 * flushed) are read before and after. Nothing else runs meanwhile but what the platform does on its own.
 */
export async function countRoundTrips(
  world: FanoutWorld,
  target: FanoutTarget,
  stores: { redisUrl: string; databaseUrl: string },
  messages = 50,
): Promise<RoundTrips> {
  const [group] = world.groups;
  const sender = world.users.find((user) => user.id === group!.memberIds[0])!;
  const reader = world.users.find((user) => user.id === group!.memberIds[1])!;
  let received = 0;
  let arrived = () => {};
  const client = await target.connect(reader, () => {
    received += 1;
    arrived();
  });
  const redis = new Redis(stores.redisUrl);
  const database = new pg.Client({ connectionString: stores.databaseUrl });
  await database.connect();
  const commits = async () => {
    // Backends report their counts at most once a second (and when idle): wait past that, then read.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { rows } = await database.query<{ commits: string }>(
      'SELECT sum(xact_commit) AS commits FROM pg_stat_database',
    );
    return Number(rows[0]!.commits);
  };
  let sent = 0;
  const sendOne = async () => {
    const delivered = new Promise<void>((resolve) => (arrived = resolve));
    const before = received;
    await target.send(sender, group!.id, `round-trip:${sent++}`);
    if (received === before) await delivered;
  };
  try {
    for (let warmup = 0; warmup < 5; warmup += 1) await sendOne();
    const [callsBefore, commitsBefore] = [await commandCalls(redis), await commits()];
    for (let index = 0; index < messages; index += 1) await sendOne();
    const callsAfter = await commandCalls(redis);
    const commitsAfter = await commits();
    const redisCommands: Record<string, number> = {};
    for (const [command, calls] of Object.entries(callsAfter)) {
      const perMessage = (calls - (callsBefore[command] ?? 0)) / messages;
      // `info` and the reads of this count are the counter's own.
      if (perMessage >= 0.05 && command !== 'info') redisCommands[command] = perMessage;
    }
    return {
      messages,
      redisCommands,
      redisTotal: Object.values(redisCommands).reduce((sum, calls) => sum + calls, 0),
      // The two reads of pg_stat_database are transactions of their own.
      postgresCommits: (commitsAfter - commitsBefore - 1) / messages,
    };
  } finally {
    client.close();
    redis.disconnect();
    await database.end();
  }
}
