import { requireViewer, type BaseContext } from '@parley/kit';
import DataLoader from 'dataloader';
import type { Actor, Presence, PresenceService } from './presence-service.js';

export interface PresenceContext extends BaseContext {
  service: PresenceService;
  /** The caller's Authorization header, passed on when asking other services on their behalf. */
  authorization: string;
  loaders: PresenceLoaders;
}

/** The signed-in caller (UNAUTHENTICATED without a viewer). */
export function actorOf(context: PresenceContext): Actor {
  return {
    viewer: requireViewer(context),
    caller: { authorization: context.authorization, requestId: context.requestId },
  };
}

/**
 * Per-request batching: every `User.presence` of one request (a page of 100 members) is answered together,
 * one Redis command and one relations check for all of them; so is every `Conversation.typingUsers`.
 */
export function createLoaders(service: PresenceService, actor: Actor | null) {
  return {
    presence: new DataLoader<string, Presence | null>(
      async (userIds) => {
        if (!actor) return userIds.map(() => null);
        const found = await service.presenceOf(actor, userIds);
        return userIds.map((id) => found.get(id) ?? null);
      },
      // The most users the users and conversations subgraphs answer about at once.
      { maxBatchSize: 1000 },
    ),
    /** `Conversation.typingUsers` of a page of conversations, together. */
    typingUsers: new DataLoader<string, string[]>(
      async (conversationIds) =>
        actor ? service.typingUsers(actor, conversationIds) : conversationIds.map(() => []),
      { maxBatchSize: 1000 },
    ),
  };
}

export type PresenceLoaders = ReturnType<typeof createLoaders>;
