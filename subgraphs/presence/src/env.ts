import {
  commonEnvShape,
  databaseEnvShape,
  httpServiceEnvShape,
  parseEnv,
  positiveIntSchema,
  redisEnvShape,
  serviceAuthEnvShape,
  tokenVerificationEnvShape,
} from '@parley/kit';
import { z } from 'zod';

export const presenceEnvSchema = z.object({
  ...commonEnvShape,
  ...httpServiceEnvShape(4004, 9404),
  ...databaseEnvShape,
  ...redisEnvShape,
  ...tokenVerificationEnvShape,
  ...serviceAuthEnvShape,
  /** Asked (with the viewer's token) about contacts and blocks, and (as a service) who may see a user. */
  USERS_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  /** Asked about shared conversations, and to rebuild lost membership entries (typing). */
  CONVERSATIONS_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4002/graphql'),
  SUBGRAPH_TIMEOUT_MS: positiveIntSchema.default(5_000),
  /**
   * A device (a heartbeat's session) stays online this long after its last heartbeat. Not router sockets:
   * they live SOCKET_DEVICE_TTL_MS (events.ts), which the router's refreshes are timed by.
   */
  PRESENCE_DEVICE_TTL_SECONDS: positiveIntSchema.max(3_600).default(60),
  /** Online without activity this long: AWAY. */
  PRESENCE_AWAY_AFTER_SECONDS: positiveIntSchema.max(86_400).default(300),
  /** A status change is published once it held this long: a flapping connection makes one event. */
  PRESENCE_SETTLE_MS: positiveIntSchema.max(60_000).default(1_000),
  /** A typing indicator ends this long after its last startTyping. */
  TYPING_TTL_SECONDS: positiveIntSchema.max(60).default(6),
  /** How often expired devices, AWAY users, ended typing and settled changes are looked for. */
  PRESENCE_SWEEP_INTERVAL_MS: positiveIntSchema.max(60_000).default(250),
});

export type PresenceEnv = z.output<typeof presenceEnvSchema>;

export function readPresenceEnv(source: NodeJS.ProcessEnv = process.env): PresenceEnv {
  return parseEnv(presenceEnvSchema, source);
}
