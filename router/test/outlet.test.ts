import { GraphQLError, type ExecutionResult } from 'graphql';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import { createResultEncoder, Outlet, SocketChannel } from '../src/realtime/outlet.js';
import { RecordingSocket } from './recording-socket.js';

const encode = createResultEncoder((error) => error);

const result = (n: number): ExecutionResult => ({ data: { n } });

describe('outlet frames', () => {
  it('are the bytes graphql-ws would write for the same result, with and without errors', () => {
    const target = new RecordingSocket();
    const { frames } = target;
    const outlet = new Outlet(new SocketChannel(target, 1024), 'sub "1"', encode, () => async () => ({}), 10);
    const withErrors: ExecutionResult = {
      data: { events: null },
      errors: [new GraphQLError('Not found', { path: ['events'], extensions: { code: 'NOT_FOUND' } })],
      extensions: { cost: 1 },
    };
    outlet.send(encode(result(1)));
    outlet.send(encode(withErrors));
    const { errors, ...rest } = withErrors;
    expect(frames).toEqual([
      stringifyMessage({ id: 'sub "1"', type: MessageType.Next, payload: result(1) }),
      stringifyMessage({
        id: 'sub "1"',
        type: MessageType.Next,
        payload: { ...rest, errors: errors!.map((error) => error.toJSON()) },
      }),
    ]);
  });

  it('keep their order when a result worked out later comes first', async () => {
    const target = new RecordingSocket();
    const { frames } = target;
    const outlet = new Outlet(new SocketChannel(target, 1024), '1', encode, () => async () => ({}), 10);
    let release = () => {};
    const later = new Promise<void>((resolve) => (release = resolve));
    outlet.sendLater(async () => {
      await later;
      return result(1);
    });
    outlet.send(encode(result(2)));
    const ended = outlet.end();
    outlet.send(encode(result(3))); // after the end: not taken
    expect(frames).toEqual([]);
    release();
    await ended;
    expect(frames.map((frame) => JSON.parse(frame).payload.data.n)).toEqual([1, 2]);
  });

  it('are dropped past the byte limit, replaced by one resync once half of it waits', async () => {
    const target = new RecordingSocket();
    const { frames } = target;
    const channel = new SocketChannel(target, 100);
    let lagged = 0;
    const outlet = new Outlet(
      channel,
      '1',
      encode,
      () => {
        lagged += 1;
        return async () => ({ data: { resync: true } });
      },
      10,
    );
    target.stall();
    for (let n = 1; n <= 20; n += 1) outlet.send(encode(result(n)));
    // Frames went to the socket until more than 100 bytes waited (the last one past it is ~50 bytes); the
    // rest were dropped, and memory stayed bounded.
    expect(target.bufferedAmount).toBeGreaterThan(100);
    expect(target.bufferedAmount).toBeLessThanOrEqual(100 + 60);
    expect(lagged).toBe(0);
    let roomy = false;
    const room = outlet.whenRoom().then(() => (roomy = true));
    await Promise.resolve();
    expect(roomy).toBe(false);
    target.flush();
    await room;
    await outlet.end();
    const payloads = frames.map((frame) => JSON.parse(frame).payload.data);
    expect(lagged).toBe(1);
    expect(payloads.at(-1)).toEqual({ resync: true });
    expect(payloads.slice(0, -1)).toEqual(payloads.slice(0, -1).map((_, index) => ({ n: index + 1 })));
    expect(payloads.length).toBeLessThan(20);
  });
});
