import type { ExecutionResult, GraphQLError } from 'graphql';

/** What a channel needs of a socket: a `ws` WebSocket has it. */
export interface FrameSocket {
  readonly readyState: number;
  readonly OPEN: number;
  /** Bytes sent and not yet handed to the network. */
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: boolean }, callback: (error?: Error) => void): void;
}

/**
 * A result as the payload of a graphql-ws `next` message, in bytes: the result without `errors` when it has
 * none, each error by its `toJSON()` otherwise, exactly as graphql-ws writes it. Unexpected errors are masked
 * by `maskError` first, as yoga masks every result it serves.
 */
export type ResultEncoder = (result: ExecutionResult) => Buffer;

export function createResultEncoder(maskError: (error: GraphQLError) => GraphQLError): ResultEncoder {
  return (result) => {
    const { errors, ...rest } = result;
    const shaped = errors ? { ...rest, errors: errors.map((error) => maskError(error).toJSON()) } : rest;
    return Buffer.from(JSON.stringify(shaped));
  };
}

const TEXT = { binary: false };
const CLOSE = Buffer.from('}');

/**
 * One socket's outgoing frames. Writes are refused while more than `maxBufferedBytes` wait to go out (a slow
 * or stalled client): its subscriptions drop what they would have sent and are told they lagged once at most
 * half of that waits again. Memory per socket is bounded whatever the client does.
 */
export class SocketChannel {
  private readonly lagging = new Set<Outlet>();
  private roomWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly socket: FrameSocket,
    readonly maxBufferedBytes: number,
  ) {}

  /** Called for every written frame once it left (or failed with the socket): room may have come back. */
  private readonly written = () => {
    if (this.lagging.size === 0 && this.roomWaiters.length === 0) return;
    if (!this.closed && !this.hasRoom()) return;
    for (const wake of this.roomWaiters.splice(0)) wake();
    const lagging = [...this.lagging];
    this.lagging.clear();
    for (const outlet of lagging) outlet.resume();
  };

  private hasRoom() {
    return this.socket.bufferedAmount <= this.maxBufferedBytes / 2;
  }

  /**
   * Writes one text frame; false, writing nothing, when too much waits already. A closing socket takes
   * nothing and refuses nothing: its subscriptions end with it.
   */
  write(frame: Buffer): boolean {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return true;
    if (this.socket.bufferedAmount > this.maxBufferedBytes) return false;
    this.socket.send(frame, TEXT, this.written);
    return true;
  }

  /** `outlet` dropped a frame: it is resumed once there is room. */
  lagged(outlet: Outlet) {
    this.lagging.add(outlet);
  }

  forget(outlet: Outlet) {
    this.lagging.delete(outlet);
  }

  /** Resolves once at most half the limit waits (or the socket closed): a replay paces itself with it. */
  whenRoom(): Promise<void> {
    if (this.closed || this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** The socket closed: nothing waits for room any more. */
  close() {
    this.closed = true;
    this.lagging.clear();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}

type Item = Buffer | (() => Promise<ExecutionResult>);

/**
 * One subscription's `next` messages on its socket's channel. A result shared by many subscriptions is
 * encoded once (`send(payload)`); each frame is that payload with this subscription's id around it, in bytes.
 * Results worked out per subscription (`sendLater`) keep their place: what is sent after them waits for them.
 * A frame the channel refused is dropped, and so is every later one until the channel has room: then
 * `onLagged` supplies the one result sent in their place (a resync at the last one dropped).
 */
export class Outlet {
  private readonly prefix: Buffer;
  private readonly pending: Item[] = [];
  private lagging = false;
  /** No more results are taken (what is pending still goes out). */
  private closing = false;
  /** Nothing more is written. */
  private ended = false;

  constructor(
    private readonly channel: SocketChannel,
    id: string,
    private readonly encode: ResultEncoder,
    private readonly onLagged: () => () => Promise<ExecutionResult>,
    /** Results waiting behind one worked out per subscription before they are dropped as lagging. */
    private readonly maxPending: number,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  }

  /** Takes no more results. */
  get done(): boolean {
    return this.closing;
  }

  /** Sends an encoded result (see ResultEncoder). */
  send(payload: Buffer): void {
    if (this.closing) return;
    if (!this.draining) return this.write(payload);
    this.enqueue(payload);
  }

  /** Sends a result worked out when its turn comes. */
  sendLater(result: () => Promise<ExecutionResult>): void {
    if (this.closing) return;
    this.enqueue(result);
  }

  /** Sends a result of this subscription alone. */
  sendResult(result: ExecutionResult): void {
    this.send(this.encode(result));
  }

  /** Resolves once the channel has room and nothing of this subscription waits. */
  async whenRoom(): Promise<void> {
    await this.channel.whenRoom();
    while (this.draining && !this.ended) await this.drained;
  }

  /** Called by the channel once it has room after this outlet dropped frames. */
  resume() {
    if (this.closing || !this.lagging) return;
    this.lagging = false;
    this.enqueue(this.onLagged());
  }

  /** Takes no more results; resolves once what is pending was written. */
  async end(): Promise<void> {
    this.closing = true;
    while (this.draining && !this.ended) await this.drained;
    this.abort();
  }

  /** Writes nothing more, pending or not (the client unsubscribed or left). */
  abort() {
    this.closing = true;
    this.ended = true;
    this.pending.length = 0;
    this.channel.forget(this);
  }

  private draining = false;
  private drained: Promise<void> = Promise.resolve();

  private enqueue(item: Item) {
    if (this.pending.length >= this.maxPending) {
      this.pending.length = 0;
      this.dropOne();
      return;
    }
    this.pending.push(item);
    if (!this.draining) this.drained = this.drain();
  }

  /** Writes what is pending in order, working out each result when its turn comes. */
  private async drain() {
    this.draining = true;
    try {
      while (this.pending.length > 0 && !this.ended) {
        const item = this.pending.shift()!;
        if (typeof item !== 'function') {
          this.write(item);
          continue;
        }
        try {
          const result = await item();
          if (!this.ended) this.write(this.encode(result));
        } catch {
          // Not worked out (a defect): dropped, and so told as a lag.
          this.dropOne();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private write(payload: Buffer) {
    if (this.lagging) return;
    const frame = Buffer.concat([this.prefix, payload, CLOSE], this.prefix.length + payload.length + 1);
    if (!this.channel.write(frame)) this.dropOne();
  }

  private dropOne() {
    if (this.lagging) return;
    this.lagging = true;
    this.channel.lagged(this);
  }
}
