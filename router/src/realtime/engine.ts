import {
  codedError,
  InvalidCursorError,
  isUuid,
  type Caller,
  type Logger,
  type LoggedEvent,
  type RealtimeLog,
  type Registry,
} from '@parley/kit';
import { type MembershipProjection, type MembershipRepair } from '@parley/membership';
import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import { Counter, Gauge } from 'prom-client';
import {
  decodeEvent,
  eventTypes,
  resyncEvent,
  type DecodedEvent,
  type EventValue,
  type ResyncReason,
} from './event-types.js';
import { executeEvent, type GatewayExecute } from './hydration.js';
import type { LiveState } from './live-state.js';
import { createResultEncoder, Outlet, type ResultEncoder, type SocketChannel } from './outlet.js';

/** What one subscription asked for; subscribers with equal `key`s share one execution per event. */
export interface Selection {
  document: DocumentNode;
  operationName: string | undefined;
  variableValues: Record<string, unknown>;
  /** The root field's response name (its alias, if any). */
  responseKey: string;
  /**
   * The selection reaches a field not declared `@viewerIndependent`: executed once per viewer, never shared
   * between viewers.
   */
  perViewer: boolean;
  /** Equal for subscriptions whose results are equal for equal viewers (document, operation, variables). */
  key: string;
}

export interface SubscribeRequest {
  userId: string;
  /** Null for the viewer's whole stream (`events`). */
  conversationId: string | null;
  after: string | null;
  /** Presence and typing events too (`presence: true`). */
  presence: boolean;
  selection: Selection;
  /** Runs hydration queries with this subscriber's rights. */
  gateway: GatewayExecute;
  caller: Caller;
  /** The socket the results are written to, and the subscription's id on it (graphql-ws). */
  channel: SocketChannel;
  id: string;
}

interface Subscriber {
  request: SubscribeRequest;
  outlet: Outlet;
  stream: SubscriptionStream;
  /** Live events kept while the backlog after `after` is replayed, delivered after it (those not replayed). */
  buffered: Array<{ cursor: string; payload: Buffer; ends: boolean }> | null;
  /** More arrived live during the replay than `maxQueuedEvents`: they were dropped, the replay reads them from the log. */
  bufferOverflowed: boolean;
  /** The cursor of the last event this subscriber was given (or dropped for it, when lagging). */
  lastCursor: string | null;
  /** For a resuming presence subscriber, the log's end when it subscribed: presence after it is live, not history. */
  liveFrom: string | null;
}

export interface RealtimeEngineOptions {
  log: RealtimeLog;
  projection: MembershipProjection;
  /** Makes the conversations service rewrite lost projection entries (as any subgraph would). */
  repairMembership: MembershipRepair;
  /** The hydration schema (see hydration.ts). */
  schema: GraphQLSchema;
  metrics: Registry;
  logger: Logger;
  /**
   * Live events kept for one subscriber while it replays (more are read from the log again), and results
   * waiting behind one worked out for it alone, before they are dropped for a LAGGING resync.
   */
  maxQueuedEvents: number;
  /** Results as graphql-ws payload bytes, errors masked (see outlet.ts); unmasked by default. */
  encode?: ResultEncoder;
  /** Events read per page when replaying after a cursor. */
  replayPageSize?: number;
  /** The presence and typing of now, told to a resuming `presence: true` subscriber after its replay. */
  liveState?: LiveState;
}

/** Events executed at the same time while following the log; delivered in log order regardless. */
const CONCURRENT_EVENTS = 16;

interface Position {
  epoch: string;
  ms: number;
  seq: number;
}
/** Cursors read recently: every delivery compares the event's cursor with its subscriber's last one. */
const positions = new Map<string, Position>();
/** A cursor's log and position (`<epoch>:<ms>-<seq>`). */
function cursorPosition(cursor: string): Position {
  let position = positions.get(cursor);
  if (position) return position;
  const match = /^(.*):(\d+)-(\d+)$/.exec(cursor);
  position = match
    ? { epoch: match[1]!, ms: Number(match[2]!), seq: Number(match[3]!) }
    : { epoch: '', ms: 0, seq: 0 };
  if (positions.size >= 4096) positions.clear();
  positions.set(cursor, position);
  return position;
}
/**
 * Whether `cursor` comes after `other`. Of two logs (one replaced a lost one), the one followed now,
 * `currentEpoch`, comes after the other.
 */
function isAfter(cursor: string, other: string | null, currentEpoch: string): boolean {
  if (other === null) return true;
  if (cursor === other) return false;
  const a = cursorPosition(cursor);
  const b = cursorPosition(other);
  if (a.epoch !== b.epoch) return a.epoch === currentEpoch;
  return a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq);
}

const hasCode = (result: ExecutionResult, code: string) =>
  result.errors?.some((error) => error.extensions['code'] === code) ?? false;

/** Attempts at reading an event's audience and results before its subscribers are told they missed it. */
const PREPARE_ATTEMPTS = 3;

/**
 * A result whose reading failed (a service it needs was unavailable, or a defect), as opposed to one where the
 * viewer may not see something (FORBIDDEN, NOT_FOUND: that is the answer). It is never delivered as data.
 */
const hydrationFailed = (result: ExecutionResult) =>
  hasCode(result, 'SERVICE_UNAVAILABLE') || hasCode(result, 'INTERNAL_SERVER_ERROR');

/** An event whose results could not be read in full: retried, then its subscribers are told to resync. */
class HydrationFailedError extends Error {
  constructor(cursor: string) {
    super(`the results of realtime event ${cursor} could not be read`);
    this.name = 'HydrationFailedError';
  }
}

/** A per-conversation subscription ends after the viewer's removal or the deletion; the whole stream goes on. */
const endsFor = (subscriber: Subscriber, decoded: DecodedEvent) =>
  subscriber.request.conversationId !== null && decoded.endsConversationFor(subscriber.request.userId);

/**
 * What graphql-ws holds for a subscription whose `next` frames the engine writes to the socket itself: it
 * yields nothing and finishes when the subscription ends (graphql-ws then sends `complete`, after every
 * frame written before); `return()` (the client's `complete`, the socket closing) ends the subscription.
 */
class SubscriptionStream implements AsyncIterableIterator<ExecutionResult> {
  private finished = false;
  private waiting: ((result: IteratorResult<ExecutionResult>) => void) | null = null;

  constructor(private readonly onReturn: () => void) {}

  /** Ends the stream from the engine's side. */
  end() {
    this.finished = true;
    this.waiting?.({ done: true, value: undefined });
    this.waiting = null;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.finished) this.onReturn();
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/**
 * Realtime subscriptions: follows the realtime log (every router instance reads all of it), decides who may
 * see each event now (membership projection), executes it once per shared selection and hands the result to
 * every subscriber of that selection; replays the events after a client's cursor before it goes live.
 */
export function createRealtimeEngine(options: RealtimeEngineOptions) {
  const { log, projection, logger } = options;
  const replayPageSize = options.replayPageSize ?? 500;
  const encode = options.encode ?? createResultEncoder((error) => error);
  const byUser = new Map<string, Set<Subscriber>>();
  let followed: { stop(): Promise<void> } | null = null;
  /** The epoch of the log the follower reads now. */
  let currentEpoch = '';
  const comesAfter = (cursor: string, other: string | null) => isAfter(cursor, other, currentEpoch);

  const active = new Gauge({
    name: 'router_active_subscriptions',
    help: 'Subscriptions open on this router',
    registers: [options.metrics],
  });
  const hydrations = new Counter({
    name: 'router_subscription_hydrations_total',
    help: 'Gateway queries that filled in subscription events (one per event per shared selection)',
    registers: [options.metrics],
  });
  const deliveries = new Counter({
    name: 'router_subscription_deliveries_total',
    help: 'Subscription events handed to subscribers',
    registers: [options.metrics],
  });
  const skipped = new Counter({
    name: 'router_realtime_events_skipped_total',
    help: 'Realtime log entries that could not be delivered (unknown topic or malformed payload)',
    registers: [options.metrics],
  });

  const anyCaller = (): Caller | null => {
    for (const subscribers of byUser.values())
      for (const subscriber of subscribers) return subscriber.request.caller;
    return null;
  };

  /** The conversation's members now; repaired through the conversations service when the projection lost it. */
  async function membersOf(conversationId: string, caller: Caller | null): Promise<ReadonlySet<string>> {
    let snapshot = await projection.snapshot(conversationId);
    if (snapshot === undefined && caller) {
      await options.repairMembership([conversationId], caller);
      snapshot = await projection.snapshot(conversationId);
    }
    if (!snapshot || snapshot.deleted) return new Set();
    return new Set(snapshot.members.keys());
  }

  /** `membersOf`, each conversation read once for as long as the returned function is used (a replay page). */
  function cachedMembersOf(caller: Caller) {
    const members = new Map<string, Promise<ReadonlySet<string>>>();
    return (conversationId: string) => {
      let current = members.get(conversationId);
      if (!current) {
        current = membersOf(conversationId, caller);
        members.set(conversationId, current);
      }
      return current;
    };
  }

  /** Whether `userId` may see the event now. */
  async function mayReceive(
    decoded: DecodedEvent,
    userId: string,
    members: (conversationId: string) => Promise<ReadonlySet<string>>,
  ): Promise<boolean> {
    const { audience, value } = decoded;
    if (audience.kind === 'users') return audience.userIds.includes(userId);
    if (audience.kind === 'members-and' && audience.userId === userId) return true;
    if (audience.kind === 'members' && audience.except?.includes(userId)) return false;
    return (await members(value.conversationId!)).has(userId);
  }

  function execute(subscriber: Subscriber, value: EventValue): Promise<ExecutionResult> {
    const { selection, gateway } = subscriber.request;
    return executeEvent({
      schema: options.schema,
      document: selection.document,
      operationName: selection.operationName,
      variableValues: selection.variableValues,
      responseKey: selection.responseKey,
      event: value,
      gateway,
      onHydrate: () => hydrations.inc(),
    });
  }

  /** Delivers an encoded result (shared by everyone it goes to); false when the subscriber had it already. */
  function deliver(subscriber: Subscriber, cursor: string, payload: Buffer, ends: boolean): boolean {
    // Replay already gave it, or the subscriber started after it: the follower can trail the replay.
    if (!comesAfter(cursor, subscriber.lastCursor)) return false;
    if (subscriber.buffered) {
      if (subscriber.buffered.length >= options.maxQueuedEvents) {
        subscriber.buffered.length = 0;
        subscriber.bufferOverflowed = true;
      }
      subscriber.buffered.push({ cursor, payload, ends });
      return false;
    }
    subscriber.lastCursor = cursor;
    subscriber.outlet.send(payload);
    if (ends) finish(subscriber);
    return true;
  }

  /** The subscription is over: graphql-ws completes it once the frames written before have been sent. */
  function finish(subscriber: Subscriber) {
    remove(subscriber);
    void subscriber.outlet.end().then(() => subscriber.stream.end());
  }

  /** The subscribers this event goes to, grouped by what they share, each group executed once. */
  async function prepare(event: LoggedEvent) {
    let decoded: DecodedEvent;
    try {
      decoded = decodeEvent(event);
    } catch (error) {
      skipped.inc();
      logger.error({ err: error, cursor: event.cursor }, 'realtime event skipped');
      return [];
    }
    const { audience, value } = decoded;
    const recipients = new Set<string>();
    if (audience.kind === 'users') {
      for (const userId of audience.userIds) if (byUser.has(userId)) recipients.add(userId);
    } else {
      const members = await membersOf(value.conversationId!, anyCaller());
      const except = audience.kind === 'members' ? audience.except : undefined;
      // The members with a subscription here, not everyone subscribed here: the smaller of the two, usually.
      for (const userId of members) {
        if (byUser.has(userId) && !except?.includes(userId)) recipients.add(userId);
      }
      if (audience.kind === 'members-and' && byUser.has(audience.userId)) recipients.add(audience.userId);
    }
    const groups = new Map<string, Subscriber[]>();
    for (const userId of recipients) {
      for (const subscriber of byUser.get(userId) ?? []) {
        const { conversationId, selection } = subscriber.request;
        if (conversationId !== null && conversationId !== value.conversationId) continue;
        if (decoded.presence && !subscriber.request.presence) continue;
        const key = selection.perViewer ? `${selection.key}\n${userId}` : selection.key;
        const group = groups.get(key);
        if (group) group.push(subscriber);
        else groups.set(key, [subscriber]);
      }
    }
    const prepared = await Promise.all(
      [...groups.values()].map(async (group) => ({
        group,
        result: await executeForGroup(group, value),
        decoded,
      })),
    );
    if (prepared.some(({ result }) => hydrationFailed(result))) throw new HydrationFailedError(event.cursor);
    return prepared;
  }

  async function onEvents(events: LoggedEvent[]) {
    if (byUser.size === 0) return;
    for (let start = 0; start < events.length; start += CONCURRENT_EVENTS) {
      const chunk = events.slice(start, start + CONCURRENT_EVENTS);
      const prepared = await Promise.all(chunk.map((event) => prepareWithRetries(event)));
      prepared.forEach((groups, index) => {
        const { cursor } = chunk[index]!;
        if ('failed' in groups) return void tellMissed(chunk[index]!, groups.failed);
        let delivered = 0;
        for (const { group, result, decoded } of groups) {
          // Encoded once for the whole group: each subscriber's frame is these bytes with its id around them.
          const payload = encode(result);
          for (const subscriber of group) {
            if (subscriber.outlet.done) continue;
            if (deliver(subscriber, cursor, payload, endsFor(subscriber, decoded))) delivered += 1;
          }
        }
        deliveries.inc(delivered);
      });
    }
  }

  async function prepareWithRetries(event: LoggedEvent) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await prepare(event);
      } catch (error) {
        if (attempt >= PREPARE_ATTEMPTS) {
          logger.error({ err: error, cursor: event.cursor }, 'realtime event could not be delivered');
          const failed: ResyncReason = error instanceof HydrationFailedError ? 'HYDRATION_FAILED' : 'LAGGING';
          return { failed };
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  /**
   * An event whose audience (Redis or the conversations service down) or results (a service they need down)
   * could not be read: everyone who might have been in it is told events were lost, rather than silently
   * missing one or receiving it with holes.
   */
  function tellMissed(event: LoggedEvent, reason: ResyncReason) {
    const conversationId = (event.payload as { conversationId?: unknown }).conversationId;
    const presence = eventTypes[event.topic]?.presence ?? false;
    for (const subscribers of byUser.values()) {
      for (const subscriber of subscribers) {
        const wanted = subscriber.request.conversationId;
        if (wanted !== null && wanted !== conversationId) continue;
        if (presence && !subscriber.request.presence) continue;
        if (!comesAfter(event.cursor, subscriber.lastCursor)) continue;
        // A replay in progress reads it from the log itself (where its audience may be readable again).
        if (subscriber.buffered) {
          subscriber.bufferOverflowed = true;
          continue;
        }
        const resync = resyncEvent(event.cursor, reason);
        subscriber.outlet.sendLater(() => execute(subscriber, resync));
        subscriber.lastCursor = event.cursor;
      }
    }
  }

  /**
   * One execution for a group, with its first member's rights; if that member's token stopped working (its
   * socket is closing), with the next one's, so one leaving subscriber does not blank the event for the rest.
   */
  async function executeForGroup(group: Subscriber[], value: EventValue): Promise<ExecutionResult> {
    let result = await execute(group[0]!, value);
    for (const next of group.slice(1, 3)) {
      if (!hasCode(result, 'UNAUTHENTICATED')) break;
      result = await execute(next, value);
    }
    return result;
  }

  /** The log was lost (or trimmed past where this router read): everyone is told, at the cursor it goes on from. */
  async function onReset(cursor: string) {
    currentEpoch = cursorPosition(cursor).epoch;
    logger.warn({ cursor }, 'realtime log was reset; subscribers are told to resync');
    for (const subscribers of byUser.values()) {
      for (const subscriber of subscribers) {
        const resync = encode(await execute(subscriber, resyncEvent(cursor, 'LOG_RESET')));
        deliver(subscriber, cursor, resync, false);
      }
    }
  }

  function add(subscriber: Subscriber) {
    const { userId } = subscriber.request;
    const subscribers = byUser.get(userId) ?? new Set();
    subscribers.add(subscriber);
    byUser.set(userId, subscribers);
    active.inc();
  }

  function remove(subscriber: Subscriber) {
    const { userId } = subscriber.request;
    const subscribers = byUser.get(userId);
    if (!subscribers?.delete(subscriber)) return;
    if (subscribers.size === 0) byUser.delete(userId);
    active.dec();
  }

  /**
   * The replay passed over presence and typing (states, not history): a resuming `presence: true` subscriber
   * is told those of now instead, before what arrived live meanwhile. Without them it would keep whatever it
   * last saw (a typing indicator whose end it missed). A failure to read them is logged, not fatal.
   */
  async function tellLiveState(subscriber: Subscriber, cursor: string) {
    if (!options.liveState) return;
    let values: EventValue[];
    try {
      values = await options.liveState(subscriber.request, cursor);
    } catch (error) {
      logger.warn({ err: error }, 'presence and typing of now could not be read for a resuming subscriber');
      return;
    }
    for (const value of values) {
      if (subscriber.outlet.done) return;
      await subscriber.outlet.whenRoom();
      subscriber.outlet.sendResult(await execute(subscriber, value));
      deliveries.inc();
    }
  }

  /**
   * A replayed event's result, retried as a live one is when a service it needs failed; still failing, a
   * StreamResync at its cursor instead (never the event with holes).
   */
  async function executeForReplay(subscriber: Subscriber, value: EventValue, cursor: string) {
    for (let attempt = 1; ; attempt += 1) {
      const result = await execute(subscriber, value);
      if (!hydrationFailed(result)) return result;
      if (attempt >= PREPARE_ATTEMPTS) {
        logger.error(
          { cursor },
          'a replayed realtime event could not be read; the subscriber is told to resync',
        );
        return execute(subscriber, resyncEvent(cursor, 'HYDRATION_FAILED'));
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }

  /** Replays the events after `after` that the subscriber may see, then what arrived live meanwhile. */
  async function replay(subscriber: Subscriber, after: string) {
    const { request } = subscriber;
    let cursor = after;
    for (;;) {
      const page = await log.readAfter(cursor, replayPageSize);
      if (page.expired) {
        const head = await log.head();
        subscriber.outlet.sendResult(await execute(subscriber, resyncEvent(head, 'CURSOR_EXPIRED')));
        subscriber.lastCursor = head;
        // Everything after the resync point is live (the log may have started again since subscribing).
        if (subscriber.liveFrom !== null) subscriber.liveFrom = head;
        cursor = head;
        continue;
      }
      if (page.events.length === 0) {
        if (!subscriber.bufferOverflowed) break;
        subscriber.bufferOverflowed = false;
        continue;
      }
      const members = cachedMembersOf(request.caller);
      for (const event of page.events) {
        if (subscriber.outlet.done) return;
        cursor = event.cursor;
        let decoded: DecodedEvent;
        try {
          decoded = decodeEvent(event);
        } catch {
          continue;
        }
        if (request.conversationId !== null && decoded.value.conversationId !== request.conversationId)
          continue;
        // Presence and typing are states, not history: a resuming client reads them again (and who may see
        // them was decided when they happened, before any block since). Those since it subscribed are live.
        if (decoded.presence && (!request.presence || !comesAfter(event.cursor, subscriber.liveFrom)))
          continue;
        if (!(await mayReceive(decoded, request.userId, members))) continue;
        // A removal replayed after the viewer was added back does not end what they may still follow.
        const ends =
          endsFor(subscriber, decoded) &&
          !(
            decoded.audience.kind === 'members-and' &&
            (await members(decoded.value.conversationId!)).has(request.userId)
          );
        await subscriber.outlet.whenRoom();
        subscriber.outlet.sendResult(await executeForReplay(subscriber, decoded.value, event.cursor));
        subscriber.lastCursor = event.cursor;
        deliveries.inc();
        if (ends) return finish(subscriber);
      }
    }
    // Everything up to `cursor` was considered: the follower may still bring some of it, which is not given again.
    if (comesAfter(cursor, subscriber.lastCursor)) subscriber.lastCursor = cursor;
    if (request.presence) await tellLiveState(subscriber, cursor);
    const buffered = subscriber.buffered ?? [];
    subscriber.buffered = null;
    // deliver() passes over what the replay covered: lastCursor is at least `cursor` now.
    for (const entry of buffered) {
      if (deliver(subscriber, entry.cursor, entry.payload, entry.ends)) deliveries.inc();
      if (subscriber.outlet.done) return;
    }
  }

  return {
    /** Starts following the log from its end; events appended before are reached by replay only. */
    async start() {
      const head = await log.head();
      currentEpoch = cursorPosition(head).epoch;
      followed = log.follow(head, {
        onEvents,
        onReset,
        onError: (error) => logger.warn({ err: error }, 'realtime log unavailable; retrying'),
      });
    },

    async stop() {
      await followed?.stop();
      followed = null;
      for (const subscribers of [...byUser.values()]) {
        for (const subscriber of [...subscribers]) finish(subscriber);
      }
    },

    /**
     * Opens a subscription: an error result when it cannot start (not a member, a cursor that is not one),
     * otherwise the stream of its results.
     */
    async subscribe(
      request: SubscribeRequest,
    ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
      // (The stream yields nothing: results are written to `request.channel` as graphql-ws `next` frames.)
      const { conversationId, userId, caller } = request;
      if (conversationId !== null) {
        const members = isUuid(conversationId) ? await membersOf(conversationId, caller) : new Set<string>();
        if (!members.has(userId)) {
          return { errors: [codedError('NOT_FOUND', 'Conversation not found', { conversationId })] };
        }
      }
      if (request.after !== null) {
        try {
          await log.readAfter(request.after, 1);
        } catch (error) {
          if (!(error instanceof InvalidCursorError)) throw error;
          return {
            errors: [
              codedError('BAD_USER_INPUT', '`after` is not a cursor of this stream', { field: 'after' }),
            ],
          };
        }
      }
      const subscriber: Subscriber = {
        request,
        outlet: new Outlet(
          request.channel,
          request.id,
          encode,
          () => {
            const cursor = subscriber.lastCursor ?? '';
            return () => execute(subscriber, resyncEvent(cursor, 'LAGGING'));
          },
          options.maxQueuedEvents,
        ),
        stream: new SubscriptionStream(() => {
          subscriber.outlet.abort();
          remove(subscriber);
        }),
        buffered: request.after === null ? null : [],
        bufferOverflowed: false,
        lastCursor: request.after,
        // Read before the subscriber is added: an event after it is live, whether the follower or the replay
        // brings it (deliver() gives it once).
        liveFrom: request.after !== null && request.presence ? await log.head() : null,
      };
      add(subscriber);
      if (request.after !== null) {
        replay(subscriber, request.after).catch((error: unknown) => {
          logger.error({ err: error }, 'replay failed; the subscription ends');
          subscriber.outlet.sendResult({
            errors: [codedError('SERVICE_UNAVAILABLE', 'Missed events could not be read; resubscribe')],
          });
          finish(subscriber);
        });
      }
      return subscriber.stream;
    },
  };
}

export type RealtimeEngine = ReturnType<typeof createRealtimeEngine>;
