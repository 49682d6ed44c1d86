import { cacheExchange, type Cache, type UpdatesConfig } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import type {
  ConversationSummaryFragment,
  EventsSubscription,
  MessageFieldsFragment,
  SendMessageMutation as SendMessageResult,
  SendMessageMutationVariables,
} from '../generated/graphql';
import {
  ConversationCountsFragment,
  ConversationListQuery,
  ConversationMessagesQuery,
  ConversationViewQuery,
  SettingsQuery,
  ThreadQuery,
} from './operations';

/** Messages per page of history, in the pane and in what events append to. */
export const MESSAGE_PAGE_SIZE = 30;

/** Ids of messages sent optimistically, before the graph answered: `optimistic:<clientMutationId>`. */
export const OPTIMISTIC_PREFIX = 'optimistic:';

type Event = EventsSubscription['events'];

/**
 * Puts a message at the end of its conversation's newest page of history, if that page is loaded (the
 * relay pagination resolver merges it with the older pages; a message already there is not repeated).
 * The page is read through the optimistic layers of sends still in flight; a confirmed message must not
 * carry their placeholders into the lasting cache, where nothing would remove them.
 */
function appendMessage(cache: Cache, conversationId: string, message: MessageFieldsFragment) {
  const confirmed = !message.id.startsWith(OPTIMISTIC_PREFIX);
  cache.updateQuery(
    { query: ConversationMessagesQuery, variables: { id: conversationId, last: MESSAGE_PAGE_SIZE } },
    (data) => {
      const connection = data?.conversation.messages;
      if (!connection) return data;
      if (confirmed)
        connection.edges = connection.edges.filter((edge) => !edge.node.id.startsWith(OPTIMISTIC_PREFIX));
      if (!connection.edges.some((edge) => edge.node.id === message.id)) {
        connection.edges.push({ __typename: 'MessageEdge', node: message });
      }
      return data;
    },
  );
}

/** Adds a reply to its thread, if that thread is open (loaded); the root's count comes with the event. */
function appendReply(cache: Cache, rootId: string, reply: MessageFieldsFragment) {
  cache.updateQuery({ query: ThreadQuery, variables: { id: rootId } }, (data) => {
    const replies = data?.message?.replies;
    if (!replies || replies.edges.some((edge) => edge.node.id === reply.id)) return data;
    replies.edges.push({ __typename: 'MessageEdge', node: reply });
    return data;
  });
}

/** Shows a conversation the list does not hold yet (a DM someone started, a group the viewer was added to). */
function listConversation(cache: Cache, conversation: ConversationSummaryFragment) {
  if (conversation.isArchived) return;
  cache.updateQuery({ query: ConversationListQuery, variables: { archived: false } }, (data) => {
    if (!data) return data;
    const edges = data.me.conversations.edges;
    if (edges.some((edge) => edge.node.id === conversation.id)) return data;
    edges.unshift({ __typename: 'ConversationEdge', node: conversation });
    return data;
  });
}

function unlistConversation(cache: Cache, conversationId: string) {
  for (const archived of [false, true]) {
    cache.updateQuery({ query: ConversationListQuery, variables: { archived } }, (data) => {
      if (!data) return data;
      data.me.conversations.edges = data.me.conversations.edges.filter(
        (edge) => edge.node.id !== conversationId,
      );
      return data;
    });
  }
}

/** A member's read or delivery marker moved: the pane's "seen" follows it. */
function moveMarker(
  cache: Cache,
  conversationId: string,
  userId: string | undefined,
  marker: { lastReadSeq?: number; lastDeliveredSeq?: number },
) {
  if (!userId) return;
  cache.updateQuery({ query: ConversationViewQuery, variables: { id: conversationId } }, (data) => {
    const member = data?.conversation.members.edges.find((edge) => edge.node.user.id === userId)?.node;
    if (!member) return data;
    if (marker.lastReadSeq !== undefined)
      member.lastReadSeq = Math.max(member.lastReadSeq, marker.lastReadSeq);
    if (marker.lastDeliveredSeq !== undefined) {
      member.lastDeliveredSeq = Math.max(member.lastDeliveredSeq, marker.lastDeliveredSeq);
    }
    return data;
  });
}

/**
 * The viewer's counts of a conversation move with what events say, whatever the hydrated conversation in
 * the event said: a `MessageAdded` may be hydrated before the conversations service counted the message
 * (its `lastSeq` one behind, and the pane would never mark it read), and a read on another device or tab
 * comes as the viewer's own `ReadReceipt`, with no conversation in it.
 */
function moveCounts(cache: Cache, conversationId: string, moved: { lastSeq?: number; lastReadSeq?: number }) {
  const counts = cache.readFragment(ConversationCountsFragment, {
    __typename: 'Conversation',
    id: conversationId,
  });
  if (!counts) return;
  const lastSeq = Math.max(counts.lastSeq, moved.lastSeq ?? 0);
  const lastReadSeq = Math.min(lastSeq, Math.max(counts.lastReadSeq, moved.lastReadSeq ?? 0));
  const unreadCount = Math.max(lastSeq - lastReadSeq, 0);
  cache.writeFragment(ConversationCountsFragment, {
    ...counts,
    lastSeq,
    lastReadSeq,
    unreadCount,
    // Mentions are cleared by reading up to them: all of them when nothing is left unread.
    mentionCount: unreadCount === 0 ? 0 : counts.mentionCount,
  });
}

function setTyping(
  cache: Cache,
  conversationId: string,
  user: { id: string; displayName: string },
  typing: boolean,
) {
  cache.updateQuery({ query: ConversationViewQuery, variables: { id: conversationId } }, (data) => {
    if (!data) return data;
    const others = data.conversation.typingUsers.filter((typist) => typist.id !== user.id);
    data.conversation.typingUsers = typing ? [...others, { __typename: 'User', ...user }] : others;
    return data;
  });
}

/**
 * Events were lost (the cursor expired, the log was reset, this client lagged): everything the app shows
 * is reloaded. Conversations are dropped whole so their history is not stitched across the gap.
 */
function forgetEverything(cache: Cache) {
  for (const field of cache.inspectFields('Query')) {
    const id = field.arguments?.['id'];
    if (field.fieldName === 'conversation' && typeof id === 'string') {
      cache.invalidate({ __typename: 'Conversation', id });
    }
    cache.invalidate('Query', field.fieldKey);
  }
}

function applyEvent(cache: Cache, event: Event, viewerId: string) {
  switch (event.__typename) {
    case 'MessageAdded': {
      const message = event.message;
      if (!message) return;
      appendMessage(cache, event.conversationId, message);
      if (message.threadRoot) appendReply(cache, message.threadRoot.id, message);
      listConversation(cache, message.conversation);
      // Sending reads everything before it (the server moves the sender's marker): a reply shows its
      // sender has seen what they replied to, with no receipt of its own to wait for.
      moveMarker(cache, event.conversationId, message.sender.id, {
        lastReadSeq: message.seq,
        lastDeliveredSeq: message.seq,
      });
      const mine = message.sender.id === viewerId;
      moveCounts(cache, event.conversationId, {
        lastSeq: message.seq,
        ...(mine && { lastReadSeq: message.seq }),
      });
      return;
    }
    case 'MemberAdded':
    case 'ConversationUpdated':
      if (event.conversation) listConversation(cache, event.conversation);
      return;
    case 'MemberRemoved': {
      const viewer = cache.resolve(cache.resolve('Query', 'me') as string | null, 'user');
      if (viewer === cache.keyOfEntity({ __typename: 'User', id: event.user?.id ?? '' })) {
        unlistConversation(cache, event.conversationId);
      }
      return;
    }
    case 'ConversationDeleted':
      unlistConversation(cache, event.conversationId);
      return;
    case 'ReadReceipt':
      moveMarker(cache, event.conversationId, event.user?.id, {
        lastReadSeq: event.lastReadSeq,
        lastDeliveredSeq: event.lastReadSeq,
      });
      // Read in another tab or on another device: this tab's unread count follows.
      if (event.user?.id === viewerId)
        moveCounts(cache, event.conversationId, { lastReadSeq: event.lastReadSeq });
      return;
    case 'DeliveryReceipt':
      moveMarker(cache, event.conversationId, event.user?.id, { lastDeliveredSeq: event.lastDeliveredSeq });
      return;
    case 'TypingChanged':
      if (event.user) setTyping(cache, event.conversationId, event.user, event.typing);
      return;
    case 'StreamResync':
      forgetEverything(cache);
      return;
    default:
      // Edits, deletes, reactions, presence and profiles (UserUpdated) update normalized entities by
      // themselves.
      return;
  }
}

const updatesFor = (viewer: OptimisticSender): UpdatesConfig => ({
  Subscription: {
    events: (result, _args, cache) => applyEvent(cache, (result as EventsSubscription).events, viewer.id),
  },
  Mutation: {
    sendMessage: (result, args, cache) => {
      const message = (result as SendMessageResult).sendMessage;
      const { input } = args as SendMessageMutationVariables;
      if (message) appendMessage(cache, String(input.conversationId), message);
    },
    createDirectConversation: (result, _args, cache) => {
      const conversation = (result as { createDirectConversation?: ConversationSummaryFragment })
        .createDirectConversation;
      if (conversation) listConversation(cache, conversation);
    },
    createGroup: (result, _args, cache) => {
      const conversation = (result as { createGroup?: ConversationSummaryFragment }).createGroup;
      if (conversation) listConversation(cache, conversation);
    },
    updateConversationSettings: (result, _args, cache) => {
      const conversation = (result as { updateConversationSettings?: ConversationSummaryFragment })
        .updateConversationSettings;
      if (!conversation) return;
      // Archiving moves it between the two lists.
      unlistConversation(cache, conversation.id);
      if (!conversation.isArchived) listConversation(cache, conversation);
      else cache.invalidate('Query', 'me');
    },
    revokeSession: (result, _args, cache) => {
      const session = (result as { revokeSession?: { id: string } }).revokeSession;
      if (session) cache.invalidate({ __typename: 'Session', id: session.id });
    },
    revokeOtherSessions: (_result, _args, cache) => cache.invalidate('Query', 'me'),
    // Settings have no id of their own: the viewer's copy is updated in place (at once, optimistically).
    updatePresenceSettings: (_result, args, cache) => {
      cache.updateQuery({ query: SettingsQuery }, (data) => {
        if (data) data.me.presenceSettings.hideLastSeen = Boolean(args['hideLastSeen']);
        return data;
      });
    },
  },
});

export interface OptimisticSender {
  id: string;
  username: string;
  displayName: string;
}

/**
 * The normalized cache: entities by `__typename` and `id`; history pages merged by relay pagination; a
 * sent message shown at once (optimistically, by its clientMutationId) and replaced by the graph's answer.
 */
export function createCache(viewer: OptimisticSender) {
  return cacheExchange({
    keys: {
      // Objects without an id of their own live inside their parent.
      Presence: () => null,
      PresenceSettings: () => null,
      ReactionGroup: () => null,
      PageInfo: () => null,
      ConversationMember: () => null,
    },
    resolvers: {
      Conversation: { messages: relayPagination() },
      Query: {
        conversation: (_parent, args) => ({ __typename: 'Conversation', id: args['id'] as string }),
        message: (_parent, args) => ({ __typename: 'Message', id: args['id'] as string }),
      },
    },
    updates: updatesFor(viewer),
    optimistic: {
      updatePresenceSettings: (args) => ({
        __typename: 'PresenceSettings',
        hideLastSeen: args['hideLastSeen'],
      }),
      sendMessage: (args) => {
        const { input } = args as SendMessageMutationVariables;
        return {
          __typename: 'Message',
          id: `${OPTIMISTIC_PREFIX}${input.clientMutationId}`,
          seq: 0,
          body: input.body,
          clientMutationId: input.clientMutationId,
          createdAt: new Date().toISOString(),
          editedAt: null,
          deletedAt: null,
          sender: { __typename: 'User', ...viewer },
          replyTo: null,
          replyCount: 0,
          attachments: [],
          reactions: [],
          conversation: { __typename: 'Conversation', id: input.conversationId },
        };
      },
    },
  });
}
