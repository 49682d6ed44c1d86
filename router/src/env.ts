import {
  booleanFromString,
  commonEnvShape,
  httpServiceEnvShape,
  parseEnv,
  positiveIntSchema,
  redisEnvShape,
  tokenVerificationEnvShape,
} from '@parley/kit';
import { subgraphs } from '@parley/schema';
import { z } from 'zod';

const origins = z
  .string()
  .transform((list) =>
    list
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url()));

/** `SUBGRAPH_USERS_URL` and so on: where each subgraph runs, when not where the supergraph says. */
export const subgraphUrlVariable = (name: string) => `SUBGRAPH_${name.toUpperCase()}_URL`;

export const routerEnvSchema = z.object({
  ...commonEnvShape,
  ...httpServiceEnvShape(4000, 9400),
  ...redisEnvShape,
  ...tokenVerificationEnvShape,
  ...Object.fromEntries(subgraphs.map(({ name }) => [subgraphUrlVariable(name), z.url().optional()])),
  /** The composed supergraph to serve; the committed schema/supergraph.graphql by default. */
  SUPERGRAPH_PATH: z.string().optional(),
  /** Browser origins allowed to call the graph (comma-separated); none by default. */
  CORS_ORIGINS: origins.default([]),
  /** Trusted-document manifests, one `<client-name>.json` per client (Apollo or graphql-codegen format). */
  PERSISTED_DOCUMENTS_DIR: z.string().optional(),
  /** Only registered operations, per client; defaults to on in production. */
  PERSISTED_ONLY: booleanFromString.optional(),
  APQ_TTL_SECONDS: positiveIntSchema.default(24 * 3600),
  RATE_LIMIT_WINDOW_SECONDS: positiveIntSchema.default(60),
  /** GraphQL requests per window for one signed-in user, over all their devices. */
  RATE_LIMIT_PER_USER: positiveIntSchema.default(600),
  /** GraphQL requests per window from one address (IPv6: one /64), signed in or not. */
  RATE_LIMIT_PER_IP: positiveIntSchema.default(1_200),
  MAX_DEPTH: positiveIntSchema.default(12),
  MAX_ALIASES: positiveIntSchema.default(30),
  MAX_TOKENS: positiveIntSchema.default(4_000),
  MAX_COST: positiveIntSchema.default(5_000),
  QUERY_PLAN_CACHE_SIZE: positiveIntSchema.default(2_000),
  SUBGRAPH_TIMEOUT_MS: positiveIntSchema.default(10_000),
  /** graphql-ws connections one user may hold open on one router (more close with 4429). */
  WS_MAX_CONNECTIONS_PER_USER: positiveIntSchema.default(20),
  /** graphql-ws connections one client address may hold open on one router (more are refused, 429). */
  WS_MAX_CONNECTIONS_PER_IP: positiveIntSchema.default(500),
  /** Subscriptions one graphql-ws connection may hold open. */
  WS_MAX_SUBSCRIPTIONS: positiveIntSchema.default(25),
  /** Larger graphql-ws messages close the socket (1009). */
  WS_MAX_MESSAGE_BYTES: positiveIntSchema.default(64 * 1024),
  /** Messages one socket may send per minute before it is closed (4429). */
  WS_RATE_LIMIT_PER_MINUTE: positiveIntSchema.default(600),
  /** Seconds between keep-alive pings; a socket that misses a pong is closed. */
  WS_KEEPALIVE_SECONDS: positiveIntSchema.default(12),
  /**
   * Seconds between each socket's own session checks (revocations also arrive as events, at once), and the
   * longest a socket goes without reading the clock again for its token's expiry.
   */
  WS_SESSION_CHECK_SECONDS: positiveIntSchema.default(60),
  /**
   * Events kept for one subscriber while it replays after its cursor, or waiting behind a result worked out
   * for it alone, before they are dropped for a StreamResync (LAGGING).
   */
  WS_MAX_QUEUED_EVENTS: positiveIntSchema.default(1_000),
  /**
   * Bytes waiting to go out on one slow socket before its subscriptions drop results for a StreamResync
   * (LAGGING), sent once at most half of that waits.
   */
  WS_MAX_BUFFERED_BYTES: positiveIntSchema.default(1024 * 1024),
  /** Schema introspection; off in production unless set. */
  INTROSPECTION: booleanFromString.optional(),
});

export type RouterEnv = z.output<typeof routerEnvSchema> & Record<string, unknown>;

export function readRouterEnv(source: NodeJS.ProcessEnv = process.env): RouterEnv {
  return parseEnv(routerEnvSchema, source) as RouterEnv;
}

/** Each subgraph's URL: its `SUBGRAPH_<NAME>_URL`, else the one in the supergraph. */
export function subgraphUrlsFromEnv(env: RouterEnv): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const { name } of subgraphs) {
    const url = env[subgraphUrlVariable(name)];
    if (typeof url === 'string') urls[name] = url;
  }
  return urls;
}
