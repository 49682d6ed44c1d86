import type { ExecutionResult } from 'graphql';

type Item = ExecutionResult | (() => Promise<ExecutionResult>);

/**
 * The results waiting for one subscriber's socket, as the async iterator graphql-ws reads. At most `limit`
 * wait: past that they are dropped and `onOverflow` supplies the one item that replaces them (a resync
 * signal), so a slow client costs bounded memory and is told what it missed.
 */
export class SubscriberQueue implements AsyncIterableIterator<ExecutionResult> {
  private readonly items: Item[] = [];
  private waiting: ((result: IteratorResult<ExecutionResult>) => void) | null = null;
  private roomWaiters: Array<() => void> = [];
  private ended = false;

  constructor(
    private readonly limit: number,
    private readonly onOverflow: () => Item,
    private readonly onReturn: () => void,
  ) {}

  get done(): boolean {
    return this.ended;
  }

  push(item: Item): void {
    if (this.ended) return;
    if (this.items.length >= this.limit) {
      this.items.length = 0;
      this.items.push(this.onOverflow());
      return;
    }
    this.items.push(item);
    this.wake();
  }

  /** Ends the stream once what is queued has been read. */
  end(): void {
    this.ended = true;
    for (const wake of this.roomWaiters.splice(0)) wake();
    this.wake();
  }

  private wake() {
    if (!this.waiting) return;
    const waiting = this.waiting;
    this.waiting = null;
    void this.take().then(waiting);
  }

  /** Resolves once at most half the limit is waiting (or the stream ended): replay paces itself with it. */
  waitForRoom(): Promise<void> {
    if (this.ended || this.items.length < this.limit / 2) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private async take(): Promise<IteratorResult<ExecutionResult>> {
    const item = this.items.shift();
    if (this.ended || this.items.length < this.limit / 2)
      for (const wake of this.roomWaiters.splice(0)) wake();
    if (item === undefined) return { done: true, value: undefined };
    return { done: false, value: typeof item === 'function' ? await item() : item };
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.items.length > 0 || this.ended) return this.take();
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.ended) {
      this.ended = true;
      this.items.length = 0;
      this.onReturn();
    }
    for (const wake of this.roomWaiters.splice(0)) wake();
    this.wake();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
