import { expect } from 'vitest';
import type { SignedInUser } from '@parley/testkit';

/** The conversation fields the tests read, through the router. */
export const CONVERSATION_FIELDS = `id kind title description avatarFileId memberCount lastSeq viewerRole lastReadSeq
  unreadCount mentionCount isMuted isArchived isPinned mutedUntil lastActivityAt`;

export const CREATE_DM = `mutation ($userId: ID!) { createDirectConversation(userId: $userId) { ${CONVERSATION_FIELDS} } }`;
export const CREATE_GROUP = `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { ${CONVERSATION_FIELDS} } }`;
export const CONVERSATION = `query ($id: ID!) { conversation(id: $id) { ${CONVERSATION_FIELDS} } }`;
export const MY_CONVERSATIONS = `query ($first: Int, $after: String, $filter: ConversationFilter) {
  me { conversations(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id unreadCount mentionCount lastSeq lastReadSeq } }
    pageInfo { hasNextPage endCursor }
  } }
}`;

export interface ConversationFields {
  id: string;
  kind: 'DIRECT' | 'GROUP';
  title: string | null;
  memberCount: number;
  lastSeq: number;
  viewerRole: 'OWNER' | 'ADMIN' | 'MEMBER';
  lastReadSeq: number;
  unreadCount: number;
  mentionCount: number;
  isMuted: boolean;
  isArchived: boolean;
  isPinned: boolean;
  mutedUntil: string | null;
  lastActivityAt: string;
}

/** Runs an operation that must succeed and returns its data. */
export async function ok<T = Record<string, unknown>>(
  user: SignedInUser,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const response = await user.client.request<T>(query, variables);
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!;
}

export async function createDm(user: SignedInUser, other: SignedInUser): Promise<ConversationFields> {
  return (await ok<{ createDirectConversation: ConversationFields }>(user, CREATE_DM, { userId: other.id }))
    .createDirectConversation;
}

export async function createGroup(
  owner: SignedInUser,
  members: SignedInUser[],
  title = 'Group',
): Promise<ConversationFields> {
  const input = { title, memberIds: members.map((member) => member.id) };
  return (await ok<{ createGroup: ConversationFields }>(owner, CREATE_GROUP, { input })).createGroup;
}
