import {
  commonEnvShape,
  EnvError,
  databaseEnvShape,
  jsonFromString,
  httpServiceEnvShape,
  parseEnv,
  positiveIntSchema,
  redisEnvShape,
  serviceAuthEnvShape,
} from '@parley/kit';
import { z } from 'zod';
import { signingKeysSchema } from './auth/keyring.js';

export const usersEnvSchema = z.object({
  ...commonEnvShape,
  ...httpServiceEnvShape(4001, 9401),
  ...databaseEnvShape,
  ...redisEnvShape,
  ...serviceAuthEnvShape,
  AUTH_ISSUER: z.string().default('parley'),
  AUTH_AUDIENCE: z.string().default('parley'),
  /** JSON array of private Ed25519 JWKs, each with a `kid`. Unset outside production: generated once and kept in EMBEDDED_DATA_DIR. */
  AUTH_SIGNING_KEYS: jsonFromString(signingKeysSchema).optional(),
  /** The `kid` that signs new tokens; the others only verify (rotation). Defaults to the first key. */
  AUTH_ACTIVE_KID: z.string().optional(),
  ACCESS_TOKEN_TTL_SECONDS: positiveIntSchema.default(900),
  REFRESH_TOKEN_TTL_SECONDS: positiveIntSchema.default(30 * 24 * 3600),
  /**
   * A rotated refresh token may be presented once more this long after its rotation, while its successor
   * is unused (a client that lost the answer); 0 turns this off. Later, or once the chain went on, it is reuse.
   */
  REFRESH_TOKEN_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /** Revoked and expired sessions are deleted this long after they ended. */
  ENDED_SESSION_RETENTION_SECONDS: positiveIntSchema.default(7 * 24 * 3600),

  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveIntSchema.default(5),
  LOGIN_MAX_FAILURES_PER_ACCOUNT_TOTAL: positiveIntSchema.default(100),

  LOGIN_MAX_FAILURES_PER_IP: positiveIntSchema.default(50),
  LOGIN_FAILURE_WINDOW_SECONDS: positiveIntSchema.default(900),
  REGISTER_MAX_PER_IP: positiveIntSchema.default(20),
  REGISTER_WINDOW_SECONDS: positiveIntSchema.default(3600),
});

export type UsersEnv = z.output<typeof usersEnvSchema>;

export function readUsersEnv(source: NodeJS.ProcessEnv = process.env): UsersEnv {
  const env = parseEnv(usersEnvSchema, source);
  if (env.NODE_ENV === 'production' && !env.AUTH_SIGNING_KEYS) {
    throw new EnvError(['AUTH_SIGNING_KEYS: required in production']);
  }
  return env;
}
