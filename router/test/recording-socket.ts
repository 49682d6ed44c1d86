import type { ExecutionResult } from 'graphql';
import { SocketChannel, type FrameSocket } from '../src/realtime/outlet.js';

/**
 * A socket that keeps the frames written to it, by subscription id, for tests of what the engine writes.
 * `stall()` makes it stop sending (frames add to `bufferedAmount` as on a client that does not read);
 * `flush()` sends them all.
 */
export class RecordingSocket implements FrameSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  private stalled = false;
  private readonly held: Array<() => void> = [];
  private readonly received = new Map<string, ExecutionResult[]>();
  /** Every frame sent, as text, in order. */
  readonly frames: string[] = [];
  private readonly waiting = new Map<string, () => void>();

  send(data: Buffer, options: { binary: boolean }, callback: (error?: Error) => void) {
    if (options.binary) throw new Error('graphql-ws frames are text');
    const message = JSON.parse(data.toString()) as { id: string; type: string; payload: ExecutionResult };
    if (message.type !== 'next') throw new Error(`unexpected ${message.type} frame`);
    const deliver = () => {
      this.frames.push(data.toString());
      const results = this.received.get(message.id) ?? [];
      results.push(message.payload);
      this.received.set(message.id, results);
      this.waiting.get(message.id)?.();
    };
    if (!this.stalled) {
      deliver();
      queueMicrotask(() => callback());
      return;
    }
    this.bufferedAmount += data.length;
    this.held.push(() => {
      this.bufferedAmount -= data.length;
      deliver();
      callback();
    });
  }

  stall() {
    this.stalled = true;
  }

  flush() {
    this.stalled = false;
    for (const send of this.held.splice(0)) send();
  }

  /** The next result written for subscription `id`, as a client reads it. */
  async next(id: string): Promise<{ value: ExecutionResult }> {
    for (;;) {
      const results = this.received.get(id) ?? [];
      const value = results.shift();
      if (value) return { value };
      await new Promise<void>((resolve) => this.waiting.set(id, resolve));
    }
  }
}

/** A channel on a recording socket. */
export function recordingChannel(maxBufferedBytes = 1024 * 1024) {
  const socket = new RecordingSocket();
  return { socket, channel: new SocketChannel(socket, maxBufferedBytes) };
}
