'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useQuery } from 'urql';
import type { ConversationSummaryFragment } from '../generated/graphql';
import { ConversationListQuery } from '../lib/operations';
import { Avatar, statusLabel } from './avatar';

export const conversationTitle = (
  conversation: Pick<ConversationSummaryFragment, 'kind' | 'title' | 'peer'>,
) =>
  conversation.kind === 'DIRECT'
    ? (conversation.peer?.displayName ?? 'Deleted user')
    : (conversation.title ?? 'Group');

/** Whose picture stands for the conversation: the peer's in a DM, the group's initials otherwise. */
export const conversationAvatar = (
  conversation: Pick<ConversationSummaryFragment, 'kind' | 'title' | 'peer'>,
) =>
  conversation.kind === 'DIRECT'
    ? conversation.peer
    : { displayName: conversationTitle(conversation), avatar: null, presence: null };

/** A mark beside a title: an emoji for the eye, a word for screen readers. */
function Mark({ title, emoji }: { title: string; emoji: string }) {
  return (
    <span title={title}>
      {' '}
      <span aria-hidden="true">{emoji}</span>
      <span className="visually-hidden">({title.toLowerCase()})</span>
    </span>
  );
}

function preview(conversation: ConversationSummaryFragment): string {
  const message = conversation.lastMessage;
  if (!message) return 'No messages yet';
  if (message.deletedAt) return 'Message deleted';
  const text = message.body || (message.attachments.length ? `📎 ${message.attachments[0]?.name}` : '');
  return conversation.kind === 'GROUP' ? `${message.sender.displayName}: ${text}` : text;
}

/** Pinned first, then by latest activity (events move a conversation up as messages arrive). */
const byPinThenActivity = (a: ConversationSummaryFragment, b: ConversationSummaryFragment) =>
  Number(b.isPinned) - Number(a.isPinned) ||
  Date.parse(String(b.lastActivityAt)) - Date.parse(String(a.lastActivityAt));

export function ConversationList({ archived }: { archived: boolean }) {
  const pathname = usePathname();
  const [{ data, fetching }] = useQuery({ query: ConversationListQuery, variables: { archived } });
  const conversations = (data?.me.conversations.edges ?? []).map((edge) => edge.node).sort(byPinThenActivity);

  if (!data && fetching)
    return (
      <p className="muted pad" role="status">
        Loading…
      </p>
    );
  if (conversations.length === 0) {
    return <p className="muted pad">{archived ? 'No archived conversations.' : 'No conversations yet.'}</p>;
  }
  return (
    <ul className="conversation-list">
      {conversations.map((conversation) => {
        const title = conversationTitle(conversation);
        const unread = conversation.unreadCount;
        const current = pathname === `/c/${conversation.id}`;
        return (
          <li key={conversation.id}>
            <Link
              href={`/c/${conversation.id}`}
              className="conversation-item"
              aria-current={current ? 'page' : undefined}
              data-testid="conversation-item"
            >
              <Avatar user={conversationAvatar(conversation)} />
              <span className="conversation-text">
                <span className="conversation-title">
                  {title}
                  {/* The presence dot, for screen readers (the avatar is hidden from them). */}
                  {conversation.kind === 'DIRECT' && conversation.peer?.presence && (
                    <span className="visually-hidden">
                      , {statusLabel[conversation.peer.presence.status]}
                    </span>
                  )}
                  {conversation.isPinned && <Mark title="Pinned" emoji="📌" />}
                  {conversation.isMuted && <Mark title="Muted" emoji="🔕" />}
                </span>
                <span className="conversation-preview">{preview(conversation)}</span>
              </span>
              {unread > 0 && (
                <span
                  className={`badge${conversation.isMuted ? ' muted-badge' : ''}`}
                  data-testid="unread-count"
                >
                  {unread}
                  <span className="visually-hidden"> unread</span>
                </span>
              )}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}
