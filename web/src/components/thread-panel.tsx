'use client';

import { useState } from 'react';
import { useQuery } from 'urql';
import type { MessageFieldsFragment } from '../generated/graphql';
import { ThreadQuery } from '../lib/operations';
import { Composer } from './composer';
import { MessageItem } from './message-item';

/** A message and its replies; replying here answers the thread's first message. */
export function ThreadPanel({
  messageId,
  viewerId,
  onClose,
}: {
  messageId: string;
  viewerId: string;
  onClose(): void;
}) {
  const [{ data }, refetch] = useQuery({ query: ThreadQuery, variables: { id: messageId } });
  const [, setReplyTo] = useState<MessageFieldsFragment | null>(null);
  const root = data?.message;
  return (
    <aside
      className="thread-panel"
      aria-label="Thread"
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
      }}
    >
      <header>
        <h3>Thread</h3>
        <button type="button" aria-label="Close thread" onClick={onClose}>
          ✕
        </button>
      </header>
      {root ? (
        <ol className="messages">
          <MessageItem
            message={root}
            mine={root.sender.id === viewerId}
            canDelete={false}
            showSender
            onReply={() => {}}
          />
          {root.replies.edges.map(({ node }) => (
            <MessageItem
              key={node.id}
              message={node}
              mine={node.sender.id === viewerId}
              canDelete={false}
              showSender
              onReply={setReplyTo}
            />
          ))}
        </ol>
      ) : (
        <p role="status">Loading…</p>
      )}
      {root && (
        <Composer
          conversationId={root.conversation.id}
          replyTo={root}
          onCancelReply={() => {}}
          onSent={() => refetch({ requestPolicy: 'network-only' })}
          label="Reply in thread"
        />
      )}
    </aside>
  );
}
