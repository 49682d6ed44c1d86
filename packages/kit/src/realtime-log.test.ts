import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryRealtimeLog, type RealtimeLog } from './realtime-log.js';
import { describeRealtimeLogContract, numberedEvent, numbersOf, readAllAfter } from './testing/index.js';

describeRealtimeLogContract('memory', async (options) => ({ log: createMemoryRealtimeLog(options) }));

const readAll = async (log: RealtimeLog, cursor: string) => numbersOf(await readAllAfter(log, cursor));

/** Followers, connections and services the tests below opened, released after each test, newest first. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('memory RealtimeLog beyond the contract', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stores an id again once dedupeSeconds have passed since it was appended', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const log = createMemoryRealtimeLog({ prefix: 'parley-test:realtime:', dedupeSeconds: 60 });
    const start = await log.head();
    await log.append([numberedEvent(1)]);
    vi.advanceTimersByTime(59_000);
    await log.append([numberedEvent(1)]);
    vi.advanceTimersByTime(1_000);
    await log.append([numberedEvent(1)]);
    expect(await readAll(log, start)).toEqual([1, 1]);
  });
});
