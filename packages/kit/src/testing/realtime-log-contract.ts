import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidCursorError,
  isLogCursor,
  type LoggedEvent,
  type RealtimeEvent,
  type RealtimeLog,
} from '../realtime-log.js';

export interface RealtimeLogContractInstance {
  log: RealtimeLog;
  /** Releases the log's connections and whatever it stored (the suite stops its followers first). */
  cleanup?: () => Promise<void>;
}

/**
 * Builds a realtime log with the given key prefix (and retention, when given). The suite picks a fresh random
 * prefix per test, so tests never see each other's events.
 */
export type RealtimeLogContractFactory = (options: {
  prefix: string;
  maxLength?: number;
}) => Promise<RealtimeLogContractInstance>;

/** Waits for a delivery: a follower retries with backoff, so allow well beyond the first retry. */
const eventually = <T>(read: () => T) => expect.poll(read, { timeout: 10_000, interval: 10 });

/** An event numbered `n`; its payload carries the number, so tests compare numbers rather than whole events. */
export const numberedEvent = (n: number): RealtimeEvent => ({
  id: `test:${n}`,
  topic: 'messages',
  payload: { n },
});

export const numbersOf = (events: readonly LoggedEvent[]) => events.map((event) => event.payload['n']);

export const numberRange = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, index) => from + index);

/** The position in a cursor, as numbers: cursors compare as numbers, not as strings. */
const positionOf = (cursor: string) => {
  const [ms = '', seq = ''] = cursor.slice(cursor.indexOf(':') + 1).split('-');
  return [BigInt(ms), BigInt(seq)] as const;
};
const isAscending = (cursors: string[]) =>
  cursors.every((cursor, index) => {
    if (index === 0) return true;
    const [ms, seq] = positionOf(cursor);
    const [previousMs, previousSeq] = positionOf(cursors[index - 1] ?? '');
    return ms > previousMs || (ms === previousMs && seq > previousSeq);
  });

/**
 * Follows `log` from `cursor`, recording each event (as its number) and each reset in `timeline`, in the
 * order the handlers ran; `handle` runs before a batch is recorded.
 */
export function followInto(
  log: RealtimeLog,
  cursor: string,
  handle: (events: LoggedEvent[]) => Promise<void> = async () => {},
) {
  const events: LoggedEvent[] = [];
  const timeline: unknown[] = [];
  const errors: unknown[] = [];
  /** The cursor each reset said the follower continues after. */
  const resets: string[] = [];
  const { stop } = log.follow(cursor, {
    async onEvents(batch) {
      await handle(batch);
      events.push(...batch);
      timeline.push(...numbersOf(batch));
    },
    onReset(from) {
      resets.push(from);
      timeline.push('reset');
    },
    onError(error) {
      errors.push(error);
    },
  });
  return { events, timeline, errors, resets, stop };
}

/** Every event after `cursor`, which must be current. */
export async function readAllAfter(log: RealtimeLog, cursor: string): Promise<LoggedEvent[]> {
  const read = await log.readAfter(cursor, 10_000);
  if (read.expired) throw new Error(`expected ${cursor} to be current`);
  return read.events;
}

/**
 * Appends a sentinel numbered after `numbers`, waits for `followed` to deliver it, and expects it to have
 * delivered `numbers` before it, each once: a follower delivers in order, so a repeat would come before it.
 */
export async function expectDeliveredOnce(
  log: RealtimeLog,
  followed: { timeline: unknown[] },
  numbers: number[],
): Promise<void> {
  const sentinel = (numbers.at(-1) ?? 0) + 1;
  await log.append([numberedEvent(sentinel)]);
  await eventually(() => followed.timeline.at(-1)).toBe(sentinel);
  expect(followed.timeline).toEqual([...numbers, sentinel]);
}

/**
 * The one behavioural contract every RealtimeLog implementation must meet. Nothing here sleeps: to show an
 * event is NOT delivered again, a later event is appended and must be the next (and last) to arrive; a
 * follower delivers in order, so a repeat would come before it.
 */
export function describeRealtimeLogContract(name: string, create: RealtimeLogContractFactory): void {
  describe(`RealtimeLog contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function open(options: { maxLength?: number } = {}): Promise<RealtimeLog> {
      const instance = await create({ prefix: `parley-test:realtime:${randomUUID()}:`, ...options });
      if (instance.cleanup) cleanups.push(instance.cleanup);
      return instance.log;
    }

    /** Follows into a timeline; the suite stops the follower after the test unless the test did. */
    function follow(log: RealtimeLog, cursor: string, handle?: (events: LoggedEvent[]) => Promise<void>) {
      const followed = followInto(log, cursor, handle);
      cleanups.push(followed.stop);
      return followed;
    }

    it('returns appended events after the head taken before, in order, with ascending cursors', async () => {
      const log = await open();
      const start = await log.head();
      expect(isLogCursor(start)).toBe(true);
      await log.append([numberedEvent(1), numberedEvent(2)]);
      await log.append([numberedEvent(3)]);
      await log.append([]);

      const events = await readAllAfter(log, start);
      expect(events).toEqual([1, 2, 3].map((n) => ({ ...numberedEvent(n), cursor: expect.any(String) })));
      const cursors = events.map((event) => event.cursor);
      expect(cursors.every(isLogCursor)).toBe(true);
      expect(isAscending([start, ...cursors])).toBe(true);
      expect(await log.head()).toBe(cursors[2]);
      expect(numbersOf(await readAllAfter(log, cursors[0] ?? ''))).toEqual([2, 3]);
      expect(await readAllAfter(log, cursors[2] ?? '')).toEqual([]);
    });

    it('round-trips payloads through JSON, and refuses a batch with an event JSON cannot store', async () => {
      const log = await open();
      const start = await log.head();
      const invalid: unknown[] = [
        { id: 'bad', topic: 'messages', payload: { big: 1n } },
        { id: 'bad', topic: 'messages', payload: [1] },
        { id: 'bad', topic: 'messages', payload: new Date() },
        { id: 'bad', topic: 'messages', payload: null },
        { id: '', topic: 'messages', payload: {} },
        { id: 'bad', topic: '', payload: {} },
      ];
      for (const event of invalid) {
        await expect(log.append([numberedEvent(1), event as RealtimeEvent])).rejects.toThrow(TypeError);
      }
      expect(await readAllAfter(log, start)).toEqual([]);

      await log.append([
        {
          id: 'rich',
          topic: 'messages',
          payload: { at: new Date('2026-01-02T03:04:05.678Z'), body: 'héllo ✓', skip: undefined, list: [1] },
        },
      ]);
      const [stored] = await readAllAfter(log, start);
      expect(stored?.payload).toStrictEqual({ at: '2026-01-02T03:04:05.678Z', body: 'héllo ✓', list: [1] });
    });

    it('pages with a limit, giving each event exactly once', async () => {
      const log = await open();
      let cursor = await log.head();
      await log.append(numberRange(0, 25).map(numberedEvent));
      const pages: unknown[][] = [];
      for (;;) {
        const read = await log.readAfter(cursor, 10);
        if (read.expired) throw new Error('expired');
        pages.push(numbersOf(read.events));
        const last = read.events.at(-1);
        if (!last) break;
        cursor = last.cursor;
      }
      expect(pages).toEqual([numberRange(0, 10), numberRange(10, 20), numberRange(20, 25), []]);
    });

    it('stores an id once: repeated in one batch, in later appends, and in concurrent appends', async () => {
      const log = await open();
      const start = await log.head();
      await log.append([numberedEvent(1), numberedEvent(2), numberedEvent(1)]);
      await log.append([{ ...numberedEvent(2), payload: { n: 'changed' } }, numberedEvent(3)]);
      await Promise.all(numberRange(0, 10).map(() => log.append([numberedEvent(4), numberedEvent(5)])));
      expect(numbersOf(await readAllAfter(log, start))).toEqual([1, 2, 3, 4, 5]);
    });

    it('reads a cursor older than retention as expired, and a recent one as current', async () => {
      const log = await open({ maxLength: 10 });
      const start = await log.head();
      await log.append(numberRange(0, 295).map(numberedEvent));
      const recent = await log.head();
      await log.append(numberRange(295, 300).map(numberedEvent));
      expect(await log.readAfter(start, 10)).toEqual({ expired: true });
      expect(numbersOf(await readAllAfter(log, recent))).toEqual(numberRange(295, 300));
    });

    it('follows a cursor older than retention with a reset, then the events retained, up to the newest', async () => {
      const log = await open({ maxLength: 10 });
      const start = await log.head();
      await log.append(numberRange(0, 300).map(numberedEvent));
      const { timeline } = follow(log, start);
      await eventually(() => timeline.at(-1)).toBe(299);
      const [reset, ...numbers] = timeline as ['reset', ...number[]];
      expect(reset).toBe('reset');
      expect(numbers.length).toBeGreaterThanOrEqual(10);
      expect(numbers).toEqual(numberRange(300 - numbers.length, 300));
    });

    it("reads another log's cursor (another prefix, so another epoch) as expired; following it starts this log over", async () => {
      const log = await open();
      const other = await open();
      const start = await log.head();
      await log.append([numberedEvent(1)]);
      await other.append([numberedEvent(9)]);
      const foreign = await other.head();
      expect(await log.readAfter(foreign, 10)).toEqual({ expired: true });
      expect(numbersOf(await readAllAfter(log, start))).toEqual([1]);

      const { timeline } = follow(log, foreign);
      await eventually(() => timeline).toEqual(['reset', 1]);
      await log.append([numberedEvent(2)]);
      await eventually(() => timeline).toEqual(['reset', 1, 2]);
    });

    const epoch = 'abcdef0123456789';
    it.each([
      '',
      'abc',
      '0-0',
      epoch,
      `${epoch}:`,
      `${epoch}:0`,
      `${epoch}:0-0 `,
      ` ${epoch}:0-0`,
      `${epoch.toUpperCase()}:0-0`,
      `${epoch.slice(1)}:0-0`,
      `${epoch}a:0-0`,
      `${epoch}:01-0`,
      `${epoch}:0-01`,
      `${epoch}:-1-0`,
      `${epoch}:1.5-0`,
      `${epoch}:1-2-3`,
      `${epoch}:18446744073709551616-0`,
      `${epoch}:0-18446744073709551616`,
      `${epoch}:0-0${epoch}:0-0`,
      `${epoch}:${'9'.repeat(10_000)}-0`,
    ])('refuses %j as a cursor', async (cursor) => {
      const log = await open();
      expect(isLogCursor(cursor)).toBe(false);
      const read = log.readAfter(cursor, 10);
      await expect(read).rejects.toThrow(InvalidCursorError);
      await expect(read).rejects.toMatchObject({ name: 'InvalidCursorError' });
      expect(() => log.follow(cursor, { onEvents() {} })).toThrow(InvalidCursorError);
    });

    it('reads a position past its newest entry as expired (entries it no longer has), and refuses a limit below 1', async () => {
      const log = await open();
      const head = await log.head();
      await log.append([numberedEvent(1)]);
      const largest = `${head.slice(0, 16)}:18446744073709551615-18446744073709551615`;
      expect(await log.readAfter(largest, 10)).toEqual({ expired: true });
      expect(await log.readAfter(await log.head(), 10)).toEqual({ expired: false, events: [] });
      await expect(log.readAfter(head, 0)).rejects.toThrow(RangeError);
      await expect(log.readAfter(head, 1.5)).rejects.toThrow(RangeError);
    });

    it('follows from the head: events appended afterwards arrive in order, exactly once, with their cursors', async () => {
      const log = await open();
      const start = await log.head();
      const followed = follow(log, start);
      for (const batch of [[1, 2], [3], [4, 5, 6], [7]]) await log.append(batch.map(numberedEvent));
      await expectDeliveredOnce(log, followed, numberRange(1, 8));
      expect(followed.events).toEqual(await readAllAfter(log, start));
    });

    it('follows an older cursor: the backlog, then live events, with no gap and no repeat at the seam', async () => {
      const log = await open();
      const start = await log.head();
      await log.append(numberRange(0, 50).map(numberedEvent));
      const followed = follow(log, start);
      // Appended while the follower catches up, a few at a time, so the seam falls somewhere inside.
      for (let n = 50; n < 100; n += 5) await log.append(numberRange(n, n + 5).map(numberedEvent));
      await expectDeliveredOnce(log, followed, numberRange(0, 100));
      expect(followed.events).toEqual(await readAllAfter(log, start));
    });

    it('stop waits for the batch in progress, and nothing is delivered after it', async () => {
      const log = await open();
      const start = await log.head();
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started = false;
      let finished = false;
      const slow = follow(log, start, async () => {
        started = true;
        await gate;
        await new Promise((resolve) => setImmediate(resolve));
        finished = true;
      });
      await log.append([numberedEvent(1)]);
      await eventually(() => started).toBe(true);
      const stopping = slow.stop();
      release();
      await stopping;
      expect(finished).toBe(true);

      const witness = follow(log, await log.head());
      await log.append([numberedEvent(2)]);
      await eventually(() => witness.timeline).toEqual([2]);
      expect(slow.timeline).toEqual([1]);
    });

    it('reports an onEvents that throws to onError and goes on with the next batch', async () => {
      const log = await open();
      const failure = new Error('subscriber failed');
      const { timeline, errors } = follow(log, await log.head(), async (batch) => {
        if (numbersOf(batch).includes(1)) throw failure;
      });
      await log.append([numberedEvent(1)]);
      await eventually(() => errors).toEqual([failure]);
      await log.append([numberedEvent(2)]);
      await eventually(() => timeline).toEqual([2]);
    });

    it.each(['', 'no-separator'])('refuses the prefix "%s" (required, ending in ":")', async (prefix) => {
      const attempt = create({ prefix }).then(async (instance) => {
        await instance.cleanup?.();
        return instance;
      });
      await expect(attempt).rejects.toThrow(/prefix/i);
    });
  });
}
