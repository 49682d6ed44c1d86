import { randomUUID } from 'node:crypto';
import type { SignedInUser } from '@parley/testkit';
import { ok } from '../conversations/operations.js';

/** The message fields the tests read, through the router. */
export const MESSAGE_FIELDS = `id seq body clientMutationId createdAt editedAt deletedAt replyCount
  conversation { id } sender { id username } replyTo { id } threadRoot { id }
  attachments { id } mentions { id } reactions { emoji count viewerReacted }`;

export const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { ${MESSAGE_FIELDS} } }`;
export const MESSAGE = `query ($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
export const EDIT = `mutation ($input: EditMessageInput!) { editMessage(input: $input) { ${MESSAGE_FIELDS} } }`;
export const DELETE = `mutation ($id: ID!) { deleteMessage(id: $id) { ${MESSAGE_FIELDS} } }`;
export const ADD_REACTION = `mutation ($id: ID!, $emoji: String!) {
  addReaction(messageId: $id, emoji: $emoji) { id reactions { emoji count viewerReacted } }
}`;
export const REMOVE_REACTION = `mutation ($id: ID!, $emoji: String!) {
  removeReaction(messageId: $id, emoji: $emoji) { id reactions { emoji count viewerReacted } }
}`;
export const HISTORY = `query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  conversation(id: $id) { messages(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id seq body } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }
}`;
export const SEARCH = `query ($query: String!, $conversationId: ID, $first: Int, $after: String) {
  searchMessages(query: $query, conversationId: $conversationId, first: $first, after: $after) {
    edges { cursor rank node { id body conversation { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export interface MessageFields {
  id: string;
  seq: number;
  body: string | null;
  clientMutationId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  replyCount: number;
  conversation: { id: string };
  sender: { id: string; username: string };
  replyTo: { id: string } | null;
  threadRoot: { id: string } | null;
  attachments: { id: string }[];
  mentions: { id: string }[];
  reactions: { emoji: string; count: number; viewerReacted: boolean }[];
}

export interface HistoryPage {
  edges: { cursor: string; node: { id: string; seq: number; body: string | null } }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

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
  return (await ok<{ sendMessage: MessageFields }>(user, SEND, { input })).sendMessage;
}

export async function history(
  user: SignedInUser,
  conversationId: string,
  page: { first?: number; after?: string | null; last?: number; before?: string | null },
): Promise<HistoryPage> {
  const data = await ok<{ conversation: { messages: HistoryPage } }>(user, HISTORY, {
    id: conversationId,
    ...page,
  });
  return data.conversation.messages;
}
