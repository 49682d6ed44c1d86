import { randomUUID } from 'node:crypto';
import type { SignedInUser } from '@parley/testkit';
import { ok } from '../conversations/operations.js';
import { graphql } from '../generated/index.js';
import type { HistoryQuery, MessageFieldsFragment } from '../generated/graphql.js';

/**
 * The message fields the tests read, through the router. Codegen reads this fragment from here; each
 * document that spreads it carries its text, so nothing needs its value.
 */
graphql(`
  fragment MessageFields on Message {
    id
    seq
    body
    clientMutationId
    createdAt
    editedAt
    deletedAt
    replyCount
    conversation {
      id
    }
    sender {
      id
      username
    }
    replyTo {
      id
    }
    threadRoot {
      id
    }
    attachments {
      id
    }
    mentions {
      id
    }
    reactions {
      emoji
      count
      viewerReacted
    }
  }
`);

export const SEND = graphql(`
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...MessageFields
    }
  }
`);
export const MESSAGE = graphql(`
  query Message($id: ID!) {
    message(id: $id) {
      ...MessageFields
    }
  }
`);
export const EDIT = graphql(`
  mutation Edit($input: EditMessageInput!) {
    editMessage(input: $input) {
      ...MessageFields
    }
  }
`);
export const DELETE = graphql(`
  mutation Delete($id: ID!) {
    deleteMessage(id: $id) {
      ...MessageFields
    }
  }
`);
/** What a reaction's answer carries: the message's reactions after it. */
graphql(`
  fragment MessageReactions on Message {
    id
    reactions {
      emoji
      count
      viewerReacted
    }
  }
`);
export const ADD_REACTION = graphql(`
  mutation AddReaction($id: ID!, $emoji: String!) {
    addReaction(messageId: $id, emoji: $emoji) {
      ...MessageReactions
    }
  }
`);
export const REMOVE_REACTION = graphql(`
  mutation RemoveReaction($id: ID!, $emoji: String!) {
    removeReaction(messageId: $id, emoji: $emoji) {
      ...MessageReactions
    }
  }
`);
export const HISTORY = graphql(`
  query History($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    conversation(id: $id) {
      messages(first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            id
            seq
            body
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  }
`);
export const SEARCH = graphql(`
  query Search($query: String!, $conversationId: ID, $first: Int, $after: String) {
    searchMessages(query: $query, conversationId: $conversationId, first: $first, after: $after) {
      edges {
        cursor
        rank
        node {
          id
          body
          conversation {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** The result of the fragment above (the name the tests know it by). */
export type MessageFields = MessageFieldsFragment;

/** A page of HISTORY. */
export type HistoryPage = HistoryQuery['conversation']['messages'];

export interface SendOptions {
  clientMutationId?: string;
  replyToId?: string;
  mentions?: string[];
  attachmentIds?: string[];
}

export async function send(
  user: SignedInUser,
  conversationId: string,
  body: string,
  options: SendOptions = {},
): Promise<MessageFields> {
  const input = { conversationId, body, clientMutationId: randomUUID(), ...options };
  return (await ok(user, SEND, { input })).sendMessage;
}

export async function history(
  user: SignedInUser,
  conversationId: string,
  page: { first?: number; after?: string | null; last?: number; before?: string | null },
): Promise<HistoryPage> {
  const data = await ok(user, HISTORY, { id: conversationId, ...page });
  return data.conversation.messages;
}
