import type { Redis } from 'ioredis';

/**
 * Closes a connection: QUIT when it is up (pending replies arrive first), disconnect otherwise. With its offline
 * queue off (connectRedis), QUIT on a connection that is down would fail and leave it reconnecting forever.
 */
export async function closeRedis(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') return connection.disconnect();
  await connection.quit().then(
    () => {},
    () => connection.disconnect(),
  );
}
