import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Redis } from 'ioredis';
import { parseManifest, sha256Hex, type PersistedDocument } from './manifest.js';

/**
 * Trusted documents, registered per client (the `graphql-client-name` header). A document is found by
 * its manifest id and by the SHA-256 of its body, so a client can send either `documentId` or an APQ hash.
 */
export interface PersistedDocuments {
  find(client: string, id: string): Promise<string | null>;
  /** Adds documents for `client`; shared through Redis when the router has one. */
  register(client: string, documents: PersistedDocument[]): Promise<void>;
  /** Every registered document, for planning them at start-up. */
  all(): Promise<{ client: string; body: string }[]>;
}

const keysOf = ({ id, body }: PersistedDocument) => [id, sha256Hex(body)];

/**
 * In memory, backed by Redis hashes (`<prefix>persisted:<client>`) when given, so a manifest registered
 * with the CLI reaches every router instance without a restart.
 */
export function createPersistedDocuments(options: {
  redis?: Redis | null;
  prefix: string;
}): PersistedDocuments {
  const { redis, prefix } = options;
  const byClient = new Map<string, Map<string, string>>();
  const clientsKey = `${prefix}persisted:clients`;
  const clientKey = (client: string) => `${prefix}persisted:${client}`;

  const remember = (client: string, key: string, body: string) => {
    let documents = byClient.get(client);
    if (!documents) byClient.set(client, (documents = new Map()));
    documents.set(key, body);
  };

  return {
    async find(client, id) {
      const known = byClient.get(client)?.get(id);
      if (known !== undefined || !redis) return known ?? null;
      const stored = await redis.hget(clientKey(client), id);
      if (stored !== null) remember(client, id, stored);
      return stored;
    },
    async register(client, documents) {
      for (const document of documents)
        for (const key of keysOf(document)) remember(client, key, document.body);
      if (!redis || documents.length === 0) return;
      const entries = documents.flatMap((document) =>
        keysOf(document).flatMap((key) => [key, document.body]),
      );
      await redis
        .multi()
        .sadd(clientsKey, client)
        .hset(clientKey(client), ...entries)
        .exec();
    },
    async all() {
      const documents = new Map<string, { client: string; body: string }>();
      const add = (client: string, body: string) => documents.set(`${client}\n${body}`, { client, body });
      for (const [client, bodies] of byClient) for (const body of bodies.values()) add(client, body);
      if (redis) {
        for (const client of await redis.smembers(clientsKey)) {
          for (const body of Object.values(await redis.hgetall(clientKey(client)))) add(client, body);
        }
      }
      return [...documents.values()];
    },
  };
}

/** Registers every `<client-name>.json` manifest in `dir` (each client's file names it). */
export async function loadManifestDirectory(dir: string, documents: PersistedDocuments): Promise<string[]> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const files = entries.filter((file) => file.endsWith('.json')).sort();
  for (const file of files) {
    const manifest = parseManifest(JSON.parse(await readFile(join(dir, file), 'utf8')));
    await documents.register(basename(file, '.json'), manifest);
  }
  return files.map((file) => basename(file, '.json'));
}
