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
  /** Take the client address from X-Forwarded-For (set when the service sits behind the router or a proxy). */
  TRUST_PROXY: booleanFromString.default(false),
};
