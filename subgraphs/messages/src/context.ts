import { isUuid, requireViewer, type BaseContext } from '@parley/kit';
import {
  createMembershipReader,
  type Membership,
  type MembershipProjection,
  type MembershipReader,
} from '@parley/membership';
import DataLoader from 'dataloader';
import type { MessageRecord, MessageStore, ReactionGroup } from './data/message-store.js';
import type { Actor, MessageService } from './message-service.js';
import type { ConversationsClient } from './conversations-client.js';

export interface MessagesServices {
  messages: MessageStore;
  service: MessageService;
  projection: MembershipProjection;
  conversationsClient: ConversationsClient;
}

export interface MessagesContext extends BaseContext, MessagesServices {
  /** The caller's Authorization header, passed on when asking other services on their behalf. */
  authorization: string;
  /** The viewer's memberships, repaired through the conversations service when the projection lost one. */
  membership: MembershipReader;
  loaders: MessagesLoaders;
}

/** The membership reader for one request: repairs run with the caller's own token. */
export function createRequestMembership(
  services: MessagesServices,
  caller: { authorization: string; requestId: string },
): MembershipReader {
  return createMembershipReader({
    projection: services.projection,
    repair: (conversationIds) =>
      services.conversationsClient.syncMembershipProjection(conversationIds, caller),
  });
}

/** Per-request batching: a page of messages costs one query per field, not one per message. */
export function createLoaders(messages: MessageStore, membership: MembershipReader, viewerId: string | null) {
  const memberships = new DataLoader<string, Membership | null>(async (conversationIds) => {
    const ids = conversationIds.filter(isUuid);
    const found = viewerId ? await membership.membershipsOf(viewerId, ids) : [];
    const byId = new Map(ids.map((id, index) => [id, found[index] ?? null]));
    return conversationIds.map((id) => byId.get(id) ?? null);
  });
  const latestReplies = new Map<number, DataLoader<string, MessageRecord[]>>();
  return {
    /** The viewer's membership of each conversation; null when not a member (or unknown). */
    memberships,
    /** A message the viewer can see (a member of its conversation), or null. */
    message: new DataLoader<string, MessageRecord | null>(async (ids) => {
      const found = new Map(
        (await messages.byIds(ids.filter(isUuid))).map((message) => [message.id, message]),
      );
      return Promise.all(
        ids.map(async (id) => {
          const message = found.get(id);
          return message && (await memberships.load(message.conversationId)) ? message : null;
        }),
      );
    }),
    reactions: new DataLoader<string, ReactionGroup[]>(async (ids) => {
      if (!viewerId) return ids.map(() => []);
      const groups = await messages.reactionGroups(ids, viewerId);
      return ids.map((id) => groups.get(id) ?? []);
    }),
    /** The newest `count` replies of each thread root. */
    latestReplies(count: number) {
      let loader = latestReplies.get(count);
      if (!loader) {
        loader = new DataLoader<string, MessageRecord[]>(async (ids) => {
          const replies = await messages.latestReplies(ids, count);
          return ids.map((id) => replies.get(id) ?? []);
        });
        latestReplies.set(count, loader);
      }
      return loader;
    },
  };
}

export type MessagesLoaders = ReturnType<typeof createLoaders>;

/** The signed-in caller as the rules see them (UNAUTHENTICATED without a viewer). */
export function actorOf(context: MessagesContext): Actor {
  return {
    viewer: requireViewer(context),
    membership: context.membership,
    authorization: context.authorization,
    requestId: context.requestId,
    logger: context.logger,
  };
}
