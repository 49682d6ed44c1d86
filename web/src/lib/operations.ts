import { graphql } from '../generated';

/**
 * Every operation the web app sends. Codegen turns each into a typed document and an entry of the
 * persisted-documents manifest (router/persisted/parley-web.json): the router runs nothing else for us.
 */

/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `UserSummaryFragment`. */
export const UserSummaryFragment = graphql(`
  fragment UserSummary on User {
    id
    username
    displayName
    avatar {
      id
      thumbnailUrl
    }
    presence {
      status
      lastSeenAt
    }
  }
`);

/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `FileFieldsFragment`. */
export const FileFieldsFragment = graphql(`
  fragment FileFields on File {
    id
    name
    size
    contentType
    status
    width
    height
    url
    thumbnailUrl
    urlExpiresAt
  }
`);

/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `MessageFieldsFragment`. */
export const MessageFieldsFragment = graphql(`
  fragment MessageFields on Message {
    id
    seq
    body
    clientMutationId
    createdAt
    editedAt
    deletedAt
    sender {
      id
      username
      displayName
    }
    replyTo {
      id
      seq
      body
      deletedAt
      sender {
        id
        displayName
      }
    }
    replyCount
    attachments {
      ...FileFields
    }
    ...MessageReactions
  }
`);

/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `MessageReactionsFragment`. */
export const MessageReactionsFragment = graphql(`
  fragment MessageReactions on Message {
    id
    reactions {
      emoji
      count
      viewerReacted
    }
  }
`);

/** What the conversation list shows of the latest message. */
/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `MessagePreviewFragment`. */
export const MessagePreviewFragment = graphql(`
  fragment MessagePreview on Message {
    id
    seq
    body
    deletedAt
    createdAt
    sender {
      id
      displayName
    }
    attachments {
      id
      name
    }
  }
`);

/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `ConversationSummaryFragment`. */
export const ConversationSummaryFragment = graphql(`
  fragment ConversationSummary on Conversation {
    id
    kind
    title
    lastActivityAt
    lastSeq
    lastReadSeq
    unreadCount
    mentionCount
    isMuted
    mutedUntil
    isArchived
    isPinned
    viewerRole
    memberCount
    peer {
      ...UserSummary
    }
    lastMessage {
      ...MessagePreview
    }
  }
`);

export const RegisterMutation = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      ...SignedIn
    }
  }
`);

export const LoginMutation = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...SignedIn
    }
  }
`);

export const RefreshSessionMutation = graphql(`
  mutation RefreshSession($input: RefreshSessionInput!) {
    refreshSession(input: $input) {
      ...SignedIn
    }
  }
`);

/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `SignedInFragment`. */
export const SignedInFragment = graphql(`
  fragment SignedIn on AuthPayload {
    accessToken
    accessTokenExpiresAt
    refreshToken
    refreshTokenExpiresAt
    user {
      id
      username
      displayName
    }
  }
`);

export const LogoutMutation = graphql(`
  mutation Logout {
    logout
  }
`);

export const ConversationListQuery = graphql(`
  query ConversationList($archived: Boolean) {
    realtimeCursor
    me {
      id
      user {
        ...UserSummary
      }
      conversations(first: 100, filter: { archived: $archived }) {
        edges {
          node {
            ...ConversationSummary
          }
        }
      }
    }
  }
`);

export const ConversationViewQuery = graphql(`
  query ConversationView($id: ID!) {
    conversation(id: $id) {
      ...ConversationSummary
      description
      members(first: 50) {
        edges {
          node {
            role
            lastReadSeq
            lastDeliveredSeq
            user {
              ...UserSummary
            }
          }
        }
      }
      typingUsers {
        id
        displayName
      }
    }
  }
`);

export const ConversationMessagesQuery = graphql(`
  query ConversationMessages($id: ID!, $last: Int!, $before: String) {
    conversation(id: $id) {
      id
      messages(last: $last, before: $before) {
        edges {
          node {
            ...MessageFields
          }
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`);

export const ThreadQuery = graphql(`
  query Thread($id: ID!) {
    message(id: $id) {
      ...MessageFields
      conversation {
        id
      }
      replies(first: 100) {
        edges {
          node {
            ...MessageFields
          }
        }
      }
    }
  }
`);

export const FileQuery = graphql(`
  query File($id: ID!) {
    file(id: $id) {
      ...FileFields
    }
  }
`);

/**
 * What the viewer's conversation list shows of a conversation's counts, moved in the cache by events
 * (a message arrived, the viewer read it on another device).
 */
/** @public a fragment codegen reads (and other documents spread); its type is generated/graphql's `ConversationCountsFragment`. */
export const ConversationCountsFragment = graphql(`
  fragment ConversationCounts on Conversation {
    id
    lastSeq
    lastReadSeq
    unreadCount
    mentionCount
  }
`);

/** A user's presence read again, when it may have become visible without changing (they took part). */
export const UserPresenceQuery = graphql(`
  query UserPresence($id: ID!) {
    user(id: $id) {
      id
      presence {
        status
        lastSeenAt
      }
    }
  }
`);

export const SearchUsersQuery = graphql(`
  query SearchUsers($query: String!) {
    searchUsers(query: $query, first: 10) {
      edges {
        node {
          ...UserSummary
        }
      }
    }
  }
`);

export const SettingsQuery = graphql(`
  query Settings {
    me {
      id
      email
      user {
        ...UserSummary
        bio
      }
      presenceSettings {
        hideLastSeen
      }
      sessions {
        id
        current
        ip
        userAgent
        createdAt
        lastUsedAt
      }
    }
  }
`);

export const SendMessageMutation = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...MessageFields
      conversation {
        id
        lastSeq
        lastReadSeq
        unreadCount
        lastActivityAt
      }
    }
  }
`);

export const EditMessageMutation = graphql(`
  mutation EditMessage($input: EditMessageInput!) {
    editMessage(input: $input) {
      ...MessageFields
    }
  }
`);

export const DeleteMessageMutation = graphql(`
  mutation DeleteMessage($id: ID!) {
    deleteMessage(id: $id) {
      ...MessageFields
    }
  }
`);

export const AddReactionMutation = graphql(`
  mutation AddReaction($messageId: ID!, $emoji: String!) {
    addReaction(messageId: $messageId, emoji: $emoji) {
      ...MessageReactions
    }
  }
`);

export const RemoveReactionMutation = graphql(`
  mutation RemoveReaction($messageId: ID!, $emoji: String!) {
    removeReaction(messageId: $messageId, emoji: $emoji) {
      ...MessageReactions
    }
  }
`);

export const MarkReadMutation = graphql(`
  mutation MarkRead($conversationId: ID!, $upToSeq: Int!) {
    markRead(conversationId: $conversationId, upToSeq: $upToSeq) {
      id
      lastReadSeq
      unreadCount
      mentionCount
    }
  }
`);

export const MarkDeliveredMutation = graphql(`
  mutation MarkDelivered($conversationId: ID!, $upToSeq: Int!) {
    markDelivered(conversationId: $conversationId, upToSeq: $upToSeq) {
      id
    }
  }
`);

export const StartTypingMutation = graphql(`
  mutation StartTyping($conversationId: ID!) {
    startTyping(conversationId: $conversationId)
  }
`);

export const StopTypingMutation = graphql(`
  mutation StopTyping($conversationId: ID!) {
    stopTyping(conversationId: $conversationId)
  }
`);

export const CreateDirectConversationMutation = graphql(`
  mutation CreateDirectConversation($userId: ID!) {
    createDirectConversation(userId: $userId) {
      ...ConversationSummary
    }
  }
`);

export const CreateGroupMutation = graphql(`
  mutation CreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) {
      ...ConversationSummary
    }
  }
`);

export const UpdateConversationSettingsMutation = graphql(`
  mutation UpdateConversationSettings($id: ID!, $input: ConversationSettingsInput!) {
    updateConversationSettings(id: $id, input: $input) {
      ...ConversationSummary
    }
  }
`);

export const CreateUploadMutation = graphql(`
  mutation CreateUpload($input: CreateUploadInput!) {
    createUpload(input: $input) {
      file {
        id
      }
      upload {
        url
        method
        headers {
          name
          value
        }
      }
    }
  }
`);

export const CompleteUploadMutation = graphql(`
  mutation CompleteUpload($fileId: ID!) {
    completeUpload(fileId: $fileId) {
      ...FileFields
    }
  }
`);

export const UpdateProfileMutation = graphql(`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      ...UserSummary
      bio
    }
  }
`);

export const UpdatePresenceSettingsMutation = graphql(`
  mutation UpdatePresenceSettings($hideLastSeen: Boolean!) {
    updatePresenceSettings(hideLastSeen: $hideLastSeen) {
      hideLastSeen
    }
  }
`);

export const RevokeSessionMutation = graphql(`
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id) {
      id
    }
  }
`);

export const RevokeOtherSessionsMutation = graphql(`
  mutation RevokeOtherSessions {
    revokeOtherSessions
  }
`);

export const EventsSubscription = graphql(`
  subscription Events($after: String) {
    events(after: $after, presence: true) {
      __typename
      cursor
      conversationId
      ... on MessageAdded {
        message {
          ...MessageFields
          conversation {
            ...ConversationSummary
          }
          # A reply: its thread's first message, with its count as of this reply (normalized in place).
          threadRoot {
            id
            replyCount
            lastReplyAt
          }
        }
      }
      ... on MessageEdited {
        message {
          ...MessageFields
        }
      }
      ... on MessageDeleted {
        message {
          ...MessageFields
          conversation {
            id
            lastMessage {
              ...MessagePreview
            }
          }
        }
      }
      ... on ReactionChanged {
        message {
          ...MessageReactions
        }
      }
      ... on ReadReceipt {
        user {
          id
        }
        lastReadSeq
      }
      ... on DeliveryReceipt {
        user {
          id
        }
        lastDeliveredSeq
      }
      ... on TypingChanged {
        user {
          id
          displayName
        }
        typing
        expiresAt
      }
      ... on PresenceChanged {
        user {
          id
          presence {
            status
            lastSeenAt
          }
        }
      }
      ... on ConversationUpdated {
        conversation {
          ...ConversationSummary
        }
      }
      ... on MemberAdded {
        user {
          id
        }
        conversation {
          ...ConversationSummary
        }
      }
      ... on MemberRemoved {
        user {
          id
        }
      }
      ... on UserUpdated {
        # The new profile, normalized into every view that shows this user (names, pictures, bios).
        user {
          id
          username
          displayName
          bio
          avatar {
            id
            thumbnailUrl
          }
        }
      }
      ... on StreamResync {
        reason
      }
    }
  }
`);
