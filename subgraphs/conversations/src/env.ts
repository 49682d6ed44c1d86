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

export const conversationsEnvSchema = z.object({
  ...commonEnvShape,
  ...httpServiceEnvShape(4002, 9402),
  ...databaseEnvShape,
  ...redisEnvShape,
  ...tokenVerificationEnvShape,
  ...serviceAuthEnvShape,
  /** The users subgraph, asked whether users exist and who blocked whom (with the caller's token). */
  USERS_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  USERS_TIMEOUT_MS: positiveIntSchema.default(5_000),
  /** Members a group may have, owner included. */
  MAX_GROUP_MEMBERS: positiveIntSchema.max(100_000).default(1_000),
  /** How long a `me.conversations` cursor keeps its first page's order; older cursors are refused. */
  LIST_CURSOR_TTL_SECONDS: positiveIntSchema.default(3_600),
  /** Groups up to this size list who read and received each message (Message.readBy); larger ones count. */
  RECEIPTS_MAX_MEMBERS: positiveIntSchema.max(100_000).default(100),
});

export type ConversationsEnv = z.output<typeof conversationsEnvSchema>;

export function readConversationsEnv(source: NodeJS.ProcessEnv = process.env): ConversationsEnv {
  return parseEnv(conversationsEnvSchema, source);
}
