import { CombinedError } from '@urql/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  OFFLINE_MESSAGE,
  QUEUED_MESSAGE,
  SEND_RETRY_MAX_DELAY_MS,
  WAITING_MESSAGE,
  createOutbox,
  type OutboxEntry,
  type SendResult,
} from './outbox';

interface Input {
  clientMutationId: string;
  body: string;
}

const input = (id: string): Input => ({ clientMutationId: id, body: `message ${id}` });

const graphError = (code: string, extensions: Record<string, unknown> = {}, message = `${code} answer`) => ({
  error: new CombinedError({ graphQLErrors: [{ message, extensions: { code, ...extensions } }] }),
});
const unavailable = (retryAfter = 1) => graphError('SERVICE_UNAVAILABLE', { retryAfter });
const networkDown = () => ({ error: new CombinedError({ networkError: new TypeError('Failed to fetch') }) });
const taken = (): SendResult => ({});

/**
 * An outbox whose requests are answered, in order, by `answers` (what the graph would say; `taken` once they
 * run out), recording every input sent and the entries shown.
 */
function setup(...answers: (() => SendResult)[]) {
  const sent: string[] = [];
  let shown: readonly OutboxEntry<Input>[] = [];
  const outbox = createOutbox<Input>({
    request: async (sending) => {
      sent.push(sending.clientMutationId);
      return (answers.shift() ?? taken)();
    },
    onChange: (entries) => (shown = entries),
  });
  return {
    outbox,
    sent,
    shown: () => shown.map(({ input: { clientMutationId }, state }) => [clientMutationId, state]),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('outbox', () => {
  it('sends once and shows nothing when the graph takes the message', async () => {
    const { outbox, sent, shown } = setup(taken);
    await expect(outbox.send(input('a'))).resolves.toBe(true);
    expect(sent).toEqual(['a']);
    expect(shown()).toEqual([]);
  });

  it('keeps a send answered SERVICE_UNAVAILABLE waiting (not failed) and sends it again, same clientMutationId, after retryAfter', async () => {
    const { outbox, sent, shown } = setup(() => unavailable(2), taken);
    const delivered = outbox.send(input('a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['a']);
    expect(shown()).toEqual([['a', 'waiting']]);
    expect(outbox.entries()[0]).toMatchObject({ message: WAITING_MESSAGE, retryAt: Date.now() + 2000 });

    // Not before the graph said.
    await vi.advanceTimersByTimeAsync(1999);
    expect(sent).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual(['a', 'a']);
    await expect(delivered).resolves.toBe(true);
    expect(shown()).toEqual([]);
  });

  it('treats RATE_LIMITED the same, waiting its retryAfter', async () => {
    const { outbox, sent, shown } = setup(() => graphError('RATE_LIMITED', { retryAfter: 45 }), taken);
    const delivered = outbox.send(input('a'));
    await vi.advanceTimersByTimeAsync(44_999);
    expect(shown()).toEqual([['a', 'waiting']]);
    expect(sent).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1);
    await expect(delivered).resolves.toBe(true);
    expect(sent).toEqual(['a', 'a']);
  });

  it('backs off while the graph stays unavailable, never waiting more than the cap between attempts', async () => {
    const { outbox, sent } = setup(...Array.from({ length: 8 }, () => () => unavailable(1)), taken);
    const delivered = outbox.send(input('a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['a']);
    const attemptsAt: number[] = [];
    const start = Date.now();
    for (let elapsed = 0; elapsed <= 200_000 && sent.length < 9; elapsed += 100) {
      const before = sent.length;
      await vi.advanceTimersByTimeAsync(100);
      if (sent.length > before) attemptsAt.push(Date.now() - start);
    }
    await expect(delivered).resolves.toBe(true);
    const gaps = attemptsAt.map((at, index) => at - (attemptsAt[index - 1] ?? 0));
    // Between attempts: 1 s (the graph's retryAfter), 2 s, 4 s, … then at most the cap.
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(SEND_RETRY_MAX_DELAY_MS);
    expect(new Set(sent)).toEqual(new Set(['a']));
  });

  it('marks a send the graph refuses (BAD_USER_INPUT) as failed with its message, and does not send it again by itself', async () => {
    const { outbox, sent, shown } = setup(() => graphError('BAD_USER_INPUT', {}, 'Body is too long'));
    await expect(outbox.send(input('a'))).resolves.toBe(false);
    expect(shown()).toEqual([['a', 'failed']]);
    expect(outbox.entries()[0]?.message).toBe('Body is too long');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    outbox.retryOffline();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['a']);

    // By hand it goes again (a Retry button), and lands.
    await expect(outbox.send(input('a'))).resolves.toBe(true);
    expect(sent).toEqual(['a', 'a']);
    expect(shown()).toEqual([]);
  });

  it('marks FORBIDDEN and INTERNAL_SERVER_ERROR as failed too', async () => {
    const { outbox, shown } = setup(
      () => graphError('FORBIDDEN'),
      () => graphError('INTERNAL_SERVER_ERROR'),
    );
    await outbox.send(input('a'));
    await outbox.send(input('b'));
    expect(shown()).toEqual([
      ['a', 'failed'],
      ['b', 'failed'],
    ]);
  });

  it('keeps a send that failed on the network until the browser is back online', async () => {
    const { outbox, sent, shown } = setup(networkDown, taken);
    await expect(outbox.send(input('a'))).resolves.toBe(false);
    expect(shown()).toEqual([['a', 'offline']]);
    expect(outbox.entries()[0]?.message).toBe(OFFLINE_MESSAGE);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toEqual(['a']);
    outbox.retryOffline();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['a', 'a']);
    expect(shown()).toEqual([]);
  });

  it('holds sends written after a waiting one, shows them queued, and sends them after it, in order', async () => {
    const { outbox, sent, shown } = setup(() => unavailable(1), taken, taken, taken);
    const first = outbox.send(input('a'));
    await vi.advanceTimersByTimeAsync(0);
    const second = outbox.send(input('b'));
    const third = outbox.send(input('c'));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['a']);
    expect(shown()).toEqual([
      ['a', 'waiting'],
      ['b', 'queued'],
      ['c', 'queued'],
    ]);
    expect(outbox.entries()[1]?.message).toBe(QUEUED_MESSAGE);

    await vi.advanceTimersByTimeAsync(1000);
    await expect(Promise.all([first, second, third])).resolves.toEqual([true, true, true]);
    expect(sent).toEqual(['a', 'a', 'b', 'c']);
    expect(shown()).toEqual([]);
  });

  it('stops sending a waiting message once it is discarded, and sends the next', async () => {
    const { outbox, sent, shown } = setup(() => unavailable(1), taken);
    const first = outbox.send(input('a'));
    const second = outbox.send(input('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(shown()).toEqual([
      ['a', 'waiting'],
      ['b', 'queued'],
    ]);
    outbox.discard('a');
    await expect(first).resolves.toBe(false);
    await expect(second).resolves.toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toEqual(['a', 'b']);
    expect(shown()).toEqual([]);
  });

  it('lets later sends go when one hangs (a request the network swallowed) for 10 s', async () => {
    const sent: string[] = [];
    const outbox = createOutbox<Input>({
      request: (sending) => {
        sent.push(sending.clientMutationId);
        return sending.clientMutationId === 'a' ? new Promise<SendResult>(() => {}) : Promise.resolve({});
      },
      onChange: () => {},
    });
    void outbox.send(input('a'));
    const second = outbox.send(input('b'));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(sent).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1);
    await expect(second).resolves.toBe(true);
    expect(sent).toEqual(['a', 'b']);
  });
});
