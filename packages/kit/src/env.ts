import { z } from 'zod';

/** Thrown when the environment does not match a deployable's schema; lists every problem at once. */
export class EnvError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid environment:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

/**
 * Parses `source` (process.env by default) once with a zod schema. Empty strings count as unset so that
 * `FOO=` in an .env file falls back to the default instead of failing validation.
 */
export function parseEnv<T extends z.ZodType>(
  schema: T,
  source: NodeJS.ProcessEnv = process.env,
): z.output<T> {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new EnvError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return result.data;
}

/** `"true"`/`"1"` → true, `"false"`/`"0"` → false; anything else is an error (zod's coerce treats "false" as true). */
export const booleanFromString = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

export const portSchema = z.coerce.number().int().min(0).max(65_535);

/** Variables every Parley deployable understands. */
export const commonEnvShape = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty`: coloured one-line logs for people; `json`: one JSON object per line. Unset: pretty on a terminal. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /** Take the client address from X-Forwarded-For (set when the service sits behind the router or a proxy). */
  TRUST_PROXY: booleanFromString.default(false),
};

/** A variable holding JSON, parsed and then validated by `schema`; bad JSON is reported like any other issue. */
export const jsonFromString = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'must be valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** A count, size or duration from the environment: a whole number above zero. */
export const positiveIntSchema = z.coerce.number().int().positive();

/**
 * What every HTTP service reads about its server: where it listens (`defaultPort` is its `npm start` port),
 * where its Prometheus metrics are served (`defaultMetricsPort`: a port of their own, for the cluster only,
 * never the graph's), its request body limit, and GraphiQL (see `subgraphHttpConfig`).
 */
export const httpServiceEnvShape = (defaultPort: number, defaultMetricsPort: number) => ({
  HOST: z.string().default('127.0.0.1'),
  PORT: portSchema.default(defaultPort),
  /** `/metrics` (Prometheus), on HOST. */
  METRICS_PORT: portSchema.default(defaultMetricsPort),
  MAX_BODY_BYTES: positiveIntSchema.default(100_000),
  GRAPHIQL: booleanFromString.optional(),
});

/** PostgreSQL: unset DATABASE_URL means the embedded PostgreSQL server (development, `npm start`). */
export const databaseEnvShape = {
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** The Postgres schema the service's tables live in, so services can share one database. */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
    .default('public'),
  DATABASE_POOL_MAX: positiveIntSchema.default(10),
  EMBEDDED_DATA_DIR: z.string().default('.data'),
};

/**
 * Prefixes of Redis keys and channels end with ":", so prefix "a" + name "bc" and prefix "ab" + name "c"
 * cannot meet.
 */
export const KEY_PREFIX = /^\S+:$/;

/** Redis: unset REDIS_URL means in-process equivalents (one process only). */
export const redisEnvShape = {
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prefix of every key and channel, so deployments (and test runs) can share one Redis. */
  REDIS_PREFIX: z.string().regex(KEY_PREFIX, 'must end with ":"').default('parley:'),
};

/** How a service verifies access tokens: the users service's JWKS URL, or its public JWKS given inline. */
export const tokenVerificationEnvShape = {
  AUTH_ISSUER: z.string().default('parley'),
  AUTH_AUDIENCE: z.string().default('parley'),
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_PUBLIC_JWKS: jsonFromString(
    z.object({ keys: z.array(z.object({ kid: z.string(), kty: z.string() }).loose()).min(1) }),
  ).optional(),
};
