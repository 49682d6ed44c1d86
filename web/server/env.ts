import { commonEnvShape, parseEnv, portSchema } from '@parley/kit';
import { z } from 'zod';

export const webEnvSchema = z.object({
  NODE_ENV: commonEnvShape.NODE_ENV,
  LOG_LEVEL: commonEnvShape.LOG_LEVEL,
  HOST: z.string().default('127.0.0.1'),
  PORT: portSchema.default(3000),
  /** The router's GraphQL endpoint as browsers reach it. */
  PARLEY_GRAPHQL_URL: z.url().default('http://127.0.0.1:4000/graphql'),
  /** The same endpoint for graphql-ws; derived from PARLEY_GRAPHQL_URL when unset. */
  PARLEY_WS_URL: z.url({ protocol: /^wss?$/ }).optional(),
});

export type WebEnv = z.output<typeof webEnvSchema>;

export function readWebEnv(source: NodeJS.ProcessEnv = process.env): WebEnv {
  return parseEnv(webEnvSchema, source);
}
