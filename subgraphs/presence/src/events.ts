import { defineTopic, type PayloadInputOf } from '@parley/kit';
import { z } from 'zod';

const id = z.string().min(1).max(100);

/**
 * Topics this subgraph appends to the realtime log: the one declaration of each topic's name and payload,
 * which consumers (the router's realtime engine) import as `@parley/presence/events`.
 */
export const presenceEvents = {
  changed: defineTopic(
    'presence.changed',
    z.object({
      userId: id,
      status: z.enum(['ONLINE', 'AWAY', 'OFFLINE']),
      /** ISO time; null while not OFFLINE, when the user hides it, or never seen. */
      lastSeenAt: z.iso.datetime().nullable(),
      /** Who may see it when it happened: the user, their contacts and fellow members, minus blocks either way. */
      audience: z.array(id).max(1_000_000),
    }),
  ),
  typing: defineTopic(
    'presence.typing',
    z.object({
      conversationId: id,
      userId: id,
      typing: z.boolean(),
      /** ISO time the indicator ends unless renewed; null when it stopped. */
      expiresAt: z.iso.datetime().nullable(),
      /** Members who are not told: a block either way between them and the typing user (absent from older events). */
      excludedUserIds: z.array(id).max(100_000).default([]),
    }),
  ),
} as const;

export type PresenceChangedPayload = PayloadInputOf<typeof presenceEvents.changed>;
export type TypingPayload = PayloadInputOf<typeof presenceEvents.typing> & { excludedUserIds: string[] };
