'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useClient, useMutation, useQuery, useSubscription } from 'urql';
import type { EventsSubscription as EventsResult } from '../generated/graphql';
import {
  ConversationListQuery,
  ConversationViewQuery,
  EventsSubscription,
  MarkDeliveredMutation,
} from '../lib/operations';
import { UNAVAILABLE_MESSAGE, isRetryable } from '../lib/errors';
import { Avatar } from './avatar';
import { ConversationList } from './conversation-list';
import { NewConversation } from './new-conversation';
import { useApp, useOnReconnect, useServiceAvailability } from './providers';

/** How late after its `expiresAt` a typing indicator still shown is checked with the graph. */
const TYPING_GRACE_MS = 1_000;

/** Whether the browser says it is online; the banner tells the user their messages wait for the network. */
function useOnline() {
  const [online, setOnline] = useState(true);
  useEffect(() => {
    setOnline(navigator.onLine);
    const update = () => setOnline(navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);
  return online;
}

/**
 * Keeps the cache live: one `events` subscription for the whole app, started from the cursor read with the
 * conversation list (nothing between loading and subscribing is lost), resumed from the last event's cursor
 * after any reconnect. Messages from others are acknowledged as delivered as they arrive.
 */
function useLiveEvents(cursor: string | undefined, viewerId: string) {
  const start = useRef<string | undefined>(undefined);
  start.current ??= cursor;
  const [{ data }] = useSubscription({
    query: EventsSubscription,
    variables: { after: start.current ?? null },
    pause: start.current === undefined,
  });
  const [, markDelivered] = useMutation(MarkDeliveredMutation);
  const event = data?.events;
  useEffect(() => {
    if (event?.__typename !== 'MessageAdded' || !event.message) return;
    if (event.message.sender.id === viewerId) return;
    void markDelivered({ conversationId: event.conversationId, upToSeq: event.message.seq });
  }, [event, viewerId, markDelivered]);
  useTypingExpiry(event);
}

/**
 * A typing indicator ends at its `expiresAt` unless renewed, and renewals make no event: if it is still
 * shown a little after that time (its end was missed), the conversation's typing is read again.
 */
function useTypingExpiry(event: EventsResult['events'] | undefined) {
  const client = useClient();
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    if (event?.__typename !== 'TypingChanged' || !event.user) return;
    const key = `${event.conversationId}:${event.user.id}`;
    clearTimeout(timers.current.get(key));
    timers.current.delete(key);
    if (!event.typing || !event.expiresAt) return;
    const { conversationId } = event;
    const typistId = event.user.id;
    const check = () => {
      timers.current.delete(key);
      const shown = client.readQuery(ConversationViewQuery, { id: conversationId });
      if (shown?.data?.conversation.typingUsers.some((user) => user.id === typistId)) {
        void client
          .query(ConversationViewQuery, { id: conversationId }, { requestPolicy: 'network-only' })
          .toPromise();
      }
    };
    const delay = Date.parse(String(event.expiresAt)) - Date.now() + TYPING_GRACE_MS;
    timers.current.set(key, setTimeout(check, Math.max(delay, 0)));
  }, [event, client]);
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);
}

export function ChatShell({ children }: { children: ReactNode }) {
  const { session } = useApp();
  const pathname = usePathname();
  const online = useOnline();
  const service = useServiceAvailability();
  const [showArchived, setShowArchived] = useState(false);
  const [{ data, error }, reloadList] = useQuery({
    query: ConversationListQuery,
    variables: { archived: false },
  });
  useLiveEvents(data?.realtimeCursor, session?.user.id ?? '');
  // Presence (the dots, the viewer's own) missed while the socket was down is not replayed: read it again.
  useOnReconnect(() => reloadList({ requestPolicy: 'network-only' }));
  const me = data?.me.user;
  const paneOpen = pathname !== '/';

  return (
    <div className="chat-shell" data-view={paneOpen ? 'pane' : 'list'}>
      {!online && (
        <p className="offline-banner" role="status">
          You are offline. Messages will be sent when the connection is back.
        </p>
      )}
      {/* The graph is there but a database or service behind it is not: what is shown stays, and is read again. */}
      {online && service.availability === 'retrying' && (
        <p className="offline-banner" role="status">
          Parley is temporarily unavailable. Reconnecting…
        </p>
      )}
      {online && service.availability === 'unavailable' && (
        <p className="offline-banner" role="status">
          Parley is temporarily unavailable.{' '}
          <button type="button" className="link" onClick={service.retryNow}>
            Try again
          </button>
        </p>
      )}
      <aside className="sidebar" aria-label="Conversations">
        <header className="sidebar-header">
          {/* The name shown is the start of the link's name (WCAG 2.5.3, label in name). */}
          <Link href="/settings" className="me">
            <Avatar user={me} size={32} />
            <span>{me?.displayName ?? session?.user.displayName}</span>
            <span className="visually-hidden">: profile and settings</span>
          </Link>
        </header>
        <NewConversation />
        <div className="list-tabs" role="group" aria-label="Which conversations">
          <button type="button" aria-pressed={!showArchived} onClick={() => setShowArchived(false)}>
            Inbox
          </button>
          <button type="button" aria-pressed={showArchived} onClick={() => setShowArchived(true)}>
            Archived
          </button>
        </div>
        {error && !data && (
          <p role="alert" className="error">
            {isRetryable(error) ? UNAVAILABLE_MESSAGE : 'Could not load your conversations.'}
          </p>
        )}
        <ConversationList archived={showArchived} />
      </aside>
      {children}
    </div>
  );
}
