import { expect } from 'vitest';
import type { SignedInUser, TypedDocumentString, VariablesArgs } from '@parley/testkit';
import { graphql } from '../generated/index.js';
import type { ConversationFieldsFragment } from '../generated/graphql.js';

/**
 * The conversation fields the tests read, through the router. Codegen reads this fragment from here; each
 * document that spreads it carries its text, so nothing needs its value.
 */
graphql(`
  fragment ConversationFields on Conversation {
    id
    kind
    title
    description
    avatarFileId
    memberCount
    lastSeq
    viewerRole
    lastReadSeq
    unreadCount
    mentionCount
    isMuted
    isArchived
    isPinned
    mutedUntil
    lastActivityAt
  }
`);

export const CREATE_DM = graphql(`
  mutation CreateDm($userId: ID!) {
    createDirectConversation(userId: $userId) {
      ...ConversationFields
    }
  }
`);
export const CREATE_GROUP = graphql(`
  mutation CreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) {
      ...ConversationFields
    }
  }
`);
export const CONVERSATION = graphql(`
  query Conversation($id: ID!) {
    conversation(id: $id) {
      ...ConversationFields
    }
  }
`);
export const MY_CONVERSATIONS = graphql(`
  query MyConversations($first: Int, $after: String, $filter: ConversationFilter) {
    me {
      conversations(first: $first, after: $after, filter: $filter) {
        edges {
          cursor
          node {
            id
            unreadCount
            mentionCount
            lastSeq
            lastReadSeq
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

/** The result of the fragment above (the name the tests know it by). */
export type ConversationFields = ConversationFieldsFragment;

/**
 * Runs an operation that must succeed and returns its data: typed by the document when it is a generated
 * one, by T for a plain string.
 */
export async function ok<TResult, TVariables>(
  user: SignedInUser,
  query: TypedDocumentString<TResult, TVariables>,
  ...variables: VariablesArgs<TVariables>
): Promise<TResult>;
export async function ok<T = Record<string, unknown>>(
  user: SignedInUser,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T>;
export async function ok(
  user: SignedInUser,
  query: string | TypedDocumentString<unknown, never>,
  variables?: Record<string, unknown>,
): Promise<unknown> {
  const response = await user.client.request<unknown>(String(query), variables);
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!;
}

export async function createDm(user: SignedInUser, other: SignedInUser): Promise<ConversationFields> {
  return (await ok(user, CREATE_DM, { userId: other.id })).createDirectConversation;
}

export async function createGroup(
  owner: SignedInUser,
  members: SignedInUser[],
  title = 'Group',
): Promise<ConversationFields> {
  const input = { title, memberIds: members.map((member) => member.id) };
  return (await ok(owner, CREATE_GROUP, { input })).createGroup;
}
