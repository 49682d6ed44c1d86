import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv, redisEnvShape } from '@parley/kit';
import { readApiSdl } from '@parley/schema';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { ManifestError } from '../src/persisted/manifest.js';
import { createPersistedDocuments } from '../src/persisted/persisted-documents.js';
import { registerManifest } from '../src/persisted/register-manifest.js';
import { defaultPersistedDocumentsDir } from '../src/service.js';

/**
 * `npm run persisted:register -- <client-name> <manifest.json>`: registers a third-party client's
 * trusted documents (Apollo persisted query manifest or graphql-codegen persisted-documents.json).
 * With REDIS_URL they go to Redis, where every running router finds them at once; without it the
 * manifest is written to the router's manifest directory, read at start-up.
 */
async function main() {
  const [client, file] = process.argv.slice(2);
  if (!client || !file) {
    console.error('Usage: npm run persisted:register -- <client-name> <manifest.json>');
    process.exit(2);
  }
  const env = parseEnv(
    z.object({ ...redisEnvShape, PERSISTED_DOCUMENTS_DIR: z.string().default(defaultPersistedDocumentsDir) }),
    process.env,
  );
  const manifest = JSON.parse(await readFile(file, 'utf8')) as unknown;
  const redis = env.REDIS_URL ? new Redis(env.REDIS_URL) : null;
  try {
    const documents = await registerManifest({
      client,
      manifest,
      apiSdl: await readApiSdl(),
      documents: createPersistedDocuments({ redis, prefix: env.REDIS_PREFIX }),
    });
    if (!redis) {
      await mkdir(env.PERSISTED_DOCUMENTS_DIR, { recursive: true });
      await writeFile(
        join(env.PERSISTED_DOCUMENTS_DIR, `${client}.json`),
        `${JSON.stringify(manifest, null, 2)}\n`,
      );
    }
    const where = redis ? 'Redis' : join(env.PERSISTED_DOCUMENTS_DIR, `${client}.json`);
    console.log(`Registered ${documents.length} operation(s) for client "${client}" in ${where}`);
  } finally {
    redis?.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ManifestError ? error.message : error);
  process.exit(1);
});
