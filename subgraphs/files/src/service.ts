import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import {
  createLogger,
  createMetricsRegistry,
  createServiceAuth,
  databaseAndRedisReady,
  listenService,
  openServiceDatabase,
  openServiceRedis,
  reserveListener,
  serviceTokenSecret,
  startWithResources,
  subgraphHttpConfig,
  tokenVerificationFromEnv,
  type Logger,
  type ReservedListener,
  type RunningService,
} from '@parley/kit';
import { BLOB_PATH } from './blob-endpoint.js';
import { createPrismaClient } from './data/database.js';
import { createFileStore } from './data/file-store.js';
import { DEVELOPMENT_FILES_SIGNING_SECRET, type FilesEnv } from './env.js';
import { followReleasedFiles } from './events.js';
import { createMessagesClient } from './messages-client.js';
import { createFilesServer } from './server.js';
import { createLocalBlobStorage, createS3BlobStorage, type LocalBlobStorage } from './storage/index.js';
import { createFilesCleaner } from './upload-cleaner.js';

export const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;

/** Local storage in FILES_LOCAL_DIR served at <public URL>/blobs/, or an S3 bucket. */
function storageFromEnv(env: FilesEnv, ownUrl: string) {
  if (env.FILES_STORAGE === 's3') {
    const client = new S3Client({
      region: env.S3_REGION,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      ...(env.S3_ENDPOINT && { endpoint: env.S3_ENDPOINT }),
      ...(env.S3_ACCESS_KEY_ID &&
        env.S3_SECRET_ACCESS_KEY && {
          credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
        }),
    });
    return { storage: createS3BlobStorage({ client, bucket: env.S3_BUCKET! }), local: null, client };
  }
  const local: LocalBlobStorage = createLocalBlobStorage({
    root: env.FILES_LOCAL_DIR ?? join(env.EMBEDDED_DATA_DIR, 'files'),
    baseUrl: new URL(BLOB_PATH, env.FILES_PUBLIC_URL ?? ownUrl).toString(),
    secret: env.FILES_SIGNING_SECRET ?? DEVELOPMENT_FILES_SIGNING_SECRET,
  });
  return { storage: local, local, client: null };
}

/**
 * Builds every client the files subgraph needs from its environment, applies migrations, starts the cleaner
 * and listens (on `listener` when one was reserved for it: see reserveListener). Without DATABASE_URL it
 * runs on embedded PGlite; without REDIS_URL on the in-process bus.
 */
export async function startFilesService(
  env: FilesEnv,
  logger: Logger = createLogger({ service: 'files', level: env.LOG_LEVEL }),
  options: { listener?: ReservedListener } = {},
): Promise<RunningService> {
  return startWithResources(async (resources) => {
    // Local storage's URLs point at this service: its address is needed before the server is built.
    let listener = options.listener;
    if (!listener) {
      const own = await reserveListener(env.PORT, env.HOST);
      resources.add(() => own.close());
      listener = own;
    }
    const database = await openServiceDatabase(resources, { name: 'files', env, migrationsDir, logger });
    const prisma = createPrismaClient(database);
    resources.add(() => prisma.$disconnect());
    const { redis, stream, revocations } = openServiceRedis(resources, env);
    const { storage, local, client } = storageFromEnv(env, listener.url);
    if (client) resources.add(async () => client.destroy());
    const files = createFileStore(prisma);

    const { yoga, service } = createFilesServer({
      files,
      storage,
      localStorage: local,
      messages: createMessagesClient({
        url: env.MESSAGES_SUBGRAPH_URL,
        timeoutMs: env.SUBGRAPH_TIMEOUT_MS,
        serviceAuth: createServiceAuth({ secret: serviceTokenSecret(env), service: 'files' }),
      }),
      limits: {
        maxFileBytes: env.MAX_FILE_BYTES,
        maxImageBytes: env.MAX_IMAGE_BYTES,
        quotaBytes: env.FILES_QUOTA_BYTES,
        uploadTtlSeconds: env.UPLOAD_URL_TTL_SECONDS,
        downloadTtlSeconds: env.DOWNLOAD_URL_TTL_SECONDS,
        releasedGraceSeconds: env.RELEASED_FILE_GRACE_SECONDS,
      },
      revocations,
      logger,
      metrics: createMetricsRegistry('files'),
      config: {
        token: tokenVerificationFromEnv(env, env.USERS_SUBGRAPH_URL),
        http: subgraphHttpConfig(env),
        corsOrigins: env.FILES_CORS_ORIGINS,
      },
      ready: databaseAndRedisReady(prisma, redis),
    });

    resources.add(await followReleasedFiles({ stream, service, logger }));
    const cleaner = createFilesCleaner({
      files,
      storage,
      service,
      logger,
    });
    resources.add(cleaner.start(env.FILES_CLEANUP_INTERVAL_MS));

    return listenService(resources, yoga, { env, logger, name: 'files subgraph', listener });
  });
}
