'use client';

import Link from 'next/link';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import type { ConversationViewQuery as ConversationView, MessageFieldsFragment } from '../generated/graphql';
import { MESSAGE_PAGE_SIZE, OPTIMISTIC_PREFIX } from '../lib/cache';
import { UNAVAILABLE_MESSAGE, isRetryable } from '../lib/errors';
import {
  ConversationMessagesQuery,
  ConversationViewQuery,
  MarkReadMutation,
  UpdateConversationSettingsMutation,
  UserPresenceQuery,
} from '../lib/operations';
import { Avatar, presenceText } from './avatar';
import { Composer } from './composer';
import { conversationAvatar, conversationTitle } from './conversation-list';
import { MessageItem } from './message-item';
import { useApp, useOnReconnect } from './providers';
import { ThreadPanel } from './thread-panel';

/** Opened with this many unread messages or fewer, the conversation loads back to the first of them. */
const MAX_UNREAD_TO_LOAD = 150;

type Conversation = ConversationView['conversation'];

/** Confirmed messages by `seq`; optimistic ones (not numbered yet) after them, in the order sent. */
const bySeq = (a: MessageFieldsFragment, b: MessageFieldsFragment) => {
  const pendingA = a.id.startsWith(OPTIMISTIC_PREFIX);
  const pendingB = b.id.startsWith(OPTIMISTIC_PREFIX);
  if (pendingA !== pendingB) return pendingA ? 1 : -1;
  return pendingA ? Date.parse(String(a.createdAt)) - Date.parse(String(b.createdAt)) : a.seq - b.seq;
};

/** Under the viewer's latest message: who has read it ("Seen"), or that it reached them ("Delivered"). */
function receiptOf(conversation: Conversation, message: MessageFieldsFragment, viewerId: string): string {
  const others = conversation.members.edges
    .map((edge) => edge.node)
    .filter((member) => member.user.id !== viewerId);
  const readers = others.filter((member) => member.lastReadSeq >= message.seq);
  if (readers.length > 0) {
    if (conversation.kind === 'DIRECT') return 'Seen';
    return readers.length === others.length
      ? 'Seen by everyone'
      : `Seen by ${readers.map((member) => member.user.displayName).join(', ')}`;
  }
  if (others.some((member) => member.lastDeliveredSeq >= message.seq)) return 'Delivered';
  return 'Sent';
}

/** A pressed-or-not button named for what pressing it does: [when off, when on]. */
function Toggle({ on, labels, onToggle }: { on: boolean; labels: [string, string]; onToggle(): void }) {
  return (
    <button type="button" aria-pressed={on} onClick={onToggle}>
      {on ? labels[1] : labels[0]}
    </button>
  );
}

function Header({ conversation, viewerId }: { conversation: Conversation; viewerId: string }) {
  const [, updateSettings] = useMutation(UpdateConversationSettingsMutation);
  const title = conversationTitle(conversation);
  const typists = conversation.typingUsers.filter((user) => user.id !== viewerId);
  const subtitle =
    typists.length > 0
      ? `${typists.map((user) => user.displayName).join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`
      : conversation.kind === 'DIRECT'
        ? presenceText(conversation.peer?.presence ?? null)
        : `${conversation.memberCount} members`;
  const set = (input: { pinned?: boolean; archived?: boolean; mutedUntil?: string | null }) =>
    void updateSettings({ id: conversation.id, input });

  return (
    <header className="pane-header">
      <Link href="/" className="back" aria-label="Back to conversations">
        ←
      </Link>
      <Avatar user={conversationAvatar(conversation)} />
      <div className="pane-title">
        <h2>{title}</h2>
        <p className="muted" aria-live="polite" data-testid="conversation-status">
          {subtitle}
        </p>
      </div>
      <div className="pane-actions" role="group" aria-label="Conversation settings">
        <Toggle
          on={conversation.isPinned}
          labels={['Pin', 'Unpin']}
          onToggle={() => set({ pinned: !conversation.isPinned })}
        />
        <Toggle
          on={conversation.isMuted}
          labels={['Mute', 'Unmute']}
          onToggle={() => set({ mutedUntil: conversation.isMuted ? null : '9999-12-31T00:00:00.000Z' })}
        />
        <Toggle
          on={conversation.isArchived}
          labels={['Archive', 'Unarchive']}
          onToggle={() => set({ archived: !conversation.isArchived })}
        />
      </div>
    </header>
  );
}

/**
 * Reads the newest page of history, then older pages as the user scrolls up (relay pagination merges them
 * in the cache; live events append to the newest).
 */
function useHistory(conversationId: string) {
  const [before, setBefore] = useState<string | null>(null);
  const [{ data, fetching, error }] = useQuery({
    query: ConversationMessagesQuery,
    variables: before
      ? { id: conversationId, last: MESSAGE_PAGE_SIZE, before }
      : { id: conversationId, last: MESSAGE_PAGE_SIZE },
  });
  const page = useMemo(() => {
    if (!data) return null;
    const connection = data.conversation.messages;
    return {
      messages: connection.edges.map((edge) => edge.node).sort(bySeq),
      startCursor: connection.pageInfo.startCursor ?? null,
      hasOlder: connection.pageInfo.hasPreviousPage,
    };
  }, [data]);
  // While an older page loads, the history already shown stays on screen (no flash of an empty list).
  const shown = useRef(page);
  if (page) shown.current = page;
  const current = shown.current;
  return {
    messages: current?.messages ?? [],
    loaded: current !== null,
    fetching,
    error,
    hasOlder: current?.hasOlder ?? false,
    loadOlder() {
      if (current?.startCursor && current.hasOlder && !fetching) setBefore(current.startCursor);
    },
  };
}

/**
 * A DM's peer becomes visible to the viewer once they take part (read or send there): their presence did
 * not change, so no event says so; it is read again then.
 */
function usePeerPresence(conversation: Conversation | undefined) {
  const client = useClient();
  const peer = conversation?.kind === 'DIRECT' ? conversation.peer : null;
  const tookPart = conversation?.members.edges.some(
    (edge) => edge.node.user.id === peer?.id && edge.node.lastReadSeq > 0,
  );
  const hidden = peer !== null && peer.presence === null;
  const peerId = peer?.id;
  useEffect(() => {
    if (!peerId || !hidden || !tookPart) return;
    void client.query(UserPresenceQuery, { id: peerId }, { requestPolicy: 'network-only' }).toPromise();
  }, [client, peerId, hidden, tookPart]);
}

export function ConversationPane({ conversationId }: { conversationId: string }) {
  const { session } = useApp();
  const viewerId = session?.user.id ?? '';
  const [{ data: view, error: viewError }, reloadView] = useQuery({
    query: ConversationViewQuery,
    variables: { id: conversationId },
  });
  // Typing and presence missed while the socket was down are not replayed: read them (and the rest) again.
  useOnReconnect(() => reloadView({ requestPolicy: 'network-only' }));
  const conversation = view?.conversation;
  usePeerPresence(conversation);
  const history = useHistory(conversationId);
  const [replyTo, setReplyTo] = useState<MessageFieldsFragment | null>(null);
  const [thread, setThread] = useState<string | null>(null);
  const [, markRead] = useMutation(MarkReadMutation);
  const scroller = useRef<HTMLDivElement>(null);
  const topSentinel = useRef<HTMLLIElement>(null);
  // Where "new messages" begins: what was unread when the conversation was opened (not what arrives while
  // the reader is looking).
  const unreadAtOpen = useRef<{ after: number; upTo: number } | null>(null);
  if (conversation && unreadAtOpen.current === null) {
    unreadAtOpen.current = { after: conversation.lastReadSeq, upTo: conversation.lastSeq };
  }

  // Read what is on screen while the tab is visible (the marker only moves forward).
  const lastSeq = conversation?.lastSeq ?? 0;
  const lastReadSeq = conversation?.lastReadSeq ?? 0;
  useEffect(() => {
    const read = () => {
      if (document.visibilityState === 'visible' && lastSeq > lastReadSeq) {
        void markRead({ conversationId, upToSeq: lastSeq });
      }
    };
    read();
    document.addEventListener('visibilitychange', read);
    return () => document.removeEventListener('visibilitychange', read);
  }, [conversationId, lastSeq, lastReadSeq, markRead]);

  // The "new messages" line sits above the first unread message, so that message must be loaded: older
  // pages are read first (when at most MAX_UNREAD_TO_LOAD are unread), and the view is placed after.
  const { loadOlder } = history;
  const unread = unreadAtOpen.current;
  const oldestLoaded = history.messages[0]?.seq;
  const firstUnreadLoaded =
    unread !== null &&
    (!history.hasOlder || (oldestLoaded !== undefined && oldestLoaded <= unread.after + 1));
  const loadingUnread =
    unread !== null &&
    history.loaded &&
    !firstUnreadLoaded &&
    unread.upTo - unread.after <= MAX_UNREAD_TO_LOAD;
  useEffect(() => {
    if (loadingUnread && !history.fetching) loadOlder();
  }, [loadingUnread, oldestLoaded, history.fetching, loadOlder]);

  // Infinite scroll upwards (once the view is placed: before, the top of the empty view is in sight).
  useEffect(() => {
    const sentinel = topSentinel.current;
    if (!sentinel) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (!loadingUnread && entries.some((entry) => entry.isIntersecting)) loadOlder();
      },
      { root: scroller.current },
    );
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [loadOlder, loadingUnread]);

  // Keep the view anchored: older pages load above what is read; new messages scroll into view when the
  // reader is at the bottom (or sent them).
  const first = history.messages[0]?.id;
  const last = history.messages.at(-1);
  const anchor = useRef<{ first?: string; last?: string; fromBottom: number; atBottom: boolean }>({
    fromBottom: 0,
    atBottom: true,
  });
  const shown = conversation !== undefined;
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || loadingUnread) return;
    const before = anchor.current;
    const divider = element.querySelector<HTMLElement>('.new-divider');
    if (before.first && first !== before.first && last?.id === before.last) {
      element.scrollTop = element.scrollHeight - before.fromBottom;
    } else if (!before.last && divider) {
      // Opened with unread messages: start reading at the first of them, not at the newest.
      element.scrollTop += divider.getBoundingClientRect().top - element.getBoundingClientRect().top;
    } else if (
      last?.id !== before.last &&
      (before.atBottom || last?.sender.id === viewerId || !before.last)
    ) {
      element.scrollTop = element.scrollHeight;
    }
    anchor.current = { ...anchor.current, first, last: last?.id };
    // `shown`: the history may arrive before the conversation, while the pane (and its scroller) is not
    // rendered yet; placing it must wait for both.
  }, [first, last, viewerId, shown, loadingUnread]);
  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const fromBottom = element.scrollHeight - element.scrollTop;
    anchor.current = { ...anchor.current, fromBottom, atBottom: fromBottom - element.clientHeight < 40 };
  };

  const myLatest = useMemo(
    () =>
      [...history.messages]
        .reverse()
        .find((message) => message.sender.id === viewerId && !message.id.startsWith(OPTIMISTIC_PREFIX)),
    [history.messages, viewerId],
  );

  if (viewError && !conversation) {
    return (
      <section className="pane empty-pane">
        <p role="alert">
          {isRetryable(viewError)
            ? UNAVAILABLE_MESSAGE
            : 'This conversation does not exist or you are not in it.'}
        </p>
      </section>
    );
  }
  if (!conversation)
    return (
      <section className="pane empty-pane">
        <p role="status">Loading…</p>
      </section>
    );

  const canModerate = conversation.viewerRole !== 'MEMBER';
  const firstUnread = history.messages.find(
    (message) =>
      unread !== null &&
      firstUnreadLoaded &&
      message.seq > unread.after &&
      message.seq <= unread.upTo &&
      message.sender.id !== viewerId &&
      !message.id.startsWith(OPTIMISTIC_PREFIX),
  );

  return (
    <section className="pane" aria-label={`Conversation with ${conversationTitle(conversation)}`}>
      <Header conversation={conversation} viewerId={viewerId} />
      <div className="pane-body">
        <div className="messages-scroller" ref={scroller} onScroll={onScroll}>
          <ol className="messages" aria-label="Messages" aria-busy={history.fetching}>
            <li ref={topSentinel} className="history-edge">
              {history.hasOlder ? (
                // Not `disabled` while loading: a disabled button drops the keyboard focus to the page.
                <button type="button" className="link" onClick={loadOlder} aria-disabled={history.fetching}>
                  {history.fetching ? 'Loading…' : 'Load earlier messages'}
                </button>
              ) : (
                history.loaded && <span className="muted">Start of the conversation</span>
              )}
            </li>
            {history.messages.map((message) => (
              <MessageOrDivider key={message.id} divider={message === firstUnread}>
                <MessageItem
                  message={message}
                  mine={message.sender.id === viewerId}
                  canDelete={message.sender.id === viewerId || (canModerate && conversation.kind === 'GROUP')}
                  showSender={conversation.kind === 'GROUP'}
                  onReply={setReplyTo}
                  onOpenThread={(root) => setThread(root.id)}
                />
                {message === myLatest && (
                  <li className="receipt" data-testid="receipt">
                    {receiptOf(conversation, message, viewerId)}
                  </li>
                )}
              </MessageOrDivider>
            ))}
          </ol>
        </div>
        {thread && <ThreadPanel messageId={thread} viewerId={viewerId} onClose={() => setThread(null)} />}
      </div>
      <Composer conversationId={conversationId} replyTo={replyTo} onCancelReply={() => setReplyTo(null)} />
    </section>
  );
}

function MessageOrDivider({ divider, children }: { divider: boolean; children: React.ReactNode }) {
  return (
    <>
      {divider && (
        // A list item like the messages around it (a separator role would take it out of the list).
        <li className="new-divider" data-testid="new-divider">
          <span>New messages</span>
        </li>
      )}
      {children}
    </>
  );
}
