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
  systemClock,
  tokenVerificationFromEnv,
  type Clock,
  type Logger,
  type Resources,
  type RunningService,
} from '@parley/kit';
import { createMembershipRepair, openMembershipProjection } from '@parley/membership';
import { BLOB_PATH, createBlobListener } from './blob-endpoint.js';
import { createPrismaClient } from './data/database.js';
import { createFileStore } from './data/file-store.js';
import { createShareStore } from './data/share-store.js';
import { DEVELOPMENT_FILES_SIGNING_SECRET, type FilesEnv } from './env.js';
import { followMessageFiles } from './message-files.js';
import { createUsersClient } from './users-client.js';
import { createFilesServer } from './server.js';
import { createLocalBlobStorage, createS3BlobStorage } from './storage/index.js';
import { createFilesCleaner } from './upload-cleaner.js';

export const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;

/**
 * Local storage in FILES_LOCAL_DIR, its signed URLs served by a blob listener of its own (FILES_BLOB_PORT),
 * or an S3 bucket. Registers what it opens with `resources`.
 */
async function openStorage(resources: Resources, env: FilesEnv, logger: Logger, clock: Clock) {
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
    resources.add(async () => client.destroy());
    return createS3BlobStorage({ client, bucket: env.S3_BUCKET!, clock });
  }
  // The URLs name the listener's address, so it listens before the storage exists.
  const blobs = await reserveListener(env.FILES_BLOB_PORT, env.FILES_BLOB_HOST ?? env.HOST);
  resources.add(() => blobs.close());
  const storage = createLocalBlobStorage({
    root: env.FILES_LOCAL_DIR ?? join(env.EMBEDDED_DATA_DIR, 'files'),
    baseUrl: new URL(BLOB_PATH, env.FILES_PUBLIC_URL ?? blobs.url).toString(),
    secret: env.FILES_SIGNING_SECRET ?? DEVELOPMENT_FILES_SIGNING_SECRET,
    clock,
  });
  blobs.serve(createBlobListener(storage, env.FILES_CORS_ORIGINS, logger));
  logger.info({ url: new URL(BLOB_PATH, blobs.url).toString() }, 'files blob listener ready');
  return storage;
}

export interface FilesServiceOptions {
  /** What the service reads the time from (expiry, quota, release, cleanup): the system's by default. */
  clock?: Clock;
}

export async function startFilesService(
  env: FilesEnv,
  logger: Logger = createLogger({ service: 'files', level: env.LOG_LEVEL, format: env.LOG_FORMAT }),
  { clock = systemClock }: FilesServiceOptions = {},
): Promise<RunningService> {
  return startWithResources(async (resources) => {
    const database = await openServiceDatabase(resources, { name: 'files', env, migrationsDir, logger });
    const prisma = createPrismaClient(database);
    resources.add(() => prisma.$disconnect());
    const { redis, stream, revocations } = openServiceRedis(resources, env, logger);
    const projection = openMembershipProjection(resources, { redis, prefix: env.REDIS_PREFIX });
    const storage = await openStorage(resources, env, logger, clock);
    const files = createFileStore(prisma);
    const serviceAuth = createServiceAuth({ secret: serviceTokenSecret(env), service: 'files' });

    const metrics = createMetricsRegistry('files');
    const { yoga, service } = createFilesServer({
      files,
      shares: createShareStore(prisma),
      storage,
      users: createUsersClient({
        url: env.USERS_SUBGRAPH_URL,
        timeoutMs: env.SUBGRAPH_TIMEOUT_MS,
        serviceAuth,
      }),
      limits: {
        maxFileBytes: env.MAX_FILE_BYTES,
        maxImageBytes: env.MAX_IMAGE_BYTES,
        quotaBytes: env.FILES_QUOTA_BYTES,
        uploadTtlSeconds: env.UPLOAD_URL_TTL_SECONDS,
        downloadTtlSeconds: env.DOWNLOAD_URL_TTL_SECONDS,
        releasedGraceSeconds: env.RELEASED_FILE_GRACE_SECONDS,
      },
      clock,
      projection,
      repairMembership: createMembershipRepair({
        url: env.CONVERSATIONS_SUBGRAPH_URL,
        timeoutMs: env.SUBGRAPH_TIMEOUT_MS,
      }),
      revocations,
      logger,
      metrics,
      config: {
        token: tokenVerificationFromEnv(env, env.USERS_SUBGRAPH_URL),
        http: subgraphHttpConfig(env),
      },
      ready: databaseAndRedisReady(prisma, redis),
    });

    resources.add(await followMessageFiles({ stream, service, logger }));
    const cleaner = createFilesCleaner({
      files,
      storage,
      service,
      clock,
      logger,
    });
    resources.add(cleaner.start(env.FILES_CLEANUP_INTERVAL_MS));

    return listenService(resources, yoga, {
      env,
      metrics,
      logger,
      name: 'files subgraph',
    });
  });
}
