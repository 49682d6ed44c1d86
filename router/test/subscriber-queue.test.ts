import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SubscriberQueue } from '../src/realtime/subscriber-queue.js';

const result = (n: number): ExecutionResult => ({ data: { n } });
const LAGGING: ExecutionResult = { data: { resync: 'LAGGING' } };

function queue(limit: number) {
  const returned: number[] = [];
  const q = new SubscriberQueue(
    limit,
    () => async () => LAGGING,
    () => returned.push(1),
  );
  return { q, returned };
}

async function drain(q: SubscriberQueue, count: number) {
  const values: unknown[] = [];
  for (let index = 0; index < count; index += 1) values.push((await q.next()).value);
  return values;
}

describe('SubscriberQueue', () => {
  it('hands results over in order, also to a reader already waiting', async () => {
    const { q } = queue(10);
    const waiting = q.next();
    q.push(result(1));
    q.push(result(2));
    expect((await waiting).value).toEqual(result(1));
    expect((await q.next()).value).toEqual(result(2));
  });

  it('replaces what a slow reader left waiting past the limit with one resync, then goes on', async () => {
    const { q } = queue(3);
    for (let n = 1; n <= 3; n += 1) q.push(result(n));
    q.push(result(4)); // the fourth overflows: 1..4 are dropped for the resync
    q.push(result(5));
    expect(await drain(q, 2)).toEqual([LAGGING, result(5)]);
  });

  it('ends after what is queued, and tells its owner once when the reader stops early', async () => {
    const { q, returned } = queue(10);
    q.push(result(1));
    q.end();
    expect(await drain(q, 2)).toEqual([result(1), undefined]);
    expect(returned).toEqual([]);

    const other = queue(10);
    other.q.push(result(1));
    await other.q.return();
    await other.q.return();
    expect(other.returned).toEqual([1]);
    expect((await other.q.next()).done).toBe(true);
  });

  it('makes a producer wait for room until the reader catches up to half the limit', async () => {
    const { q } = queue(4);
    for (let n = 1; n <= 4; n += 1) q.push(result(n));
    let roomy = false;
    const room = q.waitForRoom().then(() => (roomy = true));
    await q.next();
    await Promise.resolve();
    expect(roomy).toBe(false); // three still wait: more than half
    await q.next();
    await q.next();
    await room;
    expect(roomy).toBe(true);
  });
});
