import type { CombinedError } from '@urql/core';
import { errorMessage, retryAfterOf } from './errors';

/** The longest a send in flight holds the ones after it (a network that swallows the request) before they go anyway. */
export const SEND_QUEUE_WAIT_MS = 10_000;

/** The longest between two automatic attempts of a send the graph could not take, unless its `retryAfter` says more. */
export const SEND_RETRY_MAX_DELAY_MS = 30_000;

/**
 * Why a send is in the outbox:
 * - `waiting`: the graph could not take it for now (SERVICE_UNAVAILABLE, RATE_LIMITED); it is sent again by
 *   itself after the error's `retryAfter`, then with a growing delay (at most SEND_RETRY_MAX_DELAY_MS);
 * - `queued`: written after one that is waiting, and sent after it (sends never overtake each other);
 * - `offline`: the network failed; sent again when the browser is back online, or by hand;
 * - `failed`: the graph refused it (BAD_USER_INPUT, FORBIDDEN, …): sending it again as it is cannot work,
 *   so only by hand.
 */
export type OutboxState = 'waiting' | 'queued' | 'offline' | 'failed';

export interface OutboxEntry<Input> {
  input: Input;
  state: OutboxState;
  /** What to tell the person about it. */
  message: string;
  /** When a `waiting` send goes again (epoch milliseconds). */
  retryAt?: number;
}

/** What sending answered: urql's result, of which only the error matters here. */
export interface SendResult {
  error?: CombinedError | undefined;
}

export interface Outbox<Input> {
  /**
   * Sends `input` after every send before it, and again (same input, so the same clientMutationId) while the
   * graph answers that it cannot take it for now. Resolves true once the graph took it, false once it is left
   * in the outbox (offline or refused) or was discarded. An input already being sent is sent now instead.
   */
  send(input: Input): Promise<boolean>;
  /** Sends again, now, what was left because the network failed (the browser is back online). */
  retryOffline(): void;
  /** Drops a send that was not taken yet: it is not sent again (a request already on its way may still land). */
  discard(clientMutationId: string): void;
  entries(): readonly OutboxEntry<Input>[];
}

interface Delivery<Input> {
  input: Input;
  started: boolean;
  cancelled: boolean;
  /** Whether the graph answered it could not take it for now, at least once. */
  waited: boolean;
  /** Ends a wait between two attempts early (Retry, or discard). */
  wake?: (() => void) | undefined;
}

export const WAITING_MESSAGE = 'Parley is temporarily unavailable. Sending again shortly…';
export const QUEUED_MESSAGE = 'Waiting to send…';
export const OFFLINE_MESSAGE = 'Not sent';

/**
 * Sends are idempotent by `clientMutationId`: one the graph could not take (the network failed, or a database
 * it needs is down) stays in the outbox and is sent again with the same id, so it lands once, never twice, and
 * is never lost. They go one at a time, in the order written: the graph numbers messages as they arrive, and two
 * sends in flight at once could arrive (and be numbered) the other way round.
 */
export function createOutbox<Input extends { clientMutationId: string }>(options: {
  request(input: Input): Promise<SendResult>;
  onChange(entries: readonly OutboxEntry<Input>[]): void;
  now?: () => number;
}): Outbox<Input> {
  const now = options.now ?? Date.now;
  /** Sends that ended in the outbox (offline, failed), and ones waiting to be sent again. */
  let settled: OutboxEntry<Input>[] = [];
  /** Every send not finished yet, in the order written. */
  const deliveries = new Map<string, Delivery<Input>>();
  let queue: Promise<void> = Promise.resolve();

  const idOf = (input: Input) => input.clientMutationId;

  function snapshot(): readonly OutboxEntry<Input>[] {
    // Sends held behind one waiting to go again are shown too: otherwise they would be nowhere on screen.
    const holding = [...deliveries.values()].some((delivery) => delivery.waited && !delivery.cancelled);
    const held = holding
      ? [...deliveries.values()]
          .filter((delivery) => !delivery.started && !delivery.cancelled)
          .map((delivery): OutboxEntry<Input> => ({
            input: delivery.input,
            state: 'queued',
            message: QUEUED_MESSAGE,
          }))
      : [];
    return [...settled, ...held];
  }

  const emit = () => options.onChange(snapshot());

  function put(id: string, entry: OutboxEntry<Input> | null) {
    const index = settled.findIndex((existing) => idOf(existing.input) === id);
    if (entry && index >= 0) settled = settled.map((existing, at) => (at === index ? entry : existing));
    else if (entry) settled = [...settled, entry];
    else if (index >= 0) settled = settled.filter((_, at) => at !== index);
    emit();
  }

  /** Runs `input`'s attempts until the graph takes it, refuses it, the network fails or it is discarded. */
  async function deliver(delivery: Delivery<Input>, release: () => void): Promise<boolean> {
    const id = idOf(delivery.input);
    delivery.started = true;
    for (let attempt = 1; !delivery.cancelled; attempt++) {
      // While a request is on its way the optimistic message shows it: not the outbox as well.
      put(id, null);
      const hung = setTimeout(release, SEND_QUEUE_WAIT_MS);
      const result = await options
        .request(delivery.input)
        .catch((error: unknown): SendResult => ({ error: { networkError: error } as CombinedError }));
      clearTimeout(hung);
      if (!result.error) return true;
      if (delivery.cancelled) return false;
      const retryAfter = retryAfterOf(result.error);
      if (retryAfter === undefined) {
        put(
          id,
          result.error.networkError
            ? { input: delivery.input, state: 'offline', message: OFFLINE_MESSAGE }
            : { input: delivery.input, state: 'failed', message: errorMessage(result.error, 'Not sent') },
        );
        return false;
      }
      // Never before the graph said, and backing off while it keeps saying so.
      const delay = Math.max(retryAfter * 1000, Math.min(1000 * 2 ** (attempt - 1), SEND_RETRY_MAX_DELAY_MS));
      delivery.waited = true;
      put(id, { input: delivery.input, state: 'waiting', message: WAITING_MESSAGE, retryAt: now() + delay });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        delivery.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delivery.wake = undefined;
    }
    return false;
  }

  function send(input: Input): Promise<boolean> {
    const id = idOf(input);
    const existing = deliveries.get(id);
    if (existing && !existing.cancelled) {
      // Retry on one waiting between attempts: its next attempt goes now. (One queued or in flight goes anyway.)
      existing.wake?.();
      return Promise.resolve(false);
    }
    const delivery: Delivery<Input> = { input, started: false, cancelled: false, waited: false };
    deliveries.set(id, delivery);
    put(id, null);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const delivered = queue.then(async () => {
      try {
        return delivery.cancelled ? false : await deliver(delivery, release);
      } finally {
        if (deliveries.get(id) === delivery) deliveries.delete(id);
        release();
        emit();
      }
    });
    // The next send goes once this one is taken or left in the outbox, or has been on its way too long.
    queue = Promise.race([delivered, released]).then(
      () => undefined,
      () => undefined,
    );
    return delivered;
  }

  return {
    send,
    retryOffline() {
      for (const entry of settled) if (entry.state === 'offline') void send(entry.input);
    },
    discard(clientMutationId) {
      const delivery = deliveries.get(clientMutationId);
      if (delivery) {
        delivery.cancelled = true;
        delivery.wake?.();
      }
      put(clientMutationId, null);
    },
    entries: snapshot,
  };
}
