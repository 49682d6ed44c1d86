import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgresql:// URL any pg client (Prisma's adapter-pg, psql) can use. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Real PostgreSQL compiled to WASM (PGlite), served on a loopback port, data kept in `dataDir`:
 * the default when no DATABASE_URL is set, so nothing needs installing. PGlite runs one session, so
 * it accepts one connection at a time: clients must use a pool of one.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
}): Promise<EmbeddedPostgres> {
  await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: 1,
  });
  await server.start();
  const [, port] = server.getServerConn().split(':');
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
