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

export const messagesEnvSchema = z.object({
  ...commonEnvShape,
  ...httpServiceEnvShape(4003, 9403),
  ...databaseEnvShape,
  ...redisEnvShape,
  ...tokenVerificationEnvShape,
  // Accepted as every subgraph's deployment gives it; no field of messages takes service tokens now.
  ...serviceAuthEnvShape,
  /** Asked who blocked whom in direct conversations (with the sender's token). */
  USERS_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  /** Asked to rebuild lost membership entries and for the viewer's conversations (search). */
  CONVERSATIONS_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4002/graphql'),
  /** Told (with the sender's token) which files a message is about to carry; answers which the sender may attach. */
  FILES_SUBGRAPH_URL: z.url().default('http://127.0.0.1:4005/graphql'),
  SUBGRAPH_TIMEOUT_MS: positiveIntSchema.default(5_000),
  /** Characters (code points) in a message body. */
  MAX_BODY_CHARS: positiveIntSchema.max(100_000).default(4_000),
  MAX_ATTACHMENTS: positiveIntSchema.max(100).default(10),
  MAX_MENTIONS: positiveIntSchema.max(1_000).default(50),
  /** Different emoji on one message. */
  MAX_REACTION_EMOJI: positiveIntSchema.max(1_000).default(20),
  /** Reactions of one member on one message. */
  MAX_REACTIONS_PER_USER: positiveIntSchema.max(1_000).default(10),
});

export type MessagesEnv = z.output<typeof messagesEnvSchema>;

export function readMessagesEnv(source: NodeJS.ProcessEnv = process.env): MessagesEnv {
  return parseEnv(messagesEnvSchema, source);
}
