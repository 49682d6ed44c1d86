import {
  booleanFromString,
  commonEnvShape,
  databaseEnvShape,
  EnvError,
  httpServiceEnvShape,
  parseEnv,
  portSchema,
  positiveIntSchema,
  redisEnvShape,
  serviceAuthEnvShape,
  tokenVerificationEnvShape,
} from '@parley/kit';
import { z } from 'zod';

const MiB = 1024 * 1024;

/** Comma-separated origins, e.g. `http://localhost:3000,https://chat.example.com`. */
const originList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url()));

export const filesEnvSchema = z.object({
  ...commonEnvShape,
  ...httpServiceEnvShape(4005, 9405),
  ...databaseEnvShape,
  ...redisEnvShape,
  ...tokenVerificationEnvShape,
  ...serviceAuthEnvShape,
  /** Serves the JWKS access tokens are verified with; asked (as a service) which files are avatars. */
  USERS_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  /** Asked (with the viewer's token) to rebuild membership entries the projection lost (who may see a file). */
  CONVERSATIONS_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4002/graphql'),
  SUBGRAPH_TIMEOUT_MS: positiveIntSchema.default(5_000),

  /** Where bytes live: `local` (a directory, served by this service's /blobs endpoint) or `s3`. */
  FILES_STORAGE: z.enum(['local', 's3']).default('local'),
  /** The directory of local storage; default `<EMBEDDED_DATA_DIR>/files`. */
  FILES_LOCAL_DIR: z.string().optional(),
  /** The port of local storage's blob listener (/blobs/ only): the one clients reach, unlike /graphql. */
  FILES_BLOB_PORT: portSchema.default(4006),
  /** The blob listener's interface; default HOST. Bind /graphql (HOST) to an internal one, this to a public one. */
  FILES_BLOB_HOST: z.string().optional(),
  /** Where clients reach the blob listener (local storage's signed URLs point there); default its own address. */
  FILES_PUBLIC_URL: z.url().optional(),
  /** Signs local storage URLs (32+ characters). Unset outside production: a published development value. */
  FILES_SIGNING_SECRET: z.string().min(32).optional(),
  /** Browser origins allowed to PUT and GET local storage URLs (uploads from the web app). */
  FILES_CORS_ORIGINS: originList.default(['http://localhost:3000', 'http://127.0.0.1:3000']),

  S3_BUCKET: z.string().min(3).optional(),
  /** An S3-compatible endpoint (MinIO); unset for AWS. */
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Path-style URLs (`endpoint/bucket/key`), as MinIO needs. */
  S3_FORCE_PATH_STYLE: booleanFromString.default(false),

  /** Largest file of any type. */
  MAX_FILE_BYTES: positiveIntSchema.max(2_000 * MiB).default(100 * MiB),
  /** Largest image (png, jpeg, gif, webp): it is decoded for its thumbnail. */
  MAX_IMAGE_BYTES: positiveIntSchema.max(25 * MiB).default(25 * MiB),
  /** Bytes one user's files may take (finished ones, and uploads under way). */
  FILES_QUOTA_BYTES: positiveIntSchema.default(1024 * MiB),
  /** How long an upload URL is valid; an upload not completed by then is given up and deleted. */
  UPLOAD_URL_TTL_SECONDS: positiveIntSchema.max(24 * 3600).default(900),
  /** How long a download (or thumbnail) URL is valid. */
  DOWNLOAD_URL_TTL_SECONDS: positiveIntSchema.max(7 * 24 * 3600).default(300),
  /** A file no message carries any more (its messages were deleted) is deleted this long after. */
  RELEASED_FILE_GRACE_SECONDS: positiveIntSchema.default(24 * 3600),
  /** How often given-up uploads and released files are looked for. */
  FILES_CLEANUP_INTERVAL_MS: positiveIntSchema.default(60_000),
});

export type FilesEnv = z.output<typeof filesEnvSchema>;

/**
 * Known only to this file's readers: refused in production, where FILES_SIGNING_SECRET must be set (as
 * SERVICE_TOKEN_SECRET and the signing keys must).
 */
export const DEVELOPMENT_FILES_SIGNING_SECRET = 'parley-development-files-signing-secret-not-for-production';

export function readFilesEnv(source: NodeJS.ProcessEnv = process.env): FilesEnv {
  const env = parseEnv(filesEnvSchema, source);
  const problems: string[] = [];
  if (env.NODE_ENV === 'production' && env.FILES_STORAGE === 'local' && !env.FILES_SIGNING_SECRET) {
    problems.push('FILES_SIGNING_SECRET: required in production with local storage (32+ characters)');
  }
  if (env.FILES_STORAGE === 's3' && !env.S3_BUCKET) {
    problems.push('S3_BUCKET: required when FILES_STORAGE=s3');
  }
  if (problems.length > 0) throw new EnvError(problems);
  return env;
}
