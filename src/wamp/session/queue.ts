/**
 * A bounded single-reader async queue: what a progressive call's reader and a
 * progressive invocation's `input` iterate over.
 *
 * WAMP has no flow control for progressive RESULTs or CALL chunks, so a slow
 * reader cannot slow the sender down; the queue refuses items past its limit
 * and its owner cancels the call (hard rule 1: every buffer has a limit).
 *
 * @module
 * @internal
 */

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

/** @internal */
export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: Waiter<T> | null = null;
  private ended = false;
  private error: unknown = undefined;
  private iterating = false;

  /**
   * @param limit - most items held at once
   * @param onReturn - called when the reader stops early (`break` out of `for await`)
   */
  constructor(
    private readonly limit: number,
    private readonly onReturn: () => void = () => {},
  ) {}

  /** Items waiting to be read. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Whether {@link end} was called. */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Adds an item for the reader.
   * @returns false when the queue is full (the item is dropped) or ended
   */
  push(item: T): boolean {
    if (this.ended) return false;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve({ value: item, done: false });
      return true;
    }
    if (this.size >= this.limit) return false;
    this.items.push(item);
    return true;
  }

  /** No more items: the reader finishes after the buffered ones, then throws `error` if given. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      if (error === undefined) w.resolve({ value: undefined, done: true });
      else w.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterating) throw new TypeError('this stream can be read only once');
    this.iterating = true;
    return {
      next: () => this.next(),
      return: (): Promise<IteratorResult<T>> => {
        if (!this.ended) {
          this.end();
          this.onReturn();
        }
        this.items.length = 0;
        this.head = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head++] = undefined as T;
      if (this.head > 64 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.error !== undefined) {
        const e = this.error;
        this.error = undefined;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter) return Promise.reject(new TypeError('concurrent next() calls are not supported'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
}
