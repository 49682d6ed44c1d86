import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRealtime, extensionsOf, type RealtimeConnection, type SignedInUser } from '@parley/testkit';
import { SEND, type MessageFields, HISTORY } from '../messages/operations.js';
import { EVENTS, type EventFields } from '../realtime/operations.js';

/** One sendMessage request: when it started and ended (ms, performance.now) and how it was answered. */
export interface SendAttempt {
  sender: string;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  code?: unknown;
  retryAfter?: unknown;
}

/**
 * A sender as a client should be: one message every `intervalMs`, each retried with the same clientMutationId
 * (so it is sent at most once) until it is acknowledged.
 */
export function startSender(user: SignedInUser, conversationId: string, intervalMs: number) {
  const attempts: SendAttempt[] = [];
  const acknowledged: MessageFields[] = [];
  let stopping = false;
  const running = (async () => {
    for (let index = 0; !stopping; index += 1) {
      const input = { conversationId, body: `${user.username} #${index}`, clientMutationId: randomUUID() };
      for (;;) {
        const startedAt = performance.now();
        const response = await user.client.request(SEND, { input }).catch((error: unknown) => ({
          data: undefined,
          errors: [{ message: String(error), extensions: { code: 'NETWORK_ERROR' } }],
        }));
        const message = response.data?.sendMessage;
        const extensions = message ? {} : extensionsOf(response);
        attempts.push({
          sender: user.username,
          startedAt,
          endedAt: performance.now(),
          ok: Boolean(message),
          code: extensions['code'],
          retryAfter: extensions['retryAfter'],
        });
        if (message) {
          acknowledged.push(message);
          break;
        }
        // Unacknowledged when the run ends: it may or may not have been sent, as for any client.
        if (stopping) break;
        await sleep(intervalMs);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    attempts,
    acknowledged,
    async stop() {
      stopping = true;
      await running;
    },
  };
}

/** The conversation's messages, oldest first, as a client reloading it reads them (pages of 100, newest first). */
export async function messagesOf(user: SignedInUser, conversationId: string) {
  const messages: Array<{ id: string; seq: number }> = [];
  let before: string | undefined;
  for (;;) {
    const response = await user.client.request(HISTORY, { id: conversationId, last: 100, before });
    if (!response.data) throw new Error(`history failed: ${JSON.stringify(response.errors)}`);
    const { edges, pageInfo } = response.data.conversation.messages;
    messages.unshift(...edges.map(({ node }) => node));
    if (!pageInfo.hasPreviousPage || !pageInfo.startCursor) return messages;
    before = pageInfo.startCursor;
  }
}

/**
 * A subscriber as a client should be: follows `events`, reconnects with `after:` its last cursor whenever its
 * socket or subscription ends, and on a StreamResync reloads the conversation. It records what would break a
 * chat: a message delivered twice or out of order on the stream, and an event without its data that no
 * StreamResync followed.
 */
export function startSubscriber(user: SignedInUser, wsUrl: string, conversationId: string) {
  /** What the client shows, in order: messages from the stream and from reloads. */
  const shown: Array<{ id: string; seq: number }> = [];
  const violations: string[] = [];
  /** Messages the stream delivered (a reload shows messages too). */
  const streamed = new Set<string>();
  const resyncs: string[] = [];
  let cursor: string | undefined;
  let stopping = false;
  let socket: RealtimeConnection | undefined;
  /** Events that arrived without their data; a StreamResync must come after each. */
  let unresolvedHoles = 0;

  const lastSeq = () => shown.at(-1)?.seq ?? 0;
  const show = (message: { id: string; seq: number }) => {
    if (message.seq > lastSeq()) shown.push({ id: message.id, seq: message.seq });
  };

  async function reload() {
    for (;;) {
      try {
        for (const message of await messagesOf(user, conversationId)) show(message);
        return;
      } catch {
        if (stopping) return;
        await sleep(200);
      }
    }
  }

  function onEvent(result: { data?: Record<string, unknown> | null; errors?: readonly unknown[] }) {
    const event = (result.data?.['events'] ?? null) as EventFields | null;
    if (event?.cursor) cursor = event.cursor;
    if (!event || (event.__typename === 'MessageAdded' && !event.message) || result.errors) {
      unresolvedHoles += 1;
      return;
    }
    if (event.__typename === 'StreamResync') {
      resyncs.push(event.reason ?? 'unknown');
      unresolvedHoles = 0;
      return 'reload' as const;
    }
    if (event.__typename !== 'MessageAdded' || event.conversationId !== conversationId) return;
    const message = event.message!;
    if (streamed.has(message.id)) {
      violations.push(`${user.username}: message ${message.seq} delivered twice`);
      return;
    }
    streamed.add(message.id);
    // Shown already by a reload: the stream goes on after a resync, so it may bring it again.
    if (shown.some(({ id }) => id === message.id)) return;
    if (message.seq < lastSeq()) {
      violations.push(`${user.username}: message ${message.seq} arrived after ${lastSeq()}`);
      return;
    }
    show(message);
  }

  const running = (async () => {
    while (!stopping) {
      try {
        socket = await connectRealtime(wsUrl, { token: user.accessToken, timeoutMs: 3_000 });
      } catch {
        await sleep(200);
        continue;
      }
      const subscription = socket.subscribe(EVENTS, { after: cursor });
      for (;;) {
        let result;
        try {
          result = await subscription.next(500);
        } catch {
          if (subscription.ended !== undefined || stopping) break;
          continue;
        }
        if (onEvent(result) === 'reload') await reload();
      }
      await socket.close().catch(() => {});
    }
  })();

  return {
    user,
    shown,
    violations,
    resyncs,
    get unresolvedHoles() {
      return unresolvedHoles;
    },
    /** Drops the socket as a lost network would; the subscriber reconnects from its cursor. */
    drop: () => socket?.terminate(),
    async stop() {
      stopping = true;
      await running;
    },
  };
}

export type Subscriber = ReturnType<typeof startSubscriber>;
