import type { BaseContext, Caller, RealtimeLog, ServiceAuth } from '@parley/kit';
import type { UserRelationsClient } from '@parley/users/client';
import DataLoader from 'dataloader';
import type { ConversationService } from './conversation-service.js';
import type {
  ConversationStore,
  ConversationView,
  Member,
  MemberMarkers,
} from './data/conversation-store.js';
import type { OutboxRelay } from './data/outbox.js';

export interface ConversationsServices {
  conversations: ConversationStore;
  service: ConversationService;
  relay: OutboxRelay;
  log: RealtimeLog;
  /** Verifies the service tokens of service-only fields. */
  serviceAuth: ServiceAuth;
  config: { listCursorTtlSeconds: number; receiptsMaxMembers: number };
}

export interface ConversationsContext extends BaseContext, ConversationsServices {
  /** The caller's Authorization header, passed on when asking the users service on their behalf. */
  authorization: string;
  loaders: ConversationsLoaders;
}

/** Per-request batching: a page of conversations costs one query per field, not one per conversation. */
export function createLoaders(
  conversations: ConversationStore,
  viewerId: string | null,
  users: UserRelationsClient,
  caller: Caller,
) {
  return {
    /**
     * Whether the viewer and the user are in a block relation (either blocked the other): such a member's
     * receipts are not shown to the viewer. One call to users for every id a request asks about.
     */
    blockedWithViewer: new DataLoader<string, boolean>(
      async (userIds) => {
        const relations = await users(userIds, caller);
        return userIds.map((userId) => {
          const relation = relations.get(userId);
          return relation !== undefined && (relation.blockedByViewer || relation.hasBlockedViewer);
        });
      },
      // The users subgraph answers at most 1000 ids a call.
      { maxBatchSize: 1000 },
    ),
    /** The conversation as the viewer sees it; null when the viewer is not a member (or it does not exist). */
    view: new DataLoader<string, ConversationView | null>(async (ids) => {
      if (!viewerId) return ids.map(() => null);
      const views = await conversations.viewsForMember(viewerId, ids);
      return ids.map((id) => views.get(id) ?? null);
    }),
    /** Every member's read and delivery markers (receipts); only read for conversations the viewer is in. */
    markers: new DataLoader<string, MemberMarkers[]>(async (ids) => {
      const markers = await conversations.markers(ids);
      return ids.map((id) => markers.get(id) ?? []);
    }),
    /** The first page of a conversation's members (`limit` of them, and one more to tell if there are more). */
    firstMembers: new DataLoader<{ conversationId: string; limit: number }, Member[], string>(
      async (keys) => {
        const limits = [...new Set(keys.map((key) => key.limit))];
        const pages = new Map<number, Map<string, Member[]>>();
        for (const limit of limits) {
          const ids = keys.filter((key) => key.limit === limit).map((key) => key.conversationId);
          pages.set(limit, await conversations.firstMembersOf(ids, limit));
        }
        return keys.map((key) => pages.get(key.limit)?.get(key.conversationId) ?? []);
      },
      { cacheKeyFn: (key) => `${key.conversationId}:${key.limit}` },
    ),
    /** The other member of a direct conversation. */
    peer: new DataLoader<string, string | null>(async (ids) => {
      if (!viewerId) return ids.map(() => null);
      const peers = await conversations.peersOf(viewerId, ids);
      return ids.map((id) => peers.get(id) ?? null);
    }),
  };
}

export type ConversationsLoaders = ReturnType<typeof createLoaders>;
