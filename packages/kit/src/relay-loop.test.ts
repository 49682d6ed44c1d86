import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.js';
import { createRelayLoop } from './relay-loop.js';

const logger = createLogger({ service: 'relay-loop-test', level: 'silent' });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A deliverBatch whose calls stay open until released, one by one. */
function gatedBatches() {
  const releases: Array<(delivered: number) => void> = [];
  const deliverBatch = vi.fn(() => new Promise<number>((resolve) => releases.push(resolve)));
  return { deliverBatch, release: (delivered = 0) => releases.shift()!(delivered) };
}

describe('createRelayLoop', () => {
  it('on its timer, asks `pending` first and opens no delivery while nothing waits', async () => {
    let waiting = false;
    const deliverBatch = vi.fn(async () => 0);
    const pending = vi.fn(async () => waiting);
    const stop = createRelayLoop({ deliverBatch, batchSize: 10, logger, pending }).start(1_000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(pending).toHaveBeenCalledTimes(3);
    expect(deliverBatch).not.toHaveBeenCalled();
    waiting = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(deliverBatch).toHaveBeenCalledTimes(1);
    await stop();
  });

  it('delivers on every tick without `pending`, and a flush always delivers', async () => {
    const deliverBatch = vi.fn(async () => 0);
    const loop = createRelayLoop({ deliverBatch, batchSize: 10, logger, pending: async () => false });
    await loop.flush();
    expect(deliverBatch).toHaveBeenCalledTimes(1);
    const plain = vi.fn(async () => 0);
    const stop = createRelayLoop({ deliverBatch: plain, batchSize: 10, logger }).start(1_000);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(plain).toHaveBeenCalledTimes(2);
    await stop();
  });

  it('stops once the delivery under way has ended, and starts no other', async () => {
    const { deliverBatch, release } = gatedBatches();
    const loop = createRelayLoop({ deliverBatch, batchSize: 10, logger, pending: async () => true });
    const stop = loop.start(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(deliverBatch).toHaveBeenCalledTimes(1);
    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(deliverBatch).toHaveBeenCalledTimes(1);
  });
});
