import { createSubgraphCall } from '@parley/kit';
import { z } from 'zod';
import type { SubscribeRequest } from './engine.js';
import type { EventValue } from './event-types.js';

/** The presence and typing of now, as events, for a subscriber resuming after `cursor`. */
export type LiveState = (
  request: Pick<SubscribeRequest, 'conversationId' | 'caller'>,
  cursor: string,
) => Promise<EventValue[]>;

const liveStateOf = z.object({
  liveStateOf: z.object({
    typing: z.array(z.object({ conversationId: z.string(), userId: z.string(), expiresAt: z.string() })),
    present: z.array(z.object({ userId: z.string(), status: z.enum(['ONLINE', 'AWAY', 'OFFLINE']) })),
  }),
});

/**
 * The presence subgraph's `liveStateOf`, asked directly with the subscriber's own token (so by its rules:
 * membership, blocks, who may see whom), turned into the events that would have said it: a TypingChanged
 * (typing, with its end) per running indicator and a PresenceChanged per user online or away, at the
 * cursor the replay reached.
 */
export function createLiveState(options: { url: string; timeoutMs: number }): LiveState {
  const call = createSubgraphCall({ service: 'presence', ...options });
  return async ({ conversationId, caller }, cursor) => {
    const { liveStateOf: state } = await call(
      `query LiveStateOf($conversationId: ID) {
        liveStateOf(conversationId: $conversationId) {
          typing { conversationId userId expiresAt }
          present { userId status }
        }
      }`,
      { conversationId },
      caller,
      liveStateOf,
    );
    return [
      ...state.typing.map((entry) => ({
        __typename: 'TypingChanged',
        cursor,
        conversationId: entry.conversationId,
        user: { entity: 'User' as const, id: entry.userId },
        typing: true,
        expiresAt: entry.expiresAt,
      })),
      ...state.present.map((entry) => ({
        __typename: 'PresenceChanged',
        cursor,
        conversationId: null,
        user: { entity: 'User' as const, id: entry.userId },
        presence: { status: entry.status, lastSeenAt: null },
      })),
    ];
  };
}
